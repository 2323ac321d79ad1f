#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/base/address.h"
#include "common/base/backoff.h"
#include "common/base/files.h"
#include "common/base/text_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "writeback/v1/config.pb.h"

namespace writeback {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using writeback::testing::StatusIs;

std::string TempDir() {
  char tmpl[] = "/tmp/base_test.XXXXXX";
  return mkdtemp(tmpl);
}

TEST(TextConfigTest, ShippedExamplesParse) {
  v1::ControllerConfig controller;
  ASSERT_OK(LoadTextConfig(std::string(WB_SOURCE_DIR) + "/deploy/examples/controller.conf",
                           &controller));
  EXPECT_EQ(controller.admin_listen(), "127.0.0.1:7444");
  EXPECT_EQ(controller.lease_ms(), 3000u);
  EXPECT_EQ(controller.enroll_listen(), "0.0.0.0:7445");
  EXPECT_EQ(controller.agent_cert_lifetime_s(), 604800u);
  v1::AgentConfig agent;
  ASSERT_OK(LoadTextConfig(std::string(WB_SOURCE_DIR) + "/deploy/examples/agent.conf", &agent));
  EXPECT_EQ(agent.ldap().urls_size(), 2);
  EXPECT_EQ(agent.state_dir(), "/var/lib/writeback-agent");
  EXPECT_FALSE(agent.has_tls());
  EXPECT_EQ(agent.scope_ous(0), "OU=Mailboxes,DC=corp,DC=example,DC=com");
}

TEST(TextConfigTest, UnknownFieldIsNamedWithFileAndLine) {
  v1::AgentConfig agent;
  EXPECT_THAT(ParseTextConfig("controller: \"x:1\"\ncontoller: \"y\"\n", "agent.conf", &agent),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("agent.conf:2"), HasSubstr("contoller"))));
}

TEST(TextConfigTest, WrongTypeErrorQuotesTheLineWithTheField) {
  writeback::v1::AgentConfig agent;
  EXPECT_THAT(
      ParseTextConfig("controller: \"x:1\"\n  max_in_flight: \"lots\"\n", "agent.conf", &agent),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("agent.conf:2:18: Expected integer, got: \"lots\" (in: "
                         "max_in_flight: \\\"lots\\\")")));
}

TEST(FilesTest, PrivateFileReadableByOthersIsRefused) {
  std::string dir = TempDir();
  std::string path = dir + "/secret";
  ASSERT_OK(WriteFileAtomically(path, "s3cret"));
  chmod(path.c_str(), 0644);
  EXPECT_THAT(ReadPrivateFile(path),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
  chmod(path.c_str(), 0600);
  auto content = ReadPrivateFile(path);
  ASSERT_OK(content);
  EXPECT_EQ(*content, "s3cret");
  EXPECT_THAT(ReadFileToString(dir + "/absent"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadFileToString(dir),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Is a directory")));
  std::system(("rm -rf " + dir).c_str());
}

TEST(FilesTest, PrivateFileIsWrittenWithMode0600WhateverTheUmask) {
  std::string dir = TempDir();
  std::string path = dir + "/key";
  mode_t old_umask = umask(0);
  ASSERT_OK(WriteFileAtomically(path + ".tmp", "stale temp file of a crash"));
  absl::Status written = WritePrivateFileAtomically(path, "s3cret");
  umask(old_umask);
  ASSERT_OK(written);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(stat((path + ".tmp").c_str(), &st), 0);  // renamed away
  auto content = ReadPrivateFile(path);
  ASSERT_OK(content);
  EXPECT_EQ(*content, "s3cret");
  ASSERT_OK(WritePrivateFileAtomically(path, "replaced"));
  EXPECT_EQ(*ReadPrivateFile(path), "replaced");
  EXPECT_THAT(WritePrivateFileAtomically(dir + "/absent/key", "x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir + "/absent/key.tmp")));
  std::system(("rm -rf " + dir).c_str());
}

TEST(BackoffTest, GrowsWithJitterUpToTheCapAndResets) {
  Backoff backoff({absl::Milliseconds(100), absl::Seconds(1), 2.0}, /*seed=*/42);
  absl::Duration first = backoff.Next();
  EXPECT_GE(first, absl::Milliseconds(50));
  EXPECT_LE(first, absl::Milliseconds(100));
  for (int i = 0; i < 20; ++i) {
    absl::Duration d = backoff.Next();
    EXPECT_LE(d, absl::Seconds(1));
  }
  EXPECT_GE(backoff.Next(), absl::Milliseconds(500));  // capped, jittered in [max/2, max]
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(100));
}

TEST(AddressTest, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:7444", "127.1.2.3:0", "localhost:7444", "[::1]:7444",
                        "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:7444", "[::]:7444", "10.0.0.1:7444", "ctl.example.com:7444",
                        "128.0.0.1:1", "[::1", "localhost.example.com:1", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(AddressTest, ListenAddresses) {
  for (const char* a : {"127.0.0.1:7443", "0.0.0.0:0", "[::]:7443", "[::1]:65535", "localhost:7443",
                        "ctl.example.com:1", "unix:/run/writeback.sock"}) {
    EXPECT_OK(CheckListenAddress("agent_listen", a)) << a;
  }
  for (const char* a :
       {"", "no-port-here", "127.0.0.1:", ":7443", "127.0.0.1:99999", "127.0.0.1:-1",
        "127.0.0.1:7443x", "[::1]", "[::1]7443", "unix:", "127.0.0.1:0000000001", "bad host:1"}) {
    absl::Status s = CheckListenAddress("agent_listen", a);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << a;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("agent_listen")) << a;
  }
}

}  // namespace
}  // namespace writeback
