// Issue 6, acceptance 3: least privilege in AD. The recipe of deploy/ad/
// (delegate-samba.sh) gives an ordinary account write access to the
// allowlisted attributes of user objects in the scope OU and nothing else:
// before it runs, the DC refuses the account even an allowlisted write; after
// it, the real agent bound as that account carries writebackctl changes into
// AD (the DC's audit log shows them as that account's SID), and every other
// write sent directly with the account's credentials (another attribute, a
// group's member or allowlisted attribute, an object outside the scope OU)
// is refused by the DC itself
// with insufficientAccessRights (50) and changes nothing.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/attributes/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;
using Mod = SambaDc::Mod;

constexpr char kDomain[] = "@corp.example.test";

// Runs deploy/ad/delegate-samba.sh against the test DC for `account` on the
// scope OU, the attribute list coming from the agent binary itself.
absl::StatusOr<std::string> RunRecipe(WritebackEnv& env, const std::string& account,
                                      const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {WB_DELEGATE_SCRIPT,
                                   "--agent", account,
                                   "--scope-ou", env.ScopeOu(),
                                   "--url", env.dc().url(),
                                   "--admin-dn", env.dc().admin_dn(),
                                   "--admin-password-file", env.dc().admin_password_file(),
                                   "--ca-file", env.dc().ca_file(),
                                   "--agent-bin", WB_AGENT_BIN};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, absl::Seconds(120));  // hang guard
}

// Modify events of `dn` (any status) logged at or after `from`.
std::vector<SambaDc::AuditEvent> ModifiesOf(SambaDc& dc, const std::string& dn, size_t from) {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  std::vector<SambaDc::AuditEvent> out;
  if (!events.ok()) return out;
  for (size_t i = from; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    if (e.operation == "Modify" && !e.performed_as_system && absl::EqualsIgnoreCase(e.dn, dn)) {
      out.push_back(e);
    }
  }
  return out;
}

size_t AuditMark(SambaDc& dc) {
  auto events = dc.AuditEvents();
  EXPECT_OK(events);
  return events.ok() ? events->size() : 0;
}

// A valid value of `spec`'s syntax, for a direct write of every attribute.
std::string ValueFor(const AttributeSpec& spec, const SambaDc::User& user) {
  if (spec.name == "proxyAddresses") return "SMTP:" + user.sam + kDomain;
  if (spec.name == "mail") return user.sam + kDomain;
  switch (spec.syntax) {
    case AttributeSyntax::kInteger:
      return "-2147483642";  // MailUserRemoteUserMailbox
    case AttributeSyntax::kLargeInteger:
      return "2147483648";  // RemoteUserMailbox
    case AttributeSyntax::kBoolean:
      return "TRUE";
    case AttributeSyntax::kUnicodeString:
      break;
  }
  return "direct-" + std::string(spec.name);
}

TEST(LeastPrivilegeTest, DelegatedAccountWritesOnlyAllowlistedAttributesOfUsersInScope) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  SambaDc& dc = env.dc();
  auto users = dc.AddUsers(3, "lp");
  ASSERT_OK(users);
  auto outside = dc.AddUsers(1, "lpout", "OU=Outside");
  ASSERT_OK(outside);
  auto group = dc.AddGroup("lp-group");
  ASSERT_OK(group);
  auto account = dc.AddAccount("svc-writeback", /*domain_admin=*/false);
  ASSERT_OK(account);

  // The recipe is needed: an ordinary account may not write an allowlisted
  // attribute of a user in scope.
  absl::Status before = dc.ModifyOpsAs(*account, (*users)[0].dn,
                                       {{Mod::Op::kReplace, "extensionAttribute1", {"before"}}});
  EXPECT_THAT(SambaDc::LdapResultCode(before), Optional(50)) << before;

  // The attribute list is the agent's own: the 24 of the default set.
  auto printed = RunCommand({WB_AGENT_BIN, "--print_allowlist"}, absl::Seconds(30));
  ASSERT_OK(printed);
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(*printed, '\n', absl::SkipEmpty())),
              ElementsAreArray(AttributeCatalog::Default().DefaultAllowlist()));

  auto check = RunRecipe(env, "svc-writeback", {"--check"});
  EXPECT_FALSE(check.ok()) << "--check passed before the recipe ran: " << *check;
  auto granted = RunRecipe(env, "svc-writeback");
  ASSERT_OK(granted);
  EXPECT_THAT(*granted, HasSubstr("granted svc-writeback"));
  // Re-running adds nothing; --check now passes (by DN as well as by name).
  auto again = RunRecipe(env, account->dn);
  ASSERT_OK(again);
  EXPECT_THAT(*again, HasSubstr("all 24 ACEs present"));
  auto checked = RunRecipe(env, "svc-writeback", {"--check"});
  EXPECT_OK(checked);

  // Directly with the account's credentials, all 24 attributes in one modify:
  // one missing grant would refuse the whole operation.
  const SambaDc::User& direct = (*users)[2];
  std::vector<Mod> all;
  for (const std::string& name : AttributeCatalog::Default().DefaultAllowlist()) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    ASSERT_NE(spec, nullptr) << name;
    all.push_back({Mod::Op::kReplace, name, {ValueFor(*spec, direct)}});
  }
  ASSERT_EQ(all.size(), 24u);
  size_t mark = AuditMark(dc);
  EXPECT_OK(dc.ModifyOpsAs(*account, direct.dn, all));
  auto direct_values = dc.Read(direct.dn, {"extensionAttribute15", "msExchRecipientTypeDetails",
                                           "msExchExtensionCustomAttribute5"});
  ASSERT_OK(direct_values);
  EXPECT_THAT((*direct_values)["extensionAttribute15"], ElementsAre("direct-extensionAttribute15"));
  EXPECT_THAT((*direct_values)["msExchRecipientTypeDetails"], ElementsAre("2147483648"));
  EXPECT_THAT((*direct_values)["msExchExtensionCustomAttribute5"],
              ElementsAre("direct-msExchExtensionCustomAttribute5"));
  auto direct_events = ModifiesOf(dc, direct.dn, mark);
  ASSERT_EQ(direct_events.size(), 1u);
  EXPECT_EQ(direct_events[0].status_code, 0);
  EXPECT_EQ(direct_events[0].user_sid, account->sid);

  // The real agent bound as that account carries changes from writebackctl.
  ASSERT_OK(env.StartController());
  WritebackEnv::AgentOptions agent;
  agent.bind_dn = account->dn;
  agent.password_file = account->password_file;
  ASSERT_OK(env.StartAgent(1, agent));
  std::vector<SambaDc::User> managed = {(*users)[0], (*users)[1]};
  auto ids = env.RegisterMailboxes(managed);
  ASSERT_OK(ids);
  mark = AuditMark(dc);
  const std::string alias = "smtp:" + managed[1].sam + ".alias" + kDomain;
  const std::string primary = "SMTP:" + managed[1].sam + kDomain;
  CtlResult set0 = env.Ctl({"mailbox", "set", (*ids)[0], "extensionAttribute1=lp-gen1",
                            "msExchExtensionCustomAttribute1:=a-gen1",
                            "msExchExtensionCustomAttribute1:=b-gen1",
                            "msExchRecipientTypeDetails=2147483648",
                            "msExchRecipientDisplayType=-2147483642"});
  ASSERT_EQ(set0.exit_code, 0) << set0.output;
  CtlResult set1 = env.Ctl({"mailbox", "set", (*ids)[1], "proxyAddresses:=" + primary,
                            "proxyAddresses:=" + alias, "extensionAttribute7=lp-gen1"});
  ASSERT_EQ(set1.exit_code, 0) << set1.output;
  CtlResult waited = env.Ctl({"mailbox", "wait", (*ids)[0], (*ids)[1], "--timeout_s=90"});
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();
  auto v0 = dc.Read(managed[0].dn, {"extensionAttribute1", "msExchExtensionCustomAttribute1",
                                    "msExchRecipientTypeDetails", "msExchRecipientDisplayType"});
  ASSERT_OK(v0);
  EXPECT_THAT((*v0)["extensionAttribute1"], ElementsAre("lp-gen1"));
  EXPECT_THAT((*v0)["msExchExtensionCustomAttribute1"], UnorderedElementsAre("a-gen1", "b-gen1"));
  EXPECT_THAT((*v0)["msExchRecipientTypeDetails"], ElementsAre("2147483648"));
  EXPECT_THAT((*v0)["msExchRecipientDisplayType"], ElementsAre("-2147483642"));
  auto v1 = dc.Read(managed[1].dn, {"proxyAddresses", "extensionAttribute7"});
  ASSERT_OK(v1);
  EXPECT_THAT((*v1)["proxyAddresses"], UnorderedElementsAre(primary, alias));
  EXPECT_THAT((*v1)["extensionAttribute7"], ElementsAre("lp-gen1"));
  for (const auto& u : managed) {
    auto events = ModifiesOf(dc, u.dn, mark);
    EXPECT_THAT(events, Not(IsEmpty())) << u.dn;
    for (const auto& e : events) {
      EXPECT_EQ(e.user_sid, account->sid) << "a write of " << u.dn << " not by the agent account";
      EXPECT_EQ(e.status_code, 0) << e.status;
    }
  }

  // Every other write with the account's credentials is refused by the DC.
  auto uac = dc.Read(managed[0].dn, {"userAccountControl"});
  ASSERT_OK(uac);
  ASSERT_EQ((*uac)["userAccountControl"].size(), 1u);
  const std::string disabled =
      std::to_string(std::stoll((*uac)["userAccountControl"][0]) ^ 0x2);  // ACCOUNTDISABLE
  struct Attempt {
    std::string what, dn;
    Mod mod;
  };
  const std::vector<Attempt> attempts = {
      {"description of a user in scope", managed[0].dn,
       {Mod::Op::kReplace, "description", {"not delegated"}}},
      {"userAccountControl of a user in scope", managed[0].dn,
       {Mod::Op::kReplace, "userAccountControl", {disabled}}},
      {"member of a group in scope", *group, {Mod::Op::kAdd, "member", {managed[0].dn}}},
      {"an allowlisted attribute of a group in scope (the grant is for user objects)", *group,
       {Mod::Op::kReplace, "extensionAttribute1", {"group"}}},
      {"an allowlisted attribute of a user outside the scope OU", (*outside)[0].dn,
       {Mod::Op::kReplace, "extensionAttribute1", {"outside"}}},
  };
  mark = AuditMark(dc);
  for (const Attempt& a : attempts) {
    absl::Status s = dc.ModifyOpsAs(*account, a.dn, {a.mod});
    EXPECT_THAT(SambaDc::LdapResultCode(s), Optional(50)) << a.what << ": " << s;
  }
  auto after0 = dc.Read(managed[0].dn, {"description", "userAccountControl"});
  ASSERT_OK(after0);
  EXPECT_THAT((*after0)["description"], IsEmpty());
  EXPECT_EQ((*after0)["userAccountControl"], (*uac)["userAccountControl"]);
  auto group_values = dc.Read(*group, {"member", "extensionAttribute1"});
  ASSERT_OK(group_values);
  EXPECT_THAT((*group_values)["member"], IsEmpty());
  EXPECT_THAT((*group_values)["extensionAttribute1"], IsEmpty());
  auto out_values = dc.Read((*outside)[0].dn, {"extensionAttribute1"});
  ASSERT_OK(out_values);
  EXPECT_THAT((*out_values)["extensionAttribute1"], IsEmpty());
  // The audit log: each attempt reached the DC once, as the account, refused.
  for (const std::string& dn : {managed[0].dn, *group, (*outside)[0].dn}) {
    for (const auto& e : ModifiesOf(dc, dn, mark)) {
      EXPECT_EQ(e.status_code, 50) << dn << " changed: " << e.status;
      EXPECT_EQ(e.user_sid, account->sid) << dn;
    }
  }
  EXPECT_EQ(ModifiesOf(dc, managed[0].dn, mark).size(), 2u);
  EXPECT_EQ(ModifiesOf(dc, *group, mark).size(), 2u);
  EXPECT_EQ(ModifiesOf(dc, (*outside)[0].dn, mark).size(), 1u);
}

}  // namespace
}  // namespace writeback::testing
