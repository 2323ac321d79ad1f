#include "controller/ctl/trust_commands.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "controller/ctl/output.h"
#include "controller/ctl/table.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

std::string When(int64_t ms) { return ms == 0 ? "-" : FormatTimeMs(ms); }

std::vector<std::string> TokenRow(const v1::JoinToken& t) {
  return {t.token_id(),         t.forest(),     t.state(),
          When(t.created_ms()), t.created_by(), When(t.expires_ms()),
          When(t.used_ms()),    t.used_by(),    When(t.revoked_ms())};
}

Table TokenTable() {
  return Table({"TOKEN_ID", "FOREST", "STATE", "CREATED (UTC)", "BY", "EXPIRES (UTC)", "USED (UTC)",
                "USED_BY", "REVOKED (UTC)"});
}

void PrintToken(const v1::JoinToken& t) {
  std::cout << t.token_id() << "  " << t.forest() << "  " << t.state() << "  created "
            << When(t.created_ms()) << " by " << t.created_by() << "  expires "
            << When(t.expires_ms());
  if (t.used_ms() != 0) std::cout << "  used " << When(t.used_ms()) << " by " << t.used_by();
  if (t.revoked_ms() != 0) std::cout << "  revoked " << When(t.revoked_ms());
  std::cout << "\n";
}

int CreateToken(v1::AdminService::Stub& stub, const TrustFlags& flags,
                const LogCommandHooks& hooks) {
  if (flags.forest.empty()) return hooks.usage("token create: --forest is required");
  if (flags.ttl <= absl::ZeroDuration()) return hooks.usage("--ttl: give a positive duration");
  v1::CreateJoinTokenRequest request;
  request.set_forest(flags.forest);
  request.set_ttl_s(static_cast<uint32_t>(absl::ToInt64Seconds(flags.ttl)));
  v1::CreateJoinTokenResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.CreateJoinToken(&context, request, &response); !s.ok()) {
    return hooks.report(s);
  }
  if (!flags.output.empty()) {
    if (absl::Status s = WritePrivateFileAtomically(flags.output, response.token() + "\n");
        !s.ok()) {
      std::cerr << "writebackctl: the token was created but could not be written: " << s.message()
                << "; revoke it: writebackctl token revoke " << response.info().token_id()
                << std::endl;
      return kExitFailed;
    }
  }
  if (flags.json) return PrintJson(response), kExitOk;
  if (flags.output.empty()) std::cout << response.token() << std::endl;
  std::cerr << "join token " << response.info().token_id() << " for forest "
            << response.info().forest() << ", single use, valid until "
            << When(response.info().expires_ms()) << " UTC\n"
            << "controller CA pin (sha256): " << response.ca_pin() << "\n"
            << (flags.output.empty() ? "" : absl::StrCat("written to ", flags.output, " (0600)\n"))
            << "on the agent's server: writeback-agent enroll --controller=HOST:7445 "
               "--token_file=FILE"
            << std::endl;
  return kExitOk;
}

void PrintCa(const v1::CertificateAuthority& ca) {
  std::cout << "CA fingerprint (sha256)  " << ca.fingerprint() << "\n"
            << "valid until              " << When(ca.not_after_ms()) << "\n";
  if (ca.next_fingerprint().empty()) {
    std::cout << "rotation                 none\n";
  } else {
    std::cout << "rotation                 under way: new CA " << ca.next_fingerprint()
              << " issues agent certificates\n"
              << "agents still on old CA   "
              << (ca.agents_on_old_ca().empty() ? "none: writebackctl ca rotate --finish"
                                                : absl::StrJoin(ca.agents_on_old_ca(), ", "))
              << "\n";
  }
  std::cout.flush();
}

}  // namespace

int RunTokenCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                    const TrustFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() == 2 && args[1] == "create") return CreateToken(stub, flags, hooks);
  grpc::ClientContext context;
  SetDeadline(&context);
  if (args.size() == 2 && args[1] == "list") {
    v1::ListJoinTokensRequest request;
    request.set_forest(flags.forest);
    v1::ListJoinTokensResponse response;
    if (auto s = stub.ListJoinTokens(&context, request, &response); !s.ok()) {
      return hooks.report(s);
    }
    if (flags.json) return PrintJson(response), kExitOk;
    Table table = TokenTable();
    for (const auto& t : response.tokens()) table.AddRow(TokenRow(t));
    std::cout << table.Render();
    std::cout.flush();
    return kExitOk;
  }
  if (args.size() == 3 && args[1] == "revoke") {
    v1::RevokeJoinTokenRequest request;
    request.set_token_id(args[2]);
    v1::JoinToken token;
    if (auto s = stub.RevokeJoinToken(&context, request, &token); !s.ok()) return hooks.report(s);
    if (flags.json) return PrintJson(token), kExitOk;
    PrintToken(token);
    std::cout.flush();
    return kExitOk;
  }
  return hooks.usage(
      "token: expected 'token create --forest=F', 'token list' or "
      "'token revoke TOKEN_ID'");
}

int RunAgentRevokeCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                          const TrustFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() != 3) return hooks.usage("agent revoke: expected one AGENT_ID");
  v1::RevokeAgentRequest request;
  request.set_agent_id(args[2]);
  request.set_reason(flags.reason);
  v1::Agent agent;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.RevokeAgent(&context, request, &agent); !s.ok()) return hooks.report(s);
  if (flags.json) return PrintJson(agent), kExitOk;
  std::cout << "agent " << agent.agent_id() << " revoked at " << When(agent.revoked_ms())
            << ": its certificates are refused and its streams were cut; "
               "enroll it again with "
               "a new token to let it back"
            << std::endl;
  return kExitOk;
}

int RunCaCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                 const TrustFlags& flags, const LogCommandHooks& hooks) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::CertificateAuthority ca;
  if (args.size() == 1 || (args.size() == 2 && args[1] == "show")) {
    if (auto s = stub.GetCertificateAuthority(&context, {}, &ca); !s.ok()) return hooks.report(s);
  } else if (args.size() == 2 && args[1] == "rotate") {
    v1::RotateCertificateAuthorityRequest request;
    request.set_finish(flags.finish);
    request.set_force(flags.force);
    if (auto s = stub.RotateCertificateAuthority(&context, request, &ca); !s.ok()) {
      return hooks.report(s);
    }
  } else {
    return hooks.usage("ca: expected 'ca', 'ca show' or 'ca rotate [--finish [--force]]'");
  }
  if (flags.json) return PrintJson(ca), kExitOk;
  PrintCa(ca);
  return kExitOk;
}

}  // namespace writeback::ctl
