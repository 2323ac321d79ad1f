// Acceptance (issue 2, #4): bad input gets a clear error naming the field and
// the reason, and nothing is stored (the test reads the SQLite store back).
#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(env_.StartController());
    ASSERT_OK(env_.AddForest());
    id_ = WritebackEnv::CloudId(1);
    CtlResult add = env_.Ctl({"mailbox", "add", id_, "--forest=corp.example.test",
                              "--anchor=11111111-2222-3333-4444-555555555555"});
    ASSERT_EQ(add.exit_code, 0) << add.output;
    CtlResult set = env_.Ctl({"mailbox", "set", id_, "proxyAddresses:=SMTP:a@corp.example.test",
                              "mail=a@corp.example.test"});
    ASSERT_EQ(set.exit_code, 0) << set.output;
    before_ = Stored(id_);
  }

  // The mailbox as the store holds it, read from the SQLite file itself.
  controller::MailboxRecord Stored(const std::string& id) {
    auto store = controller::SqliteStore::Open(env_.store_path());
    EXPECT_OK(store);
    auto m = (*store)->GetMailbox(id);
    EXPECT_OK(m);
    return m.ok() ? *m : controller::MailboxRecord{};
  }

  void ExpectRefusedAndNothingStored(const std::vector<std::string>& edits,
                                     const std::string& field, const std::string& reason) {
    std::vector<std::string> args = {"mailbox", "set", id_};
    args.insert(args.end(), edits.begin(), edits.end());
    CtlResult r = env_.Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, AllOf(HasSubstr(field), HasSubstr(reason)));
    controller::MailboxRecord after = Stored(id_);
    EXPECT_EQ(after.desired_gen, before_.desired_gen);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after.desired, before_.desired))
        << after.desired.DebugString();
  }

  WritebackEnv env_;
  std::string id_;
  controller::MailboxRecord before_;
};

TEST_F(BadInputTest, UnknownAttribute) {
  ExpectRefusedAndNothingStored({"mail=b@corp.example.test", "userAccountControl=512"},
                                "userAccountControl", "not an attribute writeback carries");
}

TEST_F(BadInputTest, ProxyAddressWithoutPrefix) {
  ExpectRefusedAndNothingStored({"proxyAddresses+=b@corp.example.test"}, "proxyAddresses",
                                "b@corp.example.test");
}

TEST_F(BadInputTest, TwoPrimarySmtpAddresses) {
  ExpectRefusedAndNothingStored({"proxyAddresses+=SMTP:b@corp.example.test"}, "proxyAddresses",
                                "primary");
}

TEST_F(BadInputTest, DuplicateIgnoringCase) {
  ExpectRefusedAndNothingStored(
      {"proxyAddresses:=SMTP:b@corp.example.test", "proxyAddresses:=smtp:B@CORP.example.test"},
      "proxyAddresses", "ignoring case");
}

TEST_F(BadInputTest, ProxyAddressOver1123Characters) {
  // An X500 address: any text is a valid address of that type, so only the
  // length rule (rangeUpper 1123) can refuse it.
  std::string longest = "X500:/o=ExchangeLabs/cn=" + std::string(1100, 'x');
  ExpectRefusedAndNothingStored({"proxyAddresses+=" + longest}, "proxyAddresses", "1123");
}

TEST_F(BadInputTest, NonNumericRecipientTypeDetails) {
  ExpectRefusedAndNothingStored({"msExchRecipientTypeDetails=RemoteUserMailbox"},
                                "msExchRecipientTypeDetails", "not a number");
}

TEST_F(BadInputTest, UnknownMailbox) {
  CtlResult r = env_.Ctl({"mailbox", "set", WritebackEnv::CloudId(99), "mail=x@corp.example.test"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr(WritebackEnv::CloudId(99)), HasSubstr("not registered")));
  auto store = controller::SqliteStore::Open(env_.store_path());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->GetMailbox(WritebackEnv::CloudId(99)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BadInputTest, UnknownForest) {
  CtlResult r = env_.Ctl({"mailbox", "add", WritebackEnv::CloudId(2), "--forest=nope.example.test",
                          "--anchor=21111111-2222-3333-4444-555555555555"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("nope.example.test"), HasSubstr("not registered")));
  auto store = controller::SqliteStore::Open(env_.store_path());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->GetMailbox(WritebackEnv::CloudId(2)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT((*store)->GetForest("nope.example.test"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BadInputTest, OneAnchorUnderTwoCloudIds) {
  CtlResult r = env_.Ctl({"mailbox", "add", WritebackEnv::CloudId(3), "--forest=corp.example.test",
                          "--anchor=11111111-2222-3333-4444-555555555555"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("anchor"), HasSubstr(id_)));
  auto store = controller::SqliteStore::Open(env_.store_path());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->GetMailbox(WritebackEnv::CloudId(3)), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace writeback::testing
