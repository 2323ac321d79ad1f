// The real agent binding with a keytab (GSSAPI) through the test controller:
// its writes land as the service account, and a wrong keytab stops it at
// start with a message an operator can act on.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_it/agent_it_env.h"
#include "tests/harness/certs.h"
#include "tests/harness/process.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Kerberos(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {FixtureScript("kerberos.sh")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = RunCommand(argv, absl::Seconds(120));  // hang guard
  EXPECT_OK(out);
  std::string text = out.ok() ? *out : "";
  absl::StripTrailingAsciiWhitespace(&text);
  return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

std::string GssapiBlock(const std::string& dir, const std::string& keytab_account,
                        const std::string& principal, const std::string& krb5_conf) {
  return absl::StrCat("ldap {\n  urls: \"ldap://127.0.0.1\"\n  sasl_mechanism: \"GSSAPI\"\n",
                      "  keytab_file: \"", dir, "/kerberos/", keytab_account, ".keytab\"\n",
                      "  principal: \"", principal, "\"\n  krb5_config: \"", krb5_conf,
                      "\"\n  timeout_ms: 3000\n}\n");
}

TEST(AgentKerberosTest, AgentBindsWithItsKeytabAndWritesAsItsOwnAccount) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  std::string krb5_conf = Kerberos({"setup", env.dc().dir()});
  std::string principal = Kerberos({"account", env.dc().dir(), "svc-agent"});
  ASSERT_THAT(principal, HasSubstr("svc-agent@"));
  AgentItEnv::AgentOptions options;
  options.ldap_block = GssapiBlock(env.dc().dir(), "svc-agent", principal, krb5_conf);
  ASSERT_OK(env.StartAgent(options)) << env.AgentLog();
  auto users = env.dc().AddUsers(5, "krb");
  ASSERT_OK(users);
  auto mark = env.AuditMark();
  ASSERT_OK(mark);
  std::vector<v1::Job> jobs;
  for (size_t i = 0; i < users->size(); ++i) {
    jobs.push_back(CasJob(absl::StrCat("krb-", i), (*users)[i],
                          {{"extensionAttribute9", {}, {absl::StrCat("kerberos-", i)}}}));
  }
  auto results = env.Run(jobs);
  ASSERT_OK(results) << env.AgentLog();
  for (size_t i = 0; i < users->size(); ++i) {
    const v1::JobResult& r = results->at(absl::StrCat("krb-", i));
    EXPECT_EQ(r.outcome(), v1::APPLIED) << r.ShortDebugString() << env.AgentLog();
    auto attrs = env.dc().Read((*users)[i].dn, {"extensionAttribute9"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["extensionAttribute9"], ElementsAre(absl::StrCat("kerberos-", i)));
    auto modifies = env.ModifiesSince(*mark, (*users)[i].dn);
    ASSERT_OK(modifies);
    ASSERT_EQ(modifies->size(), 1u);
    // The DC's record: written by the keytab's account, not Administrator (RID 500).
    EXPECT_FALSE(absl::EndsWith((*modifies)[0].user_sid, "-500")) << (*modifies)[0].user_sid;
  }
}

TEST(AgentKerberosTest, WrongKeytabStopsTheAgentWithAClearMessage) {
  AgentItEnv env;
  ASSERT_OK(env.StartDc());
  ASSERT_OK(env.StartController({}));
  std::string krb5_conf = Kerberos({"setup", env.dc().dir()});
  std::string principal = Kerberos({"account", env.dc().dir(), "svc-agent"});
  Kerberos({"account", env.dc().dir(), "other-agent"});
  AgentItEnv::AgentOptions options;
  // svc-agent's principal with other-agent's keys.
  options.ldap_block = GssapiBlock(env.dc().dir(), "other-agent", principal, krb5_conf);
  EXPECT_FALSE(env.StartAgent(options).ok()) << "the agent must not come up";
  auto exit = env.agent().WaitExit(absl::Seconds(30));  // hang guard
  ASSERT_OK(exit);
  EXPECT_FALSE(exit->ok()) << exit->ToString();
  EXPECT_THAT(env.AgentLog(), HasSubstr("svc-agent@"));
  EXPECT_THAT(env.AgentLog(), HasSubstr("keytab"));
}

}  // namespace
}  // namespace writeback::testing
