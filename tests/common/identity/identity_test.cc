#include "common/identity/identity.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback {
namespace {

using ::testing::HasSubstr;
using ::writeback::testing::StatusIs;

auto InvalidWith(std::string_view text) {
  return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(text)));
}

TEST(AgentIdentityTest, ParsesForestAndAgentId) {
  absl::StatusOr<AgentIdentity> id =
      ParseAgentIdentity("writeback://forest/corp.contoso.com/agent/dc1-agent");
  ASSERT_OK(id);
  EXPECT_EQ(id->forest, "corp.contoso.com");
  EXPECT_EQ(id->agent_id, "dc1-agent");
}

TEST(AgentIdentityTest, LowercasesForestButKeepsAgentIdCase) {
  absl::StatusOr<AgentIdentity> id =
      ParseAgentIdentity("WriteBack://forest/CORP.Contoso.COM/agent/Agent_2.b");
  ASSERT_OK(id);
  EXPECT_EQ(id->forest, "corp.contoso.com");
  EXPECT_EQ(id->agent_id, "Agent_2.b");
}

TEST(AgentIdentityTest, UriRoundTrips) {
  const AgentIdentity id{"corp.contoso.com", "a1"};
  EXPECT_EQ(AgentIdentityUri(id), "writeback://forest/corp.contoso.com/agent/a1");
  absl::StatusOr<AgentIdentity> parsed = ParseAgentIdentity(AgentIdentityUri(id));
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->forest, id.forest);
  EXPECT_EQ(parsed->agent_id, id.agent_id);
}

TEST(AgentIdentityTest, AcceptsSingleLabelForestAndMaximalId) {
  EXPECT_OK(ParseAgentIdentity("writeback://forest/corp/agent/" + std::string(64, 'a')));
}

TEST(AgentIdentityTest, RejectsOtherSchemes) {
  EXPECT_THAT(ParseAgentIdentity("https://forest/corp.contoso.com/agent/a1"),
              InvalidWith("agent identity \"https://forest/corp.contoso.com/agent/a1\" does not "
                          "start with writeback://; expected writeback://forest/"));
  EXPECT_THAT(ParseAgentIdentity(""), InvalidWith("does not start with writeback://"));
}

TEST(AgentIdentityTest, RejectsMissingParts) {
  EXPECT_THAT(ParseAgentIdentity("writeback://admin/alice"), InvalidWith("no \"forest/\""));
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/corp.contoso.com"),
              InvalidWith("has no agent part"));
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/corp.contoso.com/host/a1"),
              InvalidWith("no \"agent/\" after the forest"));
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/corp.contoso.com/agent/"),
              InvalidWith("has agent id \"\""));
}

TEST(AgentIdentityTest, RejectsForestThatIsNotADnsName) {
  for (const char* forest : {"", "corp..com", ".corp.com", "corp.com.", "-corp.com", "corp-.com",
                             "corp_x.com", "corp com"}) {
    EXPECT_THAT(ParseAgentIdentity(std::string("writeback://forest/") + forest + "/agent/a1"),
                InvalidWith("which is not a DNS name"))
        << forest;
  }
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/" + std::string(64, 'a') + ".com/agent/a1"),
              InvalidWith("not a DNS name"));
}

TEST(AgentIdentityTest, RejectsBadAgentId) {
  for (const char* agent : {"a/b", "a b", "a:b", "\xC3\xA4"}) {
    EXPECT_THAT(ParseAgentIdentity(std::string("writeback://forest/corp.com/agent/") + agent),
                InvalidWith("an agent id is 1 to 64 characters of A-Z a-z 0-9 . _ -"))
        << agent;
  }
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/corp.com/agent/" + std::string(65, 'a')),
              InvalidWith("1 to 64 characters"));
}

TEST(AgentIdentityTest, MessageEscapesControlCharacters) {
  EXPECT_THAT(ParseAgentIdentity("writeback://forest/corp.com/agent/a\nb"),
              InvalidWith("agent/a\\nb"));
}

TEST(AdminIdentityTest, ParsesName) {
  absl::StatusOr<std::string> name = ParseAdminIdentity("writeback://admin/alice.smith");
  ASSERT_OK(name);
  EXPECT_EQ(*name, "alice.smith");
}

TEST(AdminIdentityTest, RejectsAgentUriAndBadNames) {
  EXPECT_THAT(ParseAdminIdentity("writeback://forest/corp.com/agent/a1"),
              InvalidWith("admin identity \"writeback://forest/corp.com/agent/a1\" has no "
                          "\"admin/\" after the scheme; expected writeback://admin/<name>"));
  EXPECT_THAT(ParseAdminIdentity("writeback://admin/"), InvalidWith("has name \"\""));
  EXPECT_THAT(ParseAdminIdentity("writeback://admin/alice/extra"),
              InvalidWith("an admin name is 1 to 64 characters"));
  EXPECT_THAT(ParseAdminIdentity("spiffe://admin/alice"), InvalidWith("writeback://"));
}

}  // namespace
}  // namespace writeback
