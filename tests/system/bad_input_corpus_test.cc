// The Admin API part of the bad-input corpus (tests/corpus/README.md): one
// controller, agent and DC for the whole suite; each case is a call with one
// malformed or hostile input. Each must be refused with the expected code and
// a message naming the field or value, leave every mailbox and forest as it
// was (read back through the API), and write nothing to AD: the last test
// makes a valid change, waits for it, and finds in the DC's audit log that
// the only modify since the corpus began is that change (the agent was
// serving all along, so a bad input that got through would have shown up).
// bad_input_test.cc holds the nine cases that came first (through
// writebackctl); none is repeated here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/system/admin_corpus.h"
#include "tests/system/audit_checks.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using Stub = v1::AdminService::Stub;

class BadInputCorpusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new WritebackEnv;
    ASSERT_OK(env_->StartDc());
    auto users = env_->dc().AddUsers(1, "corpus");
    ASSERT_OK(users);
    user_ = new SambaDc::User((*users)[0]);
    ASSERT_OK(env_->StartController());
    ASSERT_OK(env_->StartAgent(1));
    auto ids = env_->AddMailboxes(*users);
    ASSERT_OK(ids);
    id_ = new std::string((*ids)[0]);
    ASSERT_OK(env_->Admin()
                  .UpdateMailbox(*id_, {AdminClient::Set("extensionAttribute1", "before-corpus")})
                  .status());
    ASSERT_OK(env_->Admin().WaitAllInSync(absl::Minutes(2))) << env_->LogsForFailure();
    auto events = env_->dc().AuditEvents();
    ASSERT_OK(events);
    audit_mark_ = events->size();
  }
  static void TearDownTestSuite() {
    delete env_;
    delete user_;
    delete id_;
  }

  static void Run(const std::vector<AdminCase>& cases) { RunAdminCases(env_->Admin(), cases); }
  // UpdateMailbox of the suite's mailbox, or of `cloud_id`.
  static AdminCall Update(std::vector<v1::AttributeEdit> edits, std::string cloud_id = "") {
    return UpdateCall(cloud_id.empty() ? *id_ : cloud_id, std::move(edits));
  }
  static AdminCall Set(const std::string& attribute, const std::string& value) {
    return Update({AdminClient::Set(attribute, value)});
  }
  static AdminCall Replace(const std::string& attribute, const std::vector<std::string>& values) {
    return Update({AdminClient::Replace(attribute, values)});
  }
  static AdminCall Add(const std::string& cloud_id, const std::string& forest,
                       const std::string& anchor) {
    return AddMailboxCall(cloud_id, forest, anchor);
  }

  static WritebackEnv* env_;
  static SambaDc::User* user_;
  static std::string* id_;
  static size_t audit_mark_;
};

WritebackEnv* BadInputCorpusTest::env_ = nullptr;
SambaDc::User* BadInputCorpusTest::user_ = nullptr;
std::string* BadInputCorpusTest::id_ = nullptr;
size_t BadInputCorpusTest::audit_mark_ = 0;

const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
const grpc::StatusCode kNotFound = grpc::StatusCode::NOT_FOUND;

std::string SixteenBytes() { return std::string(16, '\x5a'); }

TEST_F(BadInputCorpusTest, MalformedValuesOfEverySyntaxAreRefused) {
  // 200,000 addresses: a request over the Admin API's 4 MB message limit.
  std::vector<std::string> flood = {"SMTP:primary@corp.example.test"};
  for (int i = 0; i < 200000; ++i) flood.push_back(absl::StrCat("smtp:a", i, "@corp.example.test"));
  Run({
      {"request over 4 MB",
       Replace("proxyAddresses", flood),
       grpc::StatusCode::RESOURCE_EXHAUSTED,
       {"larger than max"}},
      {"nul byte",
       Set("extensionAttribute1", std::string("a\0b", 3)),
       kInvalid,
       {"extensionAttribute1", "\\x00"}},
      {"line break",
       Set("extensionAttribute2", "first\nsecond"),
       kInvalid,
       {"extensionAttribute2", "\\x0A"}},
      // Not UTF-8: gRPC cannot parse the request (proto3 strings) and no
      // handler runs; AnswerStatus (admin_server.h) says so.
      {"invalid utf-8",
       Set("extensionAttribute3", "caf\xc3\x28"),
       kInvalid,
       {"UpdateMailbox", "UTF-8"}},
      {"overlong utf-8",
       Set("extensionAttribute4", "\xc0\xaf"),
       kInvalid,
       {"UpdateMailbox", "UTF-8"}},
      {"over rangeUpper",
       Set("extensionAttribute5", std::string(1025, 'x')),
       kInvalid,
       {"extensionAttribute5", "1024"}},
      {"three megabytes",
       Set("extensionAttribute11", std::string(3 << 20, 'y')),
       kInvalid,
       {"extensionAttribute11", "2048"}},
      {"empty string", Set("extensionAttribute6", ""), kInvalid, {"extensionAttribute6"}},
      {"integer not a number",
       Set("msExchRecipientDisplayType", "12abc"),
       kInvalid,
       {"msExchRecipientDisplayType", "12abc"}},
      {"integer over 32 bits",
       Set("msExchRecipientDisplayType", "2147483648"),
       kInvalid,
       {"msExchRecipientDisplayType", "2147483648"}},
      {"large integer over 64 bits",
       Set("msExchRecipientTypeDetails", "99999999999999999999"),
       kInvalid,
       {"msExchRecipientTypeDetails", "99999999999999999999"}},
      {"number with spaces",
       Set("msExchRecipientTypeDetails", " 1 "),
       kInvalid,
       {"msExchRecipientTypeDetails"}},
      {"mail not an address", Set("mail", "not-an-address"), kInvalid, {"mail"}},
      {"ambiguous Smtp prefix",
       Replace("proxyAddresses", {"Smtp:a@corp.example.test"}),
       kInvalid,
       {"proxyAddresses", "Smtp:"}},
      {"empty address", Replace("proxyAddresses", {"SMTP:"}), kInvalid, {"proxyAddresses"}},
      {"no primary",
       Replace("proxyAddresses", {"smtp:a@corp.example.test"}),
       kInvalid,
       {"proxyAddresses", "primary"}},
      {"address literal",
       Replace("proxyAddresses", {"SMTP:a@[192.0.2.1]"}),
       kInvalid,
       {"proxyAddresses", "192.0.2.1"}},
      {"type over nine letters",
       Replace("proxyAddresses", {"SMTP:a@corp.example.test", "ABCDEFGHIJ:x"}),
       kInvalid,
       {"proxyAddresses", "ABCDEFGHIJ"}},
      {"local part over 64 bytes",
       Replace("proxyAddresses", {"SMTP:" + std::string(65, 'l') + "@corp.example.test"}),
       kInvalid,
       {"proxyAddresses"}},
  });
}

TEST_F(BadInputCorpusTest, AttributesOutsideTheCatalogAndWrongOperationsAreRefused) {
  v1::AttributeEdit no_op;
  no_op.set_attribute("extensionAttribute1");
  v1::AttributeEdit add_single;
  add_single.set_attribute("extensionAttribute1");
  add_single.mutable_add()->add_values("x");
  v1::AttributeEdit remove_absent;
  remove_absent.set_attribute("proxyAddresses");
  remove_absent.mutable_remove()->add_values("smtp:never@corp.example.test");
  Run({
      {"identity sAMAccountName",
       Set("sAMAccountName", "attacker"),
       kInvalid,
       {"sAMAccountName", "not an attribute writeback carries"}},
      {"identity userPrincipalName",
       Set("userPrincipalName", "x@corp.example.test"),
       kInvalid,
       {"userPrincipalName"}},
      {"identity objectSid", Set("objectSid", "S-1-5-21-1-2-3-500"), kInvalid, {"objectSid"}},
      {"anchor attribute",
       Set("mS-DS-ConsistencyGuid", "AAAA"),
       kInvalid,
       {"mS-DS-ConsistencyGuid"}},
      {"group membership",
       Replace("memberOf", {"CN=Domain Admins,CN=Users,DC=corp"}),
       kInvalid,
       {"memberOf"}},
      {"opt-in attribute not enabled",
       Set("msExchHideFromAddressLists", "TRUE"),
       kInvalid,
       {"msExchHideFromAddressLists", "opt-in"}},
      {"set on multi-valued",
       Set("proxyAddresses", "SMTP:b@corp.example.test"),
       kInvalid,
       {"proxyAddresses", "multi-valued"}},
      {"add on single-valued",
       Update({add_single}),
       kInvalid,
       {"extensionAttribute1", "single-valued"}},
      {"edit without operation",
       Update({no_op}),
       kInvalid,
       {"extensionAttribute1", "no operation"}},
      {"remove a value not present",
       Update({remove_absent}),
       kInvalid,
       {"proxyAddresses", "not present"}},
      {"no edits at all", Update({}), kInvalid, {"edits"}},
      {"huge attribute name",
       Set(std::string(1 << 20, 'a'), "x"),
       kInvalid,
       {"not an attribute writeback carries"}},
  });
}

TEST_F(BadInputCorpusTest, BadIdentifiersAreRefused) {
  Run({
      {"update unknown mailbox",
       Update({AdminClient::Set("extensionAttribute1", "x")}, WritebackEnv::CloudId(404)),
       kNotFound,
       {WritebackEnv::CloudId(404)}},
      {"empty cloud id", Add("", WritebackEnv::kForest, SixteenBytes()), kInvalid, {"cloud_id"}},
      {"cloud id not a GUID",
       Add("mailbox-1", WritebackEnv::kForest, SixteenBytes()),
       kInvalid,
       {"cloud_id", "mailbox-1"}},
      {"one megabyte cloud id",
       Add(std::string(1 << 20, 'c'), WritebackEnv::kForest, SixteenBytes()),
       kInvalid,
       {"cloud_id"}},
      {"anchor of 15 bytes",
       Add(WritebackEnv::CloudId(500), WritebackEnv::kForest, std::string(15, 'a')),
       kInvalid,
       {"source_anchor", "15"}},
      {"anchor of 17 bytes",
       Add(WritebackEnv::CloudId(501), WritebackEnv::kForest, std::string(17, 'a')),
       kInvalid,
       {"source_anchor", "17"}},
      {"empty anchor",
       Add(WritebackEnv::CloudId(502), WritebackEnv::kForest, ""),
       kInvalid,
       {"source_anchor"}},
      {"empty forest", Add(WritebackEnv::CloudId(503), "", SixteenBytes()), kNotFound, {"forest"}},
      {"mailbox added twice",
       Add(*id_, WritebackEnv::kForest, SixteenBytes()),
       grpc::StatusCode::ALREADY_EXISTS,
       {*id_}},
      {"get unknown mailbox",
       [](Stub& stub, grpc::ClientContext* c) {
         v1::GetMailboxRequest r;
         r.set_cloud_id(WritebackEnv::CloudId(405));
         v1::Mailbox out;
         return stub.GetMailbox(c, r, &out);
       },
       kNotFound,
       {WritebackEnv::CloudId(405)}},
      {"remove unknown mailbox",
       [](Stub& stub, grpc::ClientContext* c) {
         v1::RemoveMailboxRequest r;
         r.set_cloud_id(WritebackEnv::CloudId(406));
         v1::Mailbox out;
         return stub.RemoveMailbox(c, r, &out);
       },
       kNotFound,
       {WritebackEnv::CloudId(406)}},
      {"forest name not DNS",
       [](Stub& stub, grpc::ClientContext* c) {
         v1::AddForestRequest r;
         r.mutable_forest()->set_name("corp_example!");
         r.mutable_forest()->add_scope_ous("OU=X,DC=corp,DC=example,DC=test");
         v1::Forest out;
         return stub.AddForest(c, r, &out);
       },
       kInvalid,
       {"forest.name", "corp_example!"}},
      {"forest scope not a DN",
       [](Stub& stub, grpc::ClientContext* c) {
         v1::AddForestRequest r;
         r.mutable_forest()->set_name("other.example.test");
         r.mutable_forest()->add_scope_ous("Mailboxes");
         v1::Forest out;
         return stub.AddForest(c, r, &out);
       },
       kInvalid,
       {"forest.scope_ous", "Mailboxes"}},
      {"pause unknown forest",
       [](Stub& stub, grpc::ClientContext* c) {
         v1::PauseForestRequest r;
         r.set_name("nope.example.test");
         v1::Forest out;
         return stub.PauseForest(c, r, &out);
       },
       kNotFound,
       {"nope.example.test"}},
  });
}

TEST_F(BadInputCorpusTest, BadImportsStoreNothing) {
  auto import = ImportCall;
  auto entry = [](int line, int id, const std::string& forest, std::string anchor) {
    v1::ImportEntry e;
    e.set_line(line);
    e.set_cloud_id(WritebackEnv::CloudId(id));
    e.set_forest(forest);
    e.set_source_anchor(std::move(anchor));
    return e;
  };
  std::vector<v1::ImportEntry> over_limit;
  for (int i = 0; i < 5001; ++i) {
    std::string anchor(16, '\0');
    anchor[0] = static_cast<char>(i & 0xff);
    anchor[1] = static_cast<char>(i >> 8);
    over_limit.push_back(entry(i + 1, 1000 + i, WritebackEnv::kForest, anchor));
  }
  v1::ImportEntry bad_value = entry(1, 600, WritebackEnv::kForest, SixteenBytes());
  (*bad_value.mutable_attributes()->mutable_attributes())["extensionAttribute1"].add_values(
      std::string("tab\there"));
  std::string other_anchor(16, '\x33');
  Run({
      {"5,001 entries",
       import(over_limit),
       grpc::StatusCode::INVALID_ARGUMENT,
       {"entries", "5000"}},
      {"one cloud id twice",
       import({entry(1, 601, WritebackEnv::kForest, SixteenBytes()),
               entry(2, 601, WritebackEnv::kForest, other_anchor)}),
       kInvalid,
       {"line 2", WritebackEnv::CloudId(601)}},
      {"one anchor twice",
       import({entry(1, 602, WritebackEnv::kForest, SixteenBytes()),
               entry(2, 603, WritebackEnv::kForest, SixteenBytes())}),
       kInvalid,
       {"line 2", "anchor"}},
      {"bad value in one entry", import({bad_value}), kInvalid, {"line 1", "extensionAttribute1"}},
      {"unknown forest",
       import({entry(7, 604, "nope.example.test", SixteenBytes())}),
       kInvalid,
       {"line 7", "forest", "nope.example.test"}},
  });
}

// Runs last (definition order): the agent kept serving through the corpus and
// nothing but this valid change reached the directory.
TEST_F(BadInputCorpusTest, AfterAllOfItAValidChangeIsTheOnlyWrite) {
  ASSERT_OK(
      env_->Admin().UpdateMailbox(*id_, {AdminClient::Set("extensionAttribute1", "after-corpus")}));
  ASSERT_OK(env_->Admin().WaitAllInSync(absl::Minutes(2))) << env_->LogsForFailure();
  auto attrs = env_->dc().Read(user_->dn, {"extensionAttribute1"});
  ASSERT_OK(attrs);
  EXPECT_THAT((*attrs)["extensionAttribute1"], ::testing::ElementsAre("after-corpus"));
  auto events = env_->dc().AuditEvents();
  ASSERT_OK(events);
  std::vector<const AuditEvent*> modifies;  // the DC's own housekeeping left out
  for (const auto& [dn, list] : ModifiesByDn(*events, audit_mark_)) {
    for (const AuditEvent* e : list) {
      if (!e->performed_as_system) modifies.push_back(e);
    }
  }
  ASSERT_EQ(modifies.size(), 1u) << "more than the one valid write reached AD";
  EXPECT_EQ(absl::AsciiStrToLower(modifies[0]->dn), absl::AsciiStrToLower(user_->dn));
  std::string written;
  ASSERT_TRUE(WrittenValue(*modifies[0], "extensionAttribute1", &written));
  EXPECT_EQ(written, "after-corpus");
  EXPECT_EQ(modifies[0]->attributes.size(), 1u) << "the write touched other attributes";
}

}  // namespace
}  // namespace writeback::testing
