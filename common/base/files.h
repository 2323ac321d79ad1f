// Small file helpers shared by both binaries.
//
//   WB_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(options.cert_file));
//   WB_ASSIGN_OR_RETURN(std::string key, ReadPrivateFile(options.key_file));
#ifndef WRITEBACK_COMMON_BASE_FILES_H_
#define WRITEBACK_COMMON_BASE_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace writeback {

// Reads a whole file. kNotFound / kPermissionDenied name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Reads a secret (private key, password): refuses, with kPermissionDenied and
// a message saying to chmod 600, a file that group or others may read or
// write. The content is never logged.
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path);

// Writes `content` to `path` atomically (temp file + rename).
absl::Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_FILES_H_
