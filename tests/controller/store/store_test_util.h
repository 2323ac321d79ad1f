// Helpers for the store tests: a private temporary directory per test and
// small record builders.
#ifndef WRITEBACK_TESTS_CONTROLLER_STORE_STORE_TEST_UTIL_H_
#define WRITEBACK_TESTS_CONTROLLER_STORE_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "controller/store/store.h"
#include "gtest/gtest.h"

namespace writeback::controller::testing {

// A fresh directory under the test's temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "wb_store_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 16 anchor bytes derived from `n`, including a zero byte and high bytes.
inline std::string Anchor(uint8_t n) {
  std::string anchor(16, '\0');
  for (int i = 0; i < 16; ++i) anchor[i] = static_cast<char>(0xf0 + i + n);
  anchor[5] = '\0';
  return anchor;
}

inline MailboxRecord NewMailbox(const std::string& cloud_id, const std::string& forest,
                                const std::string& anchor) {
  MailboxRecord m;
  m.cloud_id = cloud_id;
  m.forest = forest;
  m.source_anchor = anchor;
  m.status = writeback::v1::PENDING;
  return m;
}

}  // namespace writeback::controller::testing

#endif  // WRITEBACK_TESTS_CONTROLLER_STORE_STORE_TEST_UTIL_H_
