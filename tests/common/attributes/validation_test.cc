#include "common/attributes/validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::writeback::testing::StatusIs;

const AttributeSpec& Spec(std::string_view name) { return *AttributeCatalog::Default().Find(name); }

auto InvalidWith(std::string_view text) {
  return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(text)));
}

// ---- Unicode String ----

TEST(UnicodeStringTest, AcceptsTextWithinRangeUpper) {
  EXPECT_OK(ValidateValue(Spec("extensionAttribute1"), "Cost center 4711"));
  EXPECT_OK(ValidateValue(Spec("extensionAttribute1"), std::string(1024, 'x')));
}

TEST(UnicodeStringTest, CountsCharactersNotBytes) {
  std::string umlauts;
  for (int i = 0; i < 1024; ++i) umlauts += "\xC3\xA4";  // ä, two bytes each
  EXPECT_OK(ValidateValue(Spec("extensionAttribute1"), umlauts));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), umlauts + "a"),
              InvalidWith("1025 characters long; the schema allows at most 1024"));
}

TEST(UnicodeStringTest, RejectsValueOverRangeUpper) {
  EXPECT_THAT(ValidateValue(Spec("mail"), std::string(251, 'a') + "@x.com"),
              AllOf(InvalidWith("mail: \""), InvalidWith("at most 256")));
}

TEST(UnicodeStringTest, ExtensionAttribute11AllowsTwiceAsMuch) {
  EXPECT_OK(ValidateValue(Spec("extensionAttribute11"), std::string(2048, 'x')));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute11"), std::string(2049, 'x')),
              InvalidWith("at most 2048"));
}

TEST(UnicodeStringTest, RejectsEmptyValue) {
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute3"), ""),
              InvalidWith("extensionAttribute3: \"\" is empty; to clear the attribute send no "
                          "values"));
}

TEST(UnicodeStringTest, RejectsInvalidUtf8) {
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "ab\xFF"),
              InvalidWith("\"ab\\xFF\" is not valid UTF-8 (at byte 3)"));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "\xC0\xAF"),  // overlong '/'
              InvalidWith("not valid UTF-8"));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "\xED\xA0\x80"),  // surrogate
              InvalidWith("not valid UTF-8"));
}

TEST(UnicodeStringTest, RejectsControlCharacters) {
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), std::string("a\0b", 3)),
              InvalidWith("\"a\\x00b\" has control character U+0000 at character 2"));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "line\nbreak"), InvalidWith("U+000A"));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "tab\there"), InvalidWith("U+0009"));
  EXPECT_THAT(ValidateValue(Spec("extensionAttribute1"), "c1 \xC2\x85"), InvalidWith("U+0085"));
}

TEST(UnicodeStringTest, MessageTruncatesLongValues) {
  absl::Status s = ValidateValue(Spec("extensionAttribute1"), std::string(2000, 'y'));
  EXPECT_THAT(s, InvalidWith(std::string(80, 'y') + "...\""));
  EXPECT_THAT(s, Not(InvalidWith(std::string(81, 'y'))));
}

TEST(UnicodeStringTest, SingleValuedAttributeTakesAtMostOneValue) {
  EXPECT_OK(ValidateValues(Spec("extensionAttribute2"), {}));
  EXPECT_OK(ValidateValues(Spec("extensionAttribute2"), {"one"}));
  EXPECT_THAT(ValidateValues(Spec("extensionAttribute2"), {"one", "two"}),
              InvalidWith("extensionAttribute2: 2 values (\"one\", \"two\") for a single-valued "
                          "attribute; send at most one value"));
}

TEST(UnicodeStringTest, MultiValuedAttributeRejectsDuplicatesIgnoringCase) {
  EXPECT_OK(ValidateValues(Spec("msExchExtensionCustomAttribute1"), {"red", "green"}));
  EXPECT_THAT(ValidateValues(Spec("msExchExtensionCustomAttribute1"), {"Red", "green", "RED"}),
              InvalidWith("\"Red\" and \"RED\" are the same value ignoring case"));
}

TEST(UnicodeStringTest, MultiValuedAttributeValidatesEveryValue) {
  EXPECT_THAT(ValidateValues(Spec("msExchExtensionCustomAttribute2"), {"ok", ""}),
              InvalidWith("is empty"));
}

TEST(MailTest, MustBeAnSmtpAddress) {
  EXPECT_OK(ValidateValue(Spec("mail"), "john.doe@contoso.com"));
  EXPECT_THAT(ValidateValue(Spec("mail"), "john.doe"),
              InvalidWith("mail: \"john.doe\" is not a valid SMTP address: it has no '@'"));
}

// ---- Integer and Large Integer ----

TEST(IntegerTest, AcceptsSigned32BitDecimal) {
  EXPECT_OK(ValidateValue(Spec("msExchRecipientDisplayType"), "-2147483642"));
  EXPECT_OK(ValidateValue(Spec("msExchRecipientDisplayType"), "2147483647"));
  EXPECT_OK(ValidateValue(Spec("msExchRecipientDisplayType"), "-2147483648"));
  EXPECT_OK(ValidateValue(Spec("msExchRecipientDisplayType"), "+7"));
  EXPECT_OK(ValidateValue(Spec("msExchRecipientDisplayType"), "007"));
}

TEST(IntegerTest, RejectsOutOfRangeValue) {
  EXPECT_THAT(ValidateValue(Spec("msExchRecipientDisplayType"), "2147483648"),
              InvalidWith("msExchRecipientDisplayType: \"2147483648\" is out of range (Integer: "
                          "-2147483648 to 2147483647"));
  EXPECT_THAT(ValidateValue(Spec("msExchRecipientDisplayType"), "-2147483649"),
              InvalidWith("out of range"));
  EXPECT_THAT(ValidateValue(Spec("msExchRecipientDisplayType"), "99999999999999999999999"),
              InvalidWith("out of range"));
}

TEST(IntegerTest, RejectsNonNumericValue) {
  for (const char* bad : {"", "abc", " 7", "7 ", "1e3", "0x10", "-", "+", "1.0", "--1"}) {
    EXPECT_THAT(ValidateValue(Spec("msExchRecipientDisplayType"), bad),
                InvalidWith("is not a number (Integer: a decimal 32-bit signed integer"))
        << bad;
  }
}

TEST(LargeIntegerTest, AcceptsRecipientTypeDetailsBeyond32Bits) {
  for (const char* ok : {"2147483648", "8589934592", "17179869184", "34359738368",
                         "9223372036854775807", "-9223372036854775808"}) {
    EXPECT_OK(ValidateValue(Spec("msExchRecipientTypeDetails"), ok)) << ok;
  }
}

TEST(LargeIntegerTest, RejectsNonNumericRecipientTypeDetails) {
  EXPECT_THAT(ValidateValue(Spec("msExchRecipientTypeDetails"), "abc"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "msExchRecipientTypeDetails: \"abc\" is not a number (Large Integer: a "
                       "decimal 64-bit integer such as 2147483648 for RemoteUserMailbox)"));
}

TEST(LargeIntegerTest, RejectsValueBeyond64Bits) {
  EXPECT_THAT(ValidateValue(Spec("msExchRecipientTypeDetails"), "9223372036854775808"),
              InvalidWith("is out of range (Large Integer"));
}

TEST(IntegerTest, SingleValuedRejectsTwoValues) {
  EXPECT_THAT(ValidateValues(Spec("msExchRecipientTypeDetails"), {"2147483648", "8589934592"}),
              InvalidWith("single-valued"));
}

TEST(IntegerTest, ComparesNumerically) {
  EXPECT_TRUE(ValuesEqual(Spec("msExchRecipientDisplayType"), "007", "7"));
  EXPECT_TRUE(ValuesEqual(Spec("msExchRecipientDisplayType"), "+7", "7"));
  EXPECT_TRUE(ValuesEqual(Spec("msExchRecipientDisplayType"), "-0", "0"));
  EXPECT_FALSE(ValuesEqual(Spec("msExchRecipientDisplayType"), "-7", "7"));
  EXPECT_TRUE(ValuesEqual(Spec("msExchRecipientTypeDetails"), "02147483648", "2147483648"));
}

TEST(IntegerTest, CanonicalValueIsPlainDecimal) {
  EXPECT_EQ(CanonicalValue(Spec("msExchRecipientDisplayType"), "+007"), "7");
  EXPECT_EQ(CanonicalValue(Spec("msExchRecipientDisplayType"), "-0"), "0");
  EXPECT_EQ(CanonicalValue(Spec("msExchRecipientDisplayType"), "-2147483642"), "-2147483642");
  EXPECT_EQ(CanonicalValue(Spec("msExchRecipientTypeDetails"), "0034359738368"), "34359738368");
  EXPECT_EQ(CanonicalValue(Spec("msExchRecipientTypeDetails"), "abc"), "abc");
}

// ---- Boolean ----

TEST(BooleanTest, AcceptsTrueAndFalseInAnyCase) {
  for (const char* ok : {"TRUE", "FALSE", "true", "False"}) {
    EXPECT_OK(ValidateValue(Spec("msExchHideFromAddressLists"), ok)) << ok;
  }
}

TEST(BooleanTest, RejectsAnythingElse) {
  for (const char* bad : {"yes", "1", "0", "", " TRUE", "T"}) {
    EXPECT_THAT(ValidateValue(Spec("msExchHideFromAddressLists"), bad),
                InvalidWith("is not a Boolean; write TRUE or FALSE"))
        << bad;
  }
}

TEST(BooleanTest, ComparesAndCanonicalizesIgnoringCase) {
  EXPECT_TRUE(ValuesEqual(Spec("msExchHideFromAddressLists"), "true", "TRUE"));
  EXPECT_FALSE(ValuesEqual(Spec("msExchHideFromAddressLists"), "TRUE", "FALSE"));
  EXPECT_EQ(CanonicalValue(Spec("msExchHideFromAddressLists"), "true"), "TRUE");
  EXPECT_EQ(CanonicalValue(Spec("msExchHideFromAddressLists"), "False"), "FALSE");
}

// ---- proxyAddresses ----

TEST(ProxyAddressesTest, AcceptsPrimarySecondaryAndOtherTypes) {
  EXPECT_OK(
      ValidateProxyAddresses({"SMTP:john@contoso.com", "smtp:john@contoso.mail.onmicrosoft.com",
                              "X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=x",
                              "SIP:john@contoso.com", "EUM:1234;phone-context=dp.contoso.com",
                              "SPO:SPO_abc@SPO_def", "x400:c=US;a= ;p=Contoso;o=Exchange;"}));
}

TEST(ProxyAddressesTest, EmptySetIsValid) { EXPECT_OK(ValidateProxyAddresses({})); }

TEST(ProxyAddressesTest, RejectsValueWithoutPrefix) {
  EXPECT_THAT(ValidateProxyAddresses({"john@contoso.com"}),
              InvalidWith("proxyAddresses: \"john@contoso.com\" has no address type prefix; "
                          "write it as TYPE:address"));
}

TEST(ProxyAddressesTest, RejectsInvalidType) {
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), ":john@contoso.com"),
              InvalidWith("invalid address type \"\""));
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), "SM TP:john@contoso.com"),
              InvalidWith("invalid address type \"SM TP\""));
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), "TENLETTERS:x"),
              InvalidWith("1 to 9 letters or digits"));
  EXPECT_OK(ValidateValue(Spec("proxyAddresses"), "NINELETTR:x"));
}

TEST(ProxyAddressesTest, RejectsEmptyAddress) {
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), "X500:"),
              InvalidWith("has no address after \"X500:\""));
}

TEST(ProxyAddressesTest, RejectsMixedCaseSmtpType) {
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), "Smtp:john@contoso.com"),
              InvalidWith("write \"SMTP:\" for the primary address or \"smtp:\" for a "
                          "secondary one"));
}

TEST(ProxyAddressesTest, RejectsTwoPrimarySmtpAddresses) {
  EXPECT_THAT(
      ValidateProxyAddresses({"SMTP:a@contoso.com", "smtp:b@contoso.com", "SMTP:c@contoso.com"}),
      InvalidWith("\"SMTP:a@contoso.com\" and \"SMTP:c@contoso.com\" are both primary"));
}

TEST(ProxyAddressesTest, RejectsSetWithoutPrimary) {
  EXPECT_THAT(ValidateProxyAddresses({"smtp:a@contoso.com", "smtp:b@contoso.com"}),
              InvalidWith("none of the 2 values (\"smtp:a@contoso.com\", ...) is a primary SMTP "
                          "address"));
  EXPECT_THAT(ValidateProxyAddresses({"X500:/o=Org/cn=x"}), InvalidWith("is a primary SMTP"));
}

TEST(ProxyAddressesTest, RejectsDuplicatesIgnoringCase) {
  EXPECT_THAT(ValidateProxyAddresses({"SMTP:a@contoso.com", "smtp:A@CONTOSO.COM"}),
              InvalidWith("\"SMTP:a@contoso.com\" and \"smtp:A@CONTOSO.COM\" are the same "
                          "address ignoring case"));
  EXPECT_THAT(ValidateProxyAddresses({"SMTP:a@contoso.com", "x500:/o=x", "X500:/O=X"}),
              InvalidWith("same address ignoring case"));
}

TEST(ProxyAddressesTest, RejectsValueLongerThan1123Characters) {
  const std::string x500 = "X500:" + std::string(1118, 'o');  // 1123 in all
  EXPECT_OK(ValidateValue(Spec("proxyAddresses"), x500));
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), x500 + "o"),
              InvalidWith("is 1124 characters long; the schema allows at most 1123"));
}

TEST(ProxyAddressesTest, ValidateValuesAppliesTheSetRules) {
  EXPECT_OK(ValidateValues(Spec("proxyAddresses"), {"SMTP:a@contoso.com"}));
  EXPECT_THAT(ValidateValues(Spec("proxyAddresses"), {"SMTP:a@contoso.com", "SMTP:b@contoso.com"}),
              InvalidWith("both primary"));
}

TEST(SmtpAddressTest, AcceptsCommonAndUnusualValidForms) {
  for (const char* ok : {"SMTP:john.doe@contoso.com", "smtp:o'brien+tag@sub.contoso.co.uk",
                         "smtp:\"john doe\"@contoso.com", "smtp:\"a\\\"b\"@contoso.com",
                         "smtp:x@xn--bcher-kva.example", "smtp:j\xC3\xBCrgen@m\xC3\xBCller.de",
                         "smtp:a-b_c@my-host.contoso.com"}) {
    EXPECT_OK(ValidateValue(Spec("proxyAddresses"), ok)) << ok;
  }
}

TEST(SmtpAddressTest, RejectsMalformedAddresses) {
  struct Case {
    const char* value;
    const char* reason;
  };
  for (const Case& c : std::vector<Case>{
           {"smtp:contoso.com", "it has no '@'"},
           {"smtp:@contoso.com", "the part before '@' is empty"},
           {"smtp:john@", "the domain after '@' is empty"},
           {"smtp:john@@contoso.com", "more than one '@'"},
           {"smtp:a@b@contoso.com", "more than one '@'"},
           {"smtp:.john@contoso.com", "starts or ends with '.'"},
           {"smtp:john..doe@contoso.com", "has \"..\""},
           {"smtp:john doe@contoso.com", "has ' ', which needs quoting"},
           {"smtp:john@contoso..com", "the domain starts or ends with '.'"},
           {"smtp:john@contoso.com.", "the domain starts or ends with '.'"},
           {"smtp:john@-contoso.com", "starts or ends with '-'"},
           {"smtp:john@contoso_corp.com", "the domain has '_'"},
           {"smtp:john@localhost", "single label"},
           {"smtp:john@[192.0.2.1]", "address literals are not accepted"},
           {"smtp:\"john@contoso.com", "no '@' after the quoted part"},
       }) {
    EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), c.value),
                AllOf(InvalidWith("is not a valid SMTP address"), InvalidWith(c.reason)))
        << c.value;
  }
  EXPECT_THAT(
      ValidateValue(Spec("proxyAddresses"), "smtp:" + std::string(65, 'a') + "@contoso.com"),
      InvalidWith("longer than 64 bytes"));
  EXPECT_THAT(ValidateValue(Spec("proxyAddresses"), "smtp:a@" + std::string(64, 'b') + ".com"),
              InvalidWith("label is longer than 63 bytes"));
}

TEST(SmtpAddressTest, OtherTypesAreNotCheckedAsSmtp) {
  EXPECT_OK(ValidateValue(Spec("proxyAddresses"), "SIP:not an smtp address"));
}

TEST(ProxyAddressesTest, PrimarySmtpAddressStripsThePrefix) {
  EXPECT_EQ(PrimarySmtpAddress({"smtp:b@contoso.com", "X500:/o=x", "SMTP:John@Contoso.com"}),
            "John@Contoso.com");
  EXPECT_EQ(PrimarySmtpAddress({"smtp:b@contoso.com"}), "");
  EXPECT_EQ(PrimarySmtpAddress({}), "");
}

TEST(ProxyAddressesTest, CanonicalValueNeverRewritesAddresses) {
  EXPECT_EQ(CanonicalValue(Spec("proxyAddresses"), "smtp:John@Contoso.COM"),
            "smtp:John@Contoso.COM");
}

TEST(ProxyAddressesTest, PrefixCaseIsAChange) {
  EXPECT_FALSE(ValuesEqual(Spec("proxyAddresses"), "smtp:a@contoso.com", "SMTP:a@contoso.com"));
  EXPECT_TRUE(
      ValuesEqual(Spec("proxyAddresses"), "SMTP:John@Contoso.com", "SMTP:john@contoso.com"));
}

// ---- comparison ----

TEST(ValuesEqualTest, UnicodeStringIgnoresAsciiCase) {
  EXPECT_TRUE(ValuesEqual(Spec("extensionAttribute1"), "Sales", "SALES"));
  EXPECT_FALSE(ValuesEqual(Spec("extensionAttribute1"), "Sales", "Sales "));
}

TEST(ValuesEqualTest, UnicodeStringFoldsLatinGreekAndCyrillic) {
  const AttributeSpec& spec = Spec("extensionAttribute1");
  EXPECT_TRUE(ValuesEqual(spec,
                          "M\xC3\x9C"
                          "LLER",
                          "m\xC3\xBCller"));  // MÜLLER / müller
  EXPECT_TRUE(ValuesEqual(spec,
                          "\xC5\x81\xC3\xB3"
                          "d\xC5\xBA",
                          "\xC5\x82\xC3\xB3"
                          "d\xC5\xBA"));
  EXPECT_TRUE(ValuesEqual(spec, "\xC5\xB8", "\xC3\xBF"));  // Ÿ / ÿ
  EXPECT_TRUE(ValuesEqual(spec, "\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91",
                          "\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1"));  // ΑΘΗΝΑ / αθηνα
  EXPECT_TRUE(ValuesEqual(spec, "\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90",
                          "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"));  // МОСКВА
  EXPECT_FALSE(ValuesEqual(spec,
                           "stra\xC3\x9F"
                           "e",
                           "strasse"));                     // no full folding
  EXPECT_FALSE(ValuesEqual(spec, "\xC3\x97", "\xC3\xB7"));  // × is not a letter
}

TEST(ValuesEqualTest, InvalidUtf8ComparesExactly) {
  EXPECT_TRUE(ValuesEqual(Spec("extensionAttribute1"), "A\xFF", "A\xFF"));
  EXPECT_FALSE(ValuesEqual(Spec("extensionAttribute1"), "A\xFF", "a\xFF"));
}

TEST(SetsEqualTest, IgnoresOrderCaseAndRepeats) {
  const AttributeSpec& spec = Spec("msExchExtensionCustomAttribute1");
  EXPECT_TRUE(SetsEqual(spec, {"red", "Green"}, {"GREEN", "red"}));
  EXPECT_TRUE(SetsEqual(spec, {"red", "RED"}, {"red"}));
  EXPECT_TRUE(SetsEqual(spec, {}, {}));
  EXPECT_FALSE(SetsEqual(spec, {"red"}, {"red", "blue"}));
  EXPECT_FALSE(SetsEqual(spec, {"red"}, {}));
}

TEST(SetsEqualTest, SeesAChangeOfPrimaryAddress) {
  EXPECT_FALSE(SetsEqual(Spec("proxyAddresses"), {"SMTP:a@contoso.com", "smtp:b@contoso.com"},
                         {"smtp:a@contoso.com", "SMTP:b@contoso.com"}));
  EXPECT_TRUE(SetsEqual(Spec("proxyAddresses"), {"SMTP:a@contoso.com", "smtp:b@contoso.com"},
                        {"smtp:B@contoso.com", "SMTP:A@contoso.com"}));
}

TEST(SetsEqualTest, ComparesIntegersNumerically) {
  EXPECT_TRUE(SetsEqual(Spec("msExchRecipientTypeDetails"), {"02147483648"}, {"2147483648"}));
}

}  // namespace
}  // namespace writeback
