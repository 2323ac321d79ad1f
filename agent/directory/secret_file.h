// Reads a secret (the LDAP bind password) from a file that only its owner may
// read: the way secrets reach the agent without appearing in argv, the
// environment or the configuration file.
//
//   WB_ASSIGN_OR_RETURN(std::string password,
//                       ReadSecretFile("/etc/writeback/ldap.password"));
#ifndef WRITEBACK_AGENT_DIRECTORY_SECRET_FILE_H_
#define WRITEBACK_AGENT_DIRECTORY_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace writeback::agent {

// Returns the file's content without one trailing "\n" (or "\r\n").
// Errors (the messages name the path, never the content):
//   kNotFound / kPermissionDenied  the file cannot be opened;
//   kFailedPrecondition            not a regular file, or readable or
//                                  writable by group or others ("chmod 600");
//   kInvalidArgument               empty after stripping the newline.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_SECRET_FILE_H_
