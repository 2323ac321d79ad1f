#include "controller/admin/mailbox_edits.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using writeback::testing::StatusIs;
using writeback::v1::AttributeEdit;
using writeback::v1::AttributeMap;

google::protobuf::RepeatedPtrField<AttributeEdit> Edits(std::vector<AttributeEdit> list) {
  google::protobuf::RepeatedPtrField<AttributeEdit> out;
  for (auto& e : list) *out.Add() = e;
  return out;
}
AttributeEdit Set(const std::string& a, const std::string& v) {
  AttributeEdit e;
  e.set_attribute(a);
  e.set_set(v);
  return e;
}
AttributeEdit Add(const std::string& a, const std::string& v) {
  AttributeEdit e;
  e.set_attribute(a);
  e.mutable_add()->add_values(v);
  return e;
}
AttributeEdit Remove(const std::string& a, const std::string& v) {
  AttributeEdit e;
  e.set_attribute(a);
  e.mutable_remove()->add_values(v);
  return e;
}
AttributeEdit Replace(const std::string& a, std::vector<std::string> vs) {
  AttributeEdit e;
  e.set_attribute(a);
  for (auto& v : vs) e.mutable_replace()->add_values(v);
  return e;
}
std::vector<std::string> Get(const AttributeMap& m, const std::string& a) {
  const auto& v = m.attributes().at(a).values();
  return {v.begin(), v.end()};
}

TEST(MailboxEditsTest, SetAddRemoveReplaceCompose) {
  AttributeMap desired;
  ASSERT_OK(ApplyEdits(Edits({Replace("proxyAddresses", {"SMTP:a@x.com", "smtp:b@x.com"}),
                              Add("proxyAddresses", "smtp:c@x.com"),
                              Remove("proxyAddresses", "SMTP:B@X.COM"),
                              Set("mail", "a@x.com")}),
                       &desired));
  EXPECT_THAT(Get(desired, "proxyAddresses"), UnorderedElementsAre("SMTP:a@x.com", "smtp:c@x.com"));
  EXPECT_THAT(Get(desired, "mail"), ElementsAre("a@x.com"));
}

TEST(MailboxEditsTest, AttributeNamesAreStoredInCanonicalSpelling) {
  AttributeMap desired;
  ASSERT_OK(ApplyEdits(Edits({Set("EXTENSIONATTRIBUTE1", "HR")}), &desired));
  EXPECT_THAT(Get(desired, "extensionAttribute1"), ElementsAre("HR"));
}

TEST(MailboxEditsTest, UnknownAttributeIsRefusedByName) {
  AttributeMap desired;
  EXPECT_THAT(ApplyEdits(Edits({Set("userAccountControl", "512")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("userAccountControl")));
  EXPECT_TRUE(desired.attributes().empty());
}

TEST(MailboxEditsTest, HugeUnknownAttributeNameIsQuotedShortened) {
  AttributeMap desired;
  absl::Status s = ApplyEdits(Edits({Set(std::string(1 << 20, 'a') + "\n", "x")}), &desired);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("aaa...\" is not an attribute writeback carries")));
  EXPECT_LT(s.message().size(), 2000u);
}

TEST(MailboxEditsTest, AnyInvalidEditLeavesTheMapUntouched) {
  AttributeMap desired;
  ASSERT_OK(ApplyEdits(Edits({Set("mail", "a@x.com")}), &desired));
  AttributeMap before = desired;
  EXPECT_THAT(ApplyEdits(Edits({Set("mail", "b@x.com"), Set("msExchRecipientTypeDetails", "abc")}),
                         &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("msExchRecipientTypeDetails")));
  EXPECT_TRUE(SameDesiredState(before, desired));
}

TEST(MailboxEditsTest, TwoPrimarySmtpAddressesAreRefused) {
  AttributeMap desired;
  EXPECT_THAT(ApplyEdits(Edits({Replace("proxyAddresses", {"SMTP:a@x.com", "SMTP:b@x.com"})}),
                         &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("proxyAddresses")));
}

TEST(MailboxEditsTest, DuplicateIgnoringCaseIsRefused) {
  AttributeMap desired;
  ASSERT_OK(ApplyEdits(Edits({Replace("proxyAddresses", {"SMTP:a@x.com"})}), &desired));
  EXPECT_THAT(ApplyEdits(Edits({Add("proxyAddresses", "smtp:A@X.COM")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("already present")));
}

TEST(MailboxEditsTest, RemovingAnAbsentValueIsRefused) {
  AttributeMap desired;
  EXPECT_THAT(ApplyEdits(Edits({Remove("proxyAddresses", "smtp:a@x.com")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not present")));
}

TEST(MailboxEditsTest, SetOnMultiValuedAndAddOnSingleValuedAreRefused) {
  AttributeMap desired;
  EXPECT_THAT(ApplyEdits(Edits({Set("proxyAddresses", "SMTP:a@x.com")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multi-valued")));
  EXPECT_THAT(ApplyEdits(Edits({Add("mail", "a@x.com")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("single-valued")));
}

TEST(MailboxEditsTest, OptInAttributeIsRefusedWithoutForestPolicy) {
  AttributeMap desired;
  EXPECT_THAT(ApplyEdits(Edits({Set("msExchHideFromAddressLists", "TRUE")}), &desired),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("opt-in")));
}

TEST(MailboxEditsTest, ClearKeepsTheAttributeWithNoValues) {
  AttributeMap desired;
  ASSERT_OK(ApplyEdits(Edits({Set("extensionAttribute5", "x")}), &desired));
  AttributeEdit clear;
  clear.set_attribute("extensionAttribute5");
  clear.set_clear(true);
  ASSERT_OK(ApplyEdits(Edits({clear}), &desired));
  EXPECT_TRUE(Get(desired, "extensionAttribute5").empty());
}

TEST(MailboxEditsTest, SameDesiredStateComparesSetsAsTheDirectoryDoes) {
  AttributeMap a, b;
  ASSERT_OK(ApplyEdits(Edits({Replace("proxyAddresses", {"SMTP:a@x.com", "smtp:b@x.com"})}), &a));
  ASSERT_OK(ApplyEdits(Edits({Replace("proxyAddresses", {"smtp:B@x.com", "SMTP:a@x.com"})}), &b));
  EXPECT_TRUE(SameDesiredState(a, b));
  ASSERT_OK(ApplyEdits(Edits({Set("mail", "a@x.com")}), &b));
  EXPECT_FALSE(SameDesiredState(a, b));
}

}  // namespace
}  // namespace writeback::controller
