#include "agent/enroll/enroll_command.h"

#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/enroll/enroll_client.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace writeback::agent {
namespace {

void Wipe(char* value) { std::memset(value, 'x', std::strlen(value)); }

absl::StatusOr<std::string> HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return absl::InvalidArgumentError("the host name is unknown: give --agent_id");
  }
  std::string host(name);
  return host.substr(0, host.find('.'));  // the short name
}

}  // namespace

void WipeTokenArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    for (const char* flag : {"--token", "-token"}) {
      if (arg == flag && i + 1 < argc) {
        Wipe(argv[i + 1]);
      } else if (absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        Wipe(argv[i] + std::strlen(flag) + 1);
      }
    }
  }
}

absl::Status RunEnrollCommand(const EnrollCommandOptions& o, std::ostream& out) {
  if (o.address.empty()) {
    return absl::InvalidArgumentError(
        "--controller: give the controller's enrollment listener, host:port (port 7445 by "
        "default)");
  }
  EnrollOptions enroll;
  enroll.address = o.address;
  if (!o.token_file.empty()) {
    WB_ASSIGN_OR_RETURN(enroll.token, ReadPrivateFile(o.token_file));
  } else if (!o.token.empty()) {
    enroll.token = o.token;
  } else {
    return absl::InvalidArgumentError(
        "give the join token with --token_file FILE (from writebackctl token create)");
  }
  enroll.agent_id = o.agent_id;
  if (enroll.agent_id.empty()) {
    WB_ASSIGN_OR_RETURN(enroll.agent_id, HostName());
  }
  enroll.forest = o.forest;
  enroll.version = o.version;
  WB_ASSIGN_OR_RETURN(AgentCredentials credentials, Enroll(enroll));
  WB_RETURN_IF_ERROR(SaveCredentials(o.state_dir, credentials));
  out << "enrolled: " << (credentials.info.uri_sans.empty() ? "" : credentials.info.uri_sans[0])
      << "\ncertificate " << credentials.info.serial << " valid until "
      << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", credentials.info.not_after, absl::UTCTimeZone())
      << " (renewed at half-life while the agent runs)\n"
      << "key, certificate and controller CA written to " << o.state_dir << " (mode 0600)\n"
      << "next: writeback-agent run --config=<agent.conf> (with state_dir " << o.state_dir
      << " and no tls section)\n";
  out.flush();
  return absl::OkStatus();
}

}  // namespace writeback::agent
