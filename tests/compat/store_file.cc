#include "tests/compat/store_file.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace writeback::testing {

absl::StatusOr<int> StoreFileSchemaVersion(const std::string& path) {
  WB_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  // https://www.sqlite.org/fileformat.html: a 100-byte header that starts
  // with "SQLite format 3\0"; the user version is at offset 60.
  if (bytes.size() < 100 || !absl::StartsWith(bytes, std::string("SQLite format 3\0", 16))) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a SQLite database"));
  }
  uint32_t v = 0;
  for (int i = 60; i < 64; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<int>(v);
}

}  // namespace writeback::testing
