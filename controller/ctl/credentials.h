// How writebackctl reaches and authenticates to the Admin API: the
// controller's address, TLS files and the bearer token file, gathered from
// flags, the environment and a small configuration file, and the channel
// built from them (the token goes in every call's "authorization: Bearer"
// metadata).
//
//   CtlSettings flags;
//   flags.token_file = absl::GetFlag(FLAGS_token_file);  // "" when not given
//   WB_ASSIGN_OR_RETURN(CtlSettings settings,
//                       ResolveCtlSettings(flags, "", CtlEnvironment::FromProcess()));
//   WB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenAdminChannel(settings));
//   auto stub = writeback::v1::AdminService::NewStub(channel);
//
// A token is only ever read from a file (never argv or the environment), with
// ReadPrivateFile: a file group or others may access is refused with the
// chmod to run. A token is never sent in clear to a non-loopback address.
#ifndef WRITEBACK_CONTROLLER_CTL_CREDENTIALS_H_
#define WRITEBACK_CONTROLLER_CTL_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace writeback::ctl {

// Exit code of writebackctl when the controller refused the credentials
// (UNAUTHENTICATED) or the role (PERMISSION_DENIED), or writebackctl could
// not use its settings or credential files.
inline constexpr int kExitNotAllowed = 5;

// True for UNAUTHENTICATED and PERMISSION_DENIED.
bool IsAuthFailure(const grpc::Status& status);

// Empty fields are "not given".
struct CtlSettings {
  std::string controller;  // host:port of the Admin API
  std::string token_file;  // the bearer token (mode 0600)
  std::string ca_file;     // TLS to the controller, verified with this CA
  std::string cert_file;   // TLS: admin client certificate (writeback://admin/NAME)
  std::string key_file;    // ... and its key (mode 0600)
};

// The environment writebackctl reads.
struct CtlEnvironment {
  std::string controller;  // WRITEBACK_CONTROLLER
  std::string token_file;  // WRITEBACKCTL_TOKEN_FILE
  std::string config;      // WRITEBACKCTL_CONFIG
  std::string home;        // HOME

  static CtlEnvironment FromProcess();
};

// Parses a writebackctl configuration file: "key = value" lines with the
// keys controller, token_file, ca_file, cert_file and key_file; '#' starts a
// comment line; blank lines are ignored. Relative paths are taken from
// `file_name`'s directory. kInvalidArgument naming file:line otherwise.
absl::StatusOr<CtlSettings> ParseCtlConfig(absl::string_view text, const std::string& file_name);

// Each setting from the first source that gives it: `flags`; the
// environment (WRITEBACK_CONTROLLER, WRITEBACKCTL_TOKEN_FILE); the
// configuration file (`config_flag`, else WRITEBACKCTL_CONFIG, else
// $HOME/.config/writeback/writebackctl.conf when it exists); the controller
// defaults to 127.0.0.1:7444. A configuration file named by the flag or
// the environment must exist.
absl::StatusOr<CtlSettings> ResolveCtlSettings(const CtlSettings& flags,
                                               const std::string& config_flag,
                                               const CtlEnvironment& environment);

// A channel to settings.controller: TLS when ca_file is set (with the client
// certificate when cert_file is), plaintext otherwise; the token of
// token_file in every call. Errors name the file or setting at fault: an
// unreadable or empty file, a token file group or others may access, a
// certificate without key or CA, a token for a non-loopback address without
// TLS.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenAdminChannel(
    const CtlSettings& settings, const grpc::ChannelArguments& arguments = {});

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_CREDENTIALS_H_
