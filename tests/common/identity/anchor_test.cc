#include "common/identity/anchor.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback {
namespace {

using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

// GUID 01234567-89ab-cdef-0123-456789abcdef as AD stores it in objectGUID: the
// first three fields byte-swapped, the last eight bytes in order.
const std::string kStoredBytes("\x67\x45\x23\x01\xab\x89\xef\xcd\x01\x23\x45\x67\x89\xab\xcd\xef",
                               16);
constexpr char kGuid[] = "01234567-89ab-cdef-0123-456789abcdef";
constexpr char kBase64[] = "Z0UjAauJ780BI0VniavN7w==";  // ldapsearch "objectGUID::"

TEST(AnchorTest, GuidStringUsesObjectGuidByteLayout) {
  absl::StatusOr<std::string> anchor = ParseAnchor(kGuid);
  ASSERT_OK(anchor);
  EXPECT_EQ(*anchor, kStoredBytes);
}

TEST(AnchorTest, AcceptsBracesUpperCaseAndSurroundingWhitespace) {
  absl::StatusOr<std::string> anchor = ParseAnchor("  {01234567-89AB-CDEF-0123-456789ABCDEF}\n");
  ASSERT_OK(anchor);
  EXPECT_EQ(*anchor, kStoredBytes);
}

TEST(AnchorTest, AcceptsBase64AsLdapsearchPrintsIt) {
  absl::StatusOr<std::string> anchor = ParseAnchor(kBase64);
  ASSERT_OK(anchor);
  EXPECT_EQ(*anchor, kStoredBytes);
}

TEST(AnchorTest, GuidStringRoundTrips) {
  EXPECT_EQ(AnchorToGuidString(kStoredBytes), kGuid);
  // A second, asymmetric value: every byte distinct.
  absl::StatusOr<std::string> anchor = ParseAnchor("6f9619ff-8b86-d011-b42d-00c04fc964ff");
  ASSERT_OK(anchor);
  EXPECT_EQ(AnchorToBase64(*anchor), "/xmWb4aLEdC0LQDAT8lk/w==");
  EXPECT_EQ(AnchorToGuidString(*anchor), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
}

TEST(AnchorTest, Base64RoundTrips) { EXPECT_EQ(AnchorToBase64(kStoredBytes), kBase64); }

TEST(AnchorTest, GuidStringOfWrongLengthIsEmpty) {
  EXPECT_EQ(AnchorToGuidString("short"), "");
  EXPECT_EQ(AnchorToGuidString(""), "");
}

TEST(AnchorTest, RejectsEverythingElse) {
  for (const char* bad : {
           "",
           "01234567-89ab-cdef-0123-456789abcde",    // one digit short
           "01234567-89ab-cdef-0123-456789abcdefa",  // one digit long
           "0123456789ab-cdef-0123-456789abcdef-",   // hyphens misplaced
           "01234567-89ab-cdef-0123-456789abcdeg",   // not hex
           "0123456789abcdef0123456789abcdef",       // no hyphens
           "{01234567-89ab-cdef-0123-456789abcdef",  // unbalanced brace
           "AAAA",                                   // base64 of 3 bytes
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",       // base64 of 24 bytes
           "not base64 at all!",
       }) {
    EXPECT_THAT(ParseAnchor(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is neither a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")))
        << bad;
  }
}

TEST(AnchorTest, MessageQuotesTheInput) {
  EXPECT_THAT(ParseAnchor("nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source anchor \"nope\"")));
}

TEST(LdapFilterEscapingTest, EscapesEveryByte) {
  EXPECT_EQ(EscapeLdapFilterBytes(kStoredBytes),
            "\\67\\45\\23\\01\\ab\\89\\ef\\cd\\01\\23\\45\\67\\89\\ab\\cd\\ef");
}

TEST(LdapFilterEscapingTest, EscapesFilterMetacharactersAndNul) {
  EXPECT_EQ(EscapeLdapFilterBytes(std::string("(*)\\\0a", 6)), "\\28\\2a\\29\\5c\\00\\61");
  EXPECT_EQ(EscapeLdapFilterBytes(""), "");
  EXPECT_EQ(EscapeLdapFilterBytes("\xFF"), "\\ff");
}

TEST(IsGuidStringTest, AcceptsTheCloudIdFormOnly) {
  EXPECT_TRUE(IsGuidString("6f1c2a3b-0000-4def-89ab-0123456789ab"));
  EXPECT_TRUE(IsGuidString("6F1C2A3B-0000-4DEF-89AB-0123456789AB"));
  EXPECT_FALSE(IsGuidString("{6f1c2a3b-0000-4def-89ab-0123456789ab}"));
  EXPECT_FALSE(IsGuidString("6f1c2a3b00004def89ab0123456789ab"));
  EXPECT_FALSE(IsGuidString("6f1c2a3b-0000-4def-89ab-0123456789ag"));
  EXPECT_FALSE(IsGuidString("6f1c2a3b-0000-4def-89ab0-123456789ab"));
  EXPECT_FALSE(IsGuidString(""));
}

}  // namespace
}  // namespace writeback
