#include "common/attributes/catalog.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback {
namespace {

using ::testing::ElementsAre;
using ::testing::IsNull;
using ::testing::NotNull;
using ::testing::SizeIs;

const AttributeCatalog& Catalog() { return AttributeCatalog::Default(); }

TEST(AttributeCatalogTest, HoldsTwentyFiveAttributes) { EXPECT_THAT(Catalog().all(), SizeIs(25)); }

TEST(AttributeCatalogTest, DefaultAllowlistIsTheTwentyFourOfTheReferenceProduct) {
  std::vector<std::string> expected = {"proxyAddresses", "mail"};
  for (int i = 1; i <= 15; ++i) expected.push_back("extensionAttribute" + std::to_string(i));
  for (int i = 1; i <= 5; ++i) {
    expected.push_back("msExchExtensionCustomAttribute" + std::to_string(i));
  }
  expected.push_back("msExchRecipientDisplayType");
  expected.push_back("msExchRecipientTypeDetails");
  EXPECT_EQ(Catalog().DefaultAllowlist(), expected);
}

TEST(AttributeCatalogTest, HideFromAddressListsIsOptIn) {
  const AttributeSpec* spec = Catalog().Find("msExchHideFromAddressLists");
  ASSERT_THAT(spec, NotNull());
  EXPECT_FALSE(spec->in_default_set);
  EXPECT_EQ(spec->syntax, AttributeSyntax::kBoolean);
  EXPECT_EQ(spec->oid, "1.2.840.113556.1.4.7000.102.73");
  EXPECT_EQ(spec->cloud_name, "HiddenFromAddressListsEnabled");
}

TEST(AttributeCatalogTest, FindIgnoresCaseAndReturnsCanonicalName) {
  const AttributeSpec* spec = Catalog().Find("PROXYADDRESSES");
  ASSERT_THAT(spec, NotNull());
  EXPECT_EQ(spec->name, "proxyAddresses");
  EXPECT_EQ(Catalog().Find("ExtensionAttribute7"), Catalog().Find("extensionattribute7"));
}

TEST(AttributeCatalogTest, UnknownAttributeIsNull) {
  EXPECT_THAT(Catalog().Find("displayName"), IsNull());
  EXPECT_THAT(Catalog().Find(""), IsNull());
  EXPECT_THAT(Catalog().Find("extensionAttribute16"), IsNull());
}

TEST(AttributeCatalogTest, ProxyAddressesMatchesTheAdSchema) {
  const AttributeSpec& spec = *Catalog().Find("proxyAddresses");
  EXPECT_EQ(spec.oid, "1.2.840.113556.1.2.210");
  EXPECT_EQ(spec.syntax, AttributeSyntax::kUnicodeString);
  EXPECT_TRUE(spec.multi_valued);
  EXPECT_EQ(spec.max_length, 1123u);
  EXPECT_EQ(spec.cloud_name, "EmailAddresses");
}

TEST(AttributeCatalogTest, MailIsSingleValuedWithRangeUpper256) {
  const AttributeSpec& spec = *Catalog().Find("mail");
  EXPECT_EQ(spec.oid, "0.9.2342.19200300.100.1.3");
  EXPECT_FALSE(spec.multi_valued);
  EXPECT_EQ(spec.max_length, 256u);
}

TEST(AttributeCatalogTest, ExtensionAttributesFollowTheExchangeSchema) {
  const AttributeSpec& first = *Catalog().Find("extensionAttribute1");
  EXPECT_EQ(first.oid, "1.2.840.113556.1.2.423");
  EXPECT_EQ(first.max_length, 1024u);
  EXPECT_EQ(first.cloud_name, "CustomAttribute1");
  const AttributeSpec& tenth = *Catalog().Find("extensionAttribute10");
  EXPECT_EQ(tenth.oid, "1.2.840.113556.1.2.432");
  EXPECT_EQ(tenth.max_length, 1024u);
  const AttributeSpec& eleventh = *Catalog().Find("extensionAttribute11");
  EXPECT_EQ(eleventh.oid, "1.2.840.113556.1.2.599");
  EXPECT_EQ(eleventh.max_length, 2048u);
  const AttributeSpec& last = *Catalog().Find("extensionAttribute15");
  EXPECT_EQ(last.oid, "1.2.840.113556.1.2.603");
  EXPECT_FALSE(last.multi_valued);
}

TEST(AttributeCatalogTest, ExtensionCustomAttributesAreMultiValued) {
  for (int i = 1; i <= 5; ++i) {
    const std::string name = "msExchExtensionCustomAttribute" + std::to_string(i);
    const AttributeSpec* spec = Catalog().Find(name);
    ASSERT_THAT(spec, NotNull()) << name;
    EXPECT_TRUE(spec->multi_valued) << name;
    EXPECT_EQ(spec->max_length, 2048u) << name;
    EXPECT_EQ(spec->cloud_name, "ExtensionCustomAttribute" + std::to_string(i));
  }
}

TEST(AttributeCatalogTest, RecipientTypesAreIntegers) {
  EXPECT_EQ(Catalog().Find("msExchRecipientDisplayType")->syntax, AttributeSyntax::kInteger);
  EXPECT_EQ(Catalog().Find("msExchRecipientTypeDetails")->syntax, AttributeSyntax::kLargeInteger);
  EXPECT_EQ(Catalog().Find("msExchRecipientTypeDetails")->oid, "1.2.840.113556.1.4.7000.102.50855");
}

TEST(AttributeCatalogTest, NamesAndKnownOidsAreUnique) {
  std::set<std::string> names, oids;
  for (const AttributeSpec& spec : Catalog().all()) {
    EXPECT_TRUE(names.insert(std::string(spec.name)).second) << spec.name;
    if (!spec.oid.empty()) {
      EXPECT_TRUE(oids.insert(std::string(spec.oid)).second) << spec.oid;
    }
  }
}

TEST(AttributeCatalogTest, SyntaxNamesReadAsInTheSchemaDocs) {
  EXPECT_EQ(AttributeSyntaxName(AttributeSyntax::kLargeInteger), "Large Integer");
  EXPECT_EQ(AttributeSyntaxName(AttributeSyntax::kUnicodeString), "Unicode String");
}

TEST(AttributeCatalogTest, CustomCatalogFindsOnlyItsOwnSpecs) {
  AttributeCatalog catalog({{"mail", "", AttributeSyntax::kUnicodeString, false, 256, true, ""}});
  EXPECT_THAT(catalog.Find("Mail"), NotNull());
  EXPECT_THAT(catalog.Find("proxyAddresses"), IsNull());
  EXPECT_THAT(catalog.DefaultAllowlist(), ElementsAre("mail"));
}

}  // namespace
}  // namespace writeback
