// AdminServerOptionsFromConfig (admin_server.h): ControllerConfig.admin_auth
// and admin_listen to the Admin API server's options.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/base/address.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "controller/admin/admin_server.h"

namespace writeback::controller {
namespace {

// `name` in the directory of the store file.
std::string BesideStore(const std::string& store_path, const char* name) {
  std::filesystem::path dir = std::filesystem::path(store_path).parent_path();
  if (dir.empty()) dir = ".";
  return (dir / name).string();
}

}  // namespace

absl::StatusOr<AdminServerOptions> AdminServerOptionsFromConfig(
    const writeback::v1::ControllerConfig& config, const std::string& server_cert_pem,
    const std::string& server_key_pem, Clock* clock) {
  const writeback::v1::AdminAuthConfig& auth = config.admin_auth();
  AdminServerOptions options;
  options.listen = config.admin_listen();
  options.tls = auth.tls();
  if (!options.tls && !IsLoopbackAddress(options.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin_listen: ", options.listen,
        " is not a loopback address, and bearer tokens must not cross a network in clear: "
        "listen on 127.0.0.1 or [::1], or serve the Admin API over TLS with admin_auth { tls: "
        "true } (it uses tls.cert_file and tls.key_file)"));
  }
  if (!auth.client_ca_file().empty() && !options.tls) {
    return absl::InvalidArgumentError(
        "admin_auth.client_ca_file needs admin_auth.tls: true (client certificates come only "
        "over TLS)");
  }
  if (auth.principals_size() > 0 && auth.client_ca_file().empty()) {
    return absl::InvalidArgumentError(
        "admin_auth.principals gives roles to admin certificates, which need "
        "admin_auth.client_ca_file (the CA that verifies them)");
  }
  for (const writeback::v1::AdminPrincipal& p : auth.principals()) {
    if (!IsValidPrincipalName(p.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "admin_auth.principals: name \"", p.name(),
          "\" is not an admin name (1-64 characters of A-Z a-z 0-9 . _ -, as in "
          "writeback://admin/NAME)"));
    }
    absl::StatusOr<AdminRole> role = ParseAdminRole(p.role());
    if (!role.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("admin_auth.principals: ", p.name(),
                                                     ": role \"", p.role(),
                                                     "\" is unknown; use \"read-only\" or "
                                                     "\"operator\""));
    }
    if (!options.certificate_roles.emplace(p.name(), *role).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "admin_auth.principals: ", p.name(), " is listed twice; give it one role"));
    }
  }
  if (options.tls) {
    options.server_cert_pem = server_cert_pem;
    options.server_key_pem = server_key_pem;
  }
  if (!auth.client_ca_file().empty()) {
    WB_ASSIGN_OR_RETURN(options.client_ca_pem, ReadFileToString(auth.client_ca_file()));
  }
  AdminTokens::Options tokens;
  tokens.tokens_file = auth.tokens_file().empty() ? BesideStore(config.store_path(), "admin-tokens")
                                                  : auth.tokens_file();
  tokens.local_token_file = auth.local_token_file().empty()
                                ? BesideStore(config.store_path(), "admin.token")
                                : auth.local_token_file();
  WB_ASSIGN_OR_RETURN(options.tokens, AdminTokens::Open(tokens, clock));
  return options;
}

}  // namespace writeback::controller
