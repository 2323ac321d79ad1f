#include "agent/directory/secret_file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::writeback::testing::StatusIs;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/secret_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink(Path().c_str());
    rmdir(dir_.c_str());
  }
  std::string Path() const { return dir_ + "/password"; }
  void Write(const std::string& content, mode_t mode) {
    { std::ofstream(Path(), std::ios::binary | std::ios::trunc) << content; }
    ASSERT_EQ(chmod(Path().c_str(), mode), 0);
  }
  std::string dir_;
};

TEST_F(SecretFileTest, ReadsAndStripsOneTrailingNewline) {
  Write("s3cret\n", 0600);
  absl::StatusOr<std::string> secret = ReadSecretFile(Path());
  ASSERT_OK(secret);
  EXPECT_EQ(*secret, "s3cret");
  Write("two\n\n", 0400);
  EXPECT_EQ(ReadSecretFile(Path()).value(), "two\n");
  Write("crlf\r\n", 0600);
  EXPECT_EQ(ReadSecretFile(Path()).value(), "crlf");
}

TEST_F(SecretFileTest, RefusesFilesOthersCanReadWithoutLeakingThem) {
  Write("s3cret\n", 0640);
  EXPECT_THAT(ReadSecretFile(Path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("chmod 600"), HasSubstr(Path()), Not(HasSubstr("s3cret")))));
  Write("s3cret\n", 0602);
  EXPECT_THAT(ReadSecretFile(Path()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SecretFileTest, MissingOrEmptyFile) {
  EXPECT_THAT(ReadSecretFile(Path()), StatusIs(absl::StatusCode::kNotFound, HasSubstr(Path())));
  Write("\n", 0600);
  EXPECT_THAT(ReadSecretFile(Path()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadSecretFile(dir_), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace writeback::agent
