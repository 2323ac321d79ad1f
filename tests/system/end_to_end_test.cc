// Acceptance (issue 2, #2): 100 mailboxes changed through writebackctl reach
// AD, and the DC's own audit log shows that the agent touched only the
// changed allowlisted attributes of those objects.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/system/writeback_env.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

using ::testing::UnorderedElementsAre;

constexpr int kMailboxes = 100;

TEST(EndToEndTest, HundredMailboxesReachAdAndTouchOnlyChangedAttributes) {
  WritebackEnv env;
  ASSERT_OK(env.StartDc());
  auto users = env.dc().AddUsers(kMailboxes);
  ASSERT_OK(users);
  auto before = env.dc().AuditEvents();
  ASSERT_OK(before);
  ASSERT_OK(env.StartController());
  ASSERT_OK(env.StartAgent(1));
  auto ids = env.RegisterMailboxes(*users);
  ASSERT_OK(ids);

  for (int i = 0; i < kMailboxes; ++i) {
    const std::string& sam = (*users)[i].sam;
    CtlResult r = env.Ctl(
        {"mailbox", "set", (*ids)[i],
         absl::StrCat("proxyAddresses:=SMTP:", sam, ".new@corp.example.test"),
         absl::StrCat("proxyAddresses:=smtp:", sam, "@corp.example.test"),
         absl::StrCat("mail=", sam, ".new@corp.example.test"),
         absl::StrCat("extensionAttribute1=gen-1-", i), "msExchRecipientTypeDetails=2147483648"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::vector<std::string> wait = {"mailbox", "wait", "--timeout_s=120"};  // hang guard
  wait.insert(wait.end(), ids->begin(), ids->end());
  CtlResult waited = env.Ctl(wait);
  ASSERT_EQ(waited.exit_code, 0) << waited.output << env.LogsForFailure();

  // The oracle: an independent LDAP read of every object.
  for (int i = 0; i < kMailboxes; ++i) {
    const std::string& sam = (*users)[i].sam;
    auto attrs = env.dc().Read((*users)[i].dn, {"proxyAddresses", "mail", "extensionAttribute1",
                                                "msExchRecipientTypeDetails"});
    ASSERT_OK(attrs);
    EXPECT_THAT((*attrs)["proxyAddresses"],
                UnorderedElementsAre(absl::StrCat("SMTP:", sam, ".new@corp.example.test"),
                                     absl::StrCat("smtp:", sam, "@corp.example.test")));
    EXPECT_THAT((*attrs)["mail"], UnorderedElementsAre(sam + ".new@corp.example.test"));
    EXPECT_THAT((*attrs)["extensionAttribute1"], UnorderedElementsAre(absl::StrCat("gen-1-", i)));
    EXPECT_THAT((*attrs)["msExchRecipientTypeDetails"], UnorderedElementsAre("2147483648"));
  }

  // The DC's audit log: every write since the agent started is a successful
  // Modify of one of the 100 objects, touching only the changed attributes.
  auto events = env.dc().AuditEvents();
  ASSERT_OK(events);
  std::set<std::string> dns, modified;
  for (const auto& u : *users) dns.insert(absl::AsciiStrToLower(u.dn));
  const std::set<std::string> changed = {"proxyaddresses", "mail", "extensionattribute1",
                                         "msexchrecipienttypedetails"};
  int modifies = 0;
  for (size_t i = before->size(); i < events->size(); ++i) {
    const auto& e = (*events)[i];
    if (e.performed_as_system) continue;  // the DC's own housekeeping
    EXPECT_EQ(e.operation, "Modify") << e.dn;
    std::string dn = absl::AsciiStrToLower(e.dn);
    EXPECT_TRUE(dns.count(dn)) << "write outside the changed objects: " << e.dn;
    for (const auto& [name, actions] : e.attributes) {
      EXPECT_TRUE(changed.count(absl::AsciiStrToLower(name)))
          << "attribute " << name << " of " << e.dn << " was touched";
    }
    EXPECT_EQ(e.status_code, 0) << "failed write of " << e.dn << ": " << e.status;
    modifies++;
    modified.insert(dn);
  }
  EXPECT_EQ(modified.size(), static_cast<size_t>(kMailboxes)) << "every object written";
  // One change per mailbox: exactly one modify each (no retries, no rewrites).
  EXPECT_EQ(modifies, kMailboxes);
}

}  // namespace
}  // namespace writeback::testing
