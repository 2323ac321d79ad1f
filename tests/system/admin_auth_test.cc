// Admin API authentication with two roles (DESIGN §7), end to end: the real
// controller and writebackctl. A first start writes a private local operator
// token; calls without or with a wrong token are UNAUTHENTICATED (exit 5); a
// read-only principal added to the tokens file at runtime reads but changes
// nothing (PERMISSION_DENIED); the audit trail names principals; beyond
// loopback the Admin API is served only over TLS, where admin certificates of
// listed principals and tokens work and others are refused. Needs no DC.
#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "controller/admin/admin_auth.h"
#include "controller/admin/admin_tokens.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/admin.pb.h"

namespace writeback::testing {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using controller::AdminRole;

// writebackctl exit codes (usage text).
constexpr int kExitUnavailable = 3;
constexpr int kExitNotAllowed = 5;
// Environment for writebackctl without a token.
constexpr char kNoToken[] = "WRITEBACKCTL_TOKEN_FILE=";
// A non-loopback address of the test's network namespace; the test PKI's
// controller certificate names it (make_certs.sh).
constexpr char kNetworkAddress[] = "192.0.2.10";

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

// Writes `token` to work_dir/NAME.token with `mode`; returns the path.
std::string WriteToken(WritebackEnv& env, const std::string& name, const std::string& token,
                       int mode = 0600) {
  std::string path = absl::StrCat(env.work_dir(), "/", name, ".token");
  EXPECT_OK(controller::WritePrivateFileAtomically(path, token));
  EXPECT_EQ(chmod(path.c_str(), mode), 0);
  return path;
}

std::vector<std::string> TokenEnv(const std::string& token_file) {
  return {"WRITEBACKCTL_TOKEN_FILE=" + token_file};
}

std::vector<v1::AuditRecord> AuditRecords(const CtlResult& audit) {
  std::vector<v1::AuditRecord> records;
  for (absl::string_view line : absl::StrSplit(audit.output, '\n', absl::SkipEmpty())) {
    v1::AuditRecord r;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &r).ok()) << line;
    records.push_back(r);
  }
  return records;
}

std::vector<std::string> Callers(const std::vector<v1::AuditRecord>& records) {
  std::vector<std::string> callers;
  for (const auto& r : records) callers.push_back(r.caller());
  return callers;
}

TEST(AdminAuthTest, FirstStartWritesAPrivateLocalOperatorToken) {
  WritebackEnv env;
  ASSERT_OK(env.StartController());
  EXPECT_EQ(Mode(env.admin_token_file()), 0600);
  EXPECT_EQ(Mode(env.admin_tokens_file()), 0600);
  auto token = ReadFileToString(env.admin_token_file());
  ASSERT_OK(token);
  ASSERT_GE(token->size(), 43u);  // 32 random bytes, base64url
  std::string log = ReadFileToString(env.controller().log_file()).value_or("");
  EXPECT_THAT(log, AllOf(HasSubstr("created the Admin API tokens file " + env.admin_tokens_file()),
                         HasSubstr(env.admin_token_file()), Not(HasSubstr(*token))));
  EXPECT_THAT(ReadFileToString(env.admin_tokens_file()).value_or(""),
              AllOf(HasSubstr("local-operator operator " + controller::TokenHashHex(*token)),
                    Not(HasSubstr(*token))));
  CtlResult r = env.Ctl({"forest", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // A restart keeps the token.
  ASSERT_OK(env.KillController());
  ASSERT_OK(env.StartController());
  EXPECT_EQ(ReadFileToString(env.admin_token_file()).value_or(""), *token);
  r = env.Ctl({"forest", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(AdminAuthTest, CallsWithoutOrWithAWrongTokenAreUnauthenticated) {
  WritebackEnv env;
  ASSERT_OK(env.StartController());
  CtlResult none = env.CtlWithEnv({kNoToken}, {"forest", "list"});
  EXPECT_EQ(none.exit_code, kExitNotAllowed) << none.output;
  EXPECT_THAT(none.output, AllOf(HasSubstr("no credentials"), HasSubstr("--token_file"),
                                 HasSubstr("WRITEBACKCTL_TOKEN_FILE")));

  const std::string wrong = "wrong-token-0123456789abcdefghijklmnopqrstuv";
  CtlResult bad = env.CtlWithEnv(TokenEnv(WriteToken(env, "wrong", wrong)), {"forest", "list"});
  EXPECT_EQ(bad.exit_code, kExitNotAllowed) << bad.output;
  EXPECT_THAT(bad.output, AllOf(HasSubstr("token not recognised"), Not(HasSubstr(wrong))));
  CtlResult bad_change = env.CtlWithEnv(TokenEnv(WriteToken(env, "wrong", wrong)),
                                        {"forest", "add", "x.example.test"});
  EXPECT_EQ(bad_change.exit_code, kExitNotAllowed) << bad_change.output;

  // writebackctl refuses a token file others may read, before any call.
  std::string token = ReadFileToString(env.admin_token_file()).value_or("");
  std::string open = WriteToken(env, "open", token, 0644);
  CtlResult refused = env.CtlWithEnv(TokenEnv(open), {"forest", "list"});
  EXPECT_EQ(refused.exit_code, kExitNotAllowed) << refused.output;
  EXPECT_THAT(refused.output, AllOf(HasSubstr("chmod 600 " + open), Not(HasSubstr(token))));

  // --token_file works as the environment variable does.
  CtlResult flag = env.CtlWithEnv({kNoToken}, {"--token_file=" + env.admin_token_file(),
                                               "forest", "list"});
  EXPECT_EQ(flag.exit_code, 0) << flag.output;
  // Nothing refused reached the audit trail (no call changed anything).
  EXPECT_THAT(AuditRecords(env.Ctl({"audit", "--json"})), ::testing::IsEmpty());
}

TEST(AdminAuthTest, ReadOnlyPrincipalAddedAtRuntimeReadsButChangesNothing) {
  WritebackEnv env;
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.AddForest());
  const std::string id = WritebackEnv::CloudId(1);
  ASSERT_EQ(env.Ctl({"mailbox", "add", id, std::string("--forest=") + WritebackEnv::kForest,
                     "--anchor=0badf00d-0000-4000-8000-000000000001"})
                .exit_code,
            0);
  ASSERT_EQ(env.Ctl({"mailbox", "set", id, "extensionAttribute1=before"}).exit_code, 0);
  const std::string mailbox_before = env.Ctl({"mailbox", "get", id}).output;

  // An operator adds bob (read-only) to the tokens file; no restart.
  auto bob_token = controller::NewToken();
  ASSERT_OK(bob_token);
  const std::vector<std::string> bob = TokenEnv(WriteToken(env, "bob", *bob_token));
  std::ofstream(env.admin_tokens_file(), std::ios::app)
      << controller::TokensFileLine("bob", AdminRole::kReadOnly, *bob_token);
  CtlResult list;
  for (absl::Time guard = absl::Now() + absl::Seconds(20); absl::Now() < guard;) {
    list = env.CtlWithEnv(bob, {"forest", "list"});
    if (list.exit_code != kExitNotAllowed) break;
    absl::SleepFor(absl::Milliseconds(200));  // the file is checked at most once a second
  }
  ASSERT_EQ(list.exit_code, 0) << list.output << env.LogsForFailure();
  EXPECT_THAT(list.output, HasSubstr(WritebackEnv::kForest));
  CtlResult get = env.CtlWithEnv(bob, {"mailbox", "get", id});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_THAT(get.output, HasSubstr("extensionAttribute1 = before"));
  EXPECT_EQ(env.CtlWithEnv(bob, {"audit"}).exit_code, 0);  // ListAuditLog reads

  CtlResult add = env.CtlWithEnv(bob, {"forest", "add", "other.example.test"});
  EXPECT_EQ(add.exit_code, kExitNotAllowed) << add.output;
  EXPECT_THAT(add.output, AllOf(HasSubstr("token:bob (read-only)"), HasSubstr("AddForest"),
                                HasSubstr("needs the operator role")));
  CtlResult set = env.CtlWithEnv(bob, {"mailbox", "set", id, "extensionAttribute1=after"});
  EXPECT_EQ(set.exit_code, kExitNotAllowed) << set.output;
  EXPECT_THAT(set.output, AllOf(HasSubstr("token:bob (read-only)"), HasSubstr("UpdateMailbox"),
                                HasSubstr("operator")));
  CtlResult provision = env.CtlWithEnv(bob, {"mailbox", "provision", id});
  EXPECT_EQ(provision.exit_code, kExitNotAllowed) << provision.output;

  // Nothing changed (no agent runs: the mailbox reads exactly as before).
  EXPECT_EQ(env.Ctl({"mailbox", "get", id}).output, mailbox_before);
  EXPECT_THAT(env.Ctl({"forest", "list"}).output, Not(HasSubstr("other.example.test")));

  // The operator may.
  EXPECT_EQ(env.Ctl({"mailbox", "set", id, "extensionAttribute1=after"}).exit_code, 0);
  EXPECT_THAT(env.Ctl({"mailbox", "get", id}).output, HasSubstr("extensionAttribute1 = after"));

  // The audit trail names the principal of every change; bob's refused calls
  // never reached the service, the controller log has them.
  std::vector<v1::AuditRecord> records = AuditRecords(env.Ctl({"audit", "--json"}));
  ASSERT_EQ(records.size(), 4u);  // AddForest, AddMailbox, UpdateMailbox x2
  EXPECT_THAT(Callers(records), Each(std::string("token:local-operator (operator)")));
  std::string log = ReadFileToString(env.controller().log_file()).value_or("");
  EXPECT_THAT(log, AllOf(HasSubstr("refused Admin API call principal=\"token:bob (read-only)\" "
                                   "method=UpdateMailbox"),
                         Not(HasSubstr(*bob_token))));

  // Removing bob's line revokes the token, again without a restart.
  std::string local = ReadFileToString(env.admin_token_file()).value_or("");
  ASSERT_OK(controller::WritePrivateFileAtomically(
      env.admin_tokens_file(),
      controller::TokensFileLine("local-operator", AdminRole::kOperator, local)));
  for (absl::Time guard = absl::Now() + absl::Seconds(20); absl::Now() < guard;) {
    list = env.CtlWithEnv(bob, {"forest", "list"});
    if (list.exit_code != 0) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(list.exit_code, kExitNotAllowed) << list.output;
  EXPECT_THAT(list.output, HasSubstr("token not recognised"));
  EXPECT_EQ(env.Ctl({"forest", "list"}).exit_code, 0);
}

// Gives the test's network namespace the non-loopback address
// kNetworkAddress: on one end of a veth pair (a real interface other than
// lo), or as a second address of lo where veth is not available. Either way
// it is outside 127.0.0.0/8, which is what the controller judges.
absl::Status AddNetworkAddress() {
  // Only in the test's own network namespace (netns_run.sh leaves just lo),
  // never on a host's.
  auto interfaces =
      RunCommand({"/bin/sh", "-c", "ip -o link show | cut -d: -f2 | tr -d ' '"}, absl::Seconds(10));
  if (!interfaces.ok() || *interfaces != "lo\n") {
    return absl::FailedPreconditionError(
        "not in a private network namespace with only lo: run this test through ctest "
        "(tests/fixtures/netns_run.sh)");
  }
  auto veth = RunCommand({"/bin/sh", "-c",
                          absl::StrCat("ip link add wb-admin0 type veth peer name wb-admin1 && "
                                       "ip addr add ", kNetworkAddress, "/24 dev wb-admin0 && "
                                       "ip link set wb-admin0 up && ip link set wb-admin1 up")},
                         absl::Seconds(10));
  if (veth.ok()) return absl::OkStatus();
  return RunCommand({"/bin/sh", "-c", absl::StrCat("ip addr add ", kNetworkAddress, "/32 dev lo")},
                    absl::Seconds(10))
      .status();
}

TEST(AdminAuthTest, BeyondLoopbackOnlyOverTlsWithAdminCertificatesAndTokens) {
  ASSERT_OK(AddNetworkAddress());
  WritebackEnv env;
  env.set_admin_host(kNetworkAddress);
  // Plaintext beyond loopback: refused before anything is written.
  absl::Status plain = env.StartController();
  EXPECT_THAT(plain, StatusIs(absl::StatusCode::kInternal,
                              AllOf(HasSubstr("is not a loopback address"),
                                    HasSubstr("must not cross a network in clear"),
                                    HasSubstr("tls: true"))));
  EXPECT_EQ(Mode(env.admin_tokens_file()), -1);

  const std::string certs = env.cert_dir();
  env.set_controller_config(absl::StrCat(
      "admin_auth { tls: true client_ca_file: \"", certs, "/ca.pem\"\n",
      "  principals { name: \"alice\" role: \"operator\" }\n",
      "  principals { name: \"bob\" role: \"read-only\" } }\n"));
  ASSERT_OK(env.StartController());
  const std::string ca = "--ca_file=" + certs + "/ca.pem";
  auto as = [&](const std::string& name) {
    return std::vector<std::string>{ca, absl::StrCat("--cert_file=", certs, "/", name, ".pem"),
                                    absl::StrCat("--key_file=", certs, "/", name, ".key")};
  };
  auto ctl_as = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> all = as(name);
    all.insert(all.end(), args.begin(), args.end());
    return env.CtlWithEnv({kNoToken}, all);
  };

  // alice: an operator certificate.
  CtlResult add = ctl_as("admin-alice", {"forest", "add", WritebackEnv::kForest,
                                         "--scope_ous=OU=Mailboxes,DC=corp,DC=example,DC=test"});
  EXPECT_EQ(add.exit_code, 0) << add.output << env.LogsForFailure();
  // bob: read-only.
  CtlResult list = ctl_as("admin-bob", {"forest", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr(WritebackEnv::kForest));
  CtlResult pause = ctl_as("admin-bob", {"forest", "pause", WritebackEnv::kForest});
  EXPECT_EQ(pause.exit_code, kExitNotAllowed) << pause.output;
  EXPECT_THAT(pause.output, AllOf(HasSubstr("cert:bob (read-only)"), HasSubstr("PauseForest")));
  // An admin certificate the configuration lists no role for.
  CtlResult unlisted = ctl_as("admin", {"forest", "list"});
  EXPECT_EQ(unlisted.exit_code, kExitNotAllowed) << unlisted.output;
  EXPECT_THAT(unlisted.output,
              AllOf(HasSubstr("writeback://admin/test-admin has no role"),
                    HasSubstr("principals { name: \"test-admin\"")));
  // An agent certificate is never an admin.
  CtlResult agent = ctl_as("agent-1", {"forest", "list"});
  EXPECT_EQ(agent.exit_code, kExitNotAllowed) << agent.output;
  EXPECT_THAT(agent.output, HasSubstr("an agent certificate is not an admin identity"));
  // TLS without any credentials says how to authenticate, certificates too.
  CtlResult none = env.CtlWithEnv({kNoToken}, {ca, "forest", "list"});
  EXPECT_EQ(none.exit_code, kExitNotAllowed) << none.output;
  EXPECT_THAT(none.output, AllOf(HasSubstr("no credentials"), HasSubstr("writeback://admin/NAME")));

  // The local operator's token over TLS.
  CtlResult token = env.Ctl({ca, "forest", "pause", WritebackEnv::kForest, "--reason=test"});
  EXPECT_EQ(token.exit_code, 0) << token.output;
  // writebackctl never sends the token in clear beyond loopback...
  CtlResult clear = env.Ctl({"forest", "list"});
  EXPECT_EQ(clear.exit_code, kExitNotAllowed) << clear.output;
  EXPECT_THAT(clear.output, AllOf(HasSubstr("in clear"), HasSubstr("--ca_file")));
  // ...and a plaintext client cannot talk to the TLS port at all.
  CtlResult plaintext = env.CtlWithEnv({kNoToken}, {"forest", "list"});
  EXPECT_EQ(plaintext.exit_code, kExitUnavailable) << plaintext.output;

  std::vector<v1::AuditRecord> records = AuditRecords(ctl_as("admin-bob", {"audit", "--json"}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].method(), "PauseForest");
  EXPECT_EQ(records[0].caller(), "token:local-operator (operator)");
  EXPECT_EQ(records[1].method(), "AddForest");
  EXPECT_EQ(records[1].caller(), "cert:alice (operator)");
}

}  // namespace
}  // namespace writeback::testing
