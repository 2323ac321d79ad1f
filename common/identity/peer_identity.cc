#include "common/identity/peer_identity.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace writeback {

absl::StatusOr<AgentIdentity> PeerAgentIdentity(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::PermissionDeniedError("the agent stream needs a client certificate");
  }
  std::string last_error = "the client certificate carries no writeback identity URI";
  for (const auto& san : auth->FindPropertyValues("x509_subject_alternative_name")) {
    std::string uri(san.data(), san.size());
    if (!absl::StartsWithIgnoreCase(uri, "writeback://")) continue;
    auto identity = ParseAgentIdentity(uri);
    if (identity.ok()) return identity;
    last_error = absl::StrCat("certificate identity ", uri, " is not an agent identity: ",
                              identity.status().message());
  }
  return absl::PermissionDeniedError(last_error);
}

}  // namespace writeback
