// Facts about a store file read without opening it with SQLite (opening a
// database can write to it, and a fixture must stay as its writer left it).
#ifndef WRITEBACK_TESTS_COMPAT_STORE_FILE_H_
#define WRITEBACK_TESTS_COMPAT_STORE_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace writeback::testing {

// The store schema version of the SQLite file at `path`: its PRAGMA
// user_version, the big-endian 32-bit integer at byte 60 of the database
// header. kFailedPrecondition when the file is not a SQLite database.
absl::StatusOr<int> StoreFileSchemaVersion(const std::string& path);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_COMPAT_STORE_FILE_H_
