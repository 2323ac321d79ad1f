// Small file helpers shared by both binaries.
//
//   WB_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(options.cert_file));
//   WB_ASSIGN_OR_RETURN(std::string key, ReadPrivateFile(options.key_file));
//   WB_RETURN_IF_ERROR(WritePrivateFileAtomically(dir + "/server.key", key_pem));
#ifndef WRITEBACK_COMMON_BASE_FILES_H_
#define WRITEBACK_COMMON_BASE_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace writeback {

// Reads a whole file. kNotFound / kPermissionDenied / kFailedPrecondition (a
// directory) name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Reads a secret (private key, password): refuses, with kPermissionDenied and
// a message saying to chmod 600, a file that group or others may read or
// write. The content is never logged.
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path);

// Writes `content` to `path` atomically (temp file + rename).
absl::Status WriteFileAtomically(const std::string& path, const std::string& content);

// Writes a secret to `path` atomically: a temp file beside it is created
// with mode 0600 from the start (never wider, whatever the umask), written
// and flushed to disk, then renamed over `path`. A stale temp file of an
// earlier crash is replaced. The content is never logged.
absl::Status WritePrivateFileAtomically(const std::string& path, const std::string& content);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_FILES_H_
