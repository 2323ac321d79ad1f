#include "controller/ctl/provision_commands.h"
#include "controller/ctl/credentials.h"
#include "controller/ctl/output.h"

#include <chrono>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

std::string Values(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return values.empty() ? "(none)" : absl::StrJoin(values, "; ");
}

}  // namespace

std::string FormatProvisionResult(const v1::ProvisionNowResponse& r) {
  std::string out = absl::StrCat("mailbox ", r.cloud_id(), "  agent ",
                                 r.agent_id().empty() ? "-" : r.agent_id(), "  generation ",
                                 r.generation(), "\n");
  if (!r.dn().empty()) absl::StrAppend(&out, "dn ", r.dn(), "\n");
  absl::StrAppend(&out, "\n", absl::StrFormat("%-8s %-8s %s\n", "STEP", "STATUS", "DETAIL"));
  for (const auto& s : r.steps()) {
    absl::StrAppend(&out, absl::StrFormat("%-8s %-8s %s\n", s.name(), s.status(), s.detail()));
  }
  if (!r.modified().empty()) {
    size_t width = 8;
    for (const auto& p : r.modified()) width = std::max(width, p.name().size());
    absl::StrAppend(&out, "\n",
                    absl::StrFormat("%-*s  %s  ->  %s\n", width, "PROPERTY", "OLD", "NEW"));
    for (const auto& p : r.modified()) {
      absl::StrAppend(&out, absl::StrFormat("%-*s  %s  ->  %s\n", width, p.name(),
                                            Values(p.old_values()), Values(p.new_values())));
    }
  }
  absl::StrAppend(&out, "\noutcome ", v1::Outcome_Name(r.outcome()));
  if (r.ldap_code() != 0) absl::StrAppend(&out, "  LDAP ", r.ldap_code());
  absl::StrAppend(&out, "  in ", r.duration_ms(), " ms; mailbox now ",
                  v1::MailboxStatus_Name(r.status()), "\n");
  if (!r.diagnostic().empty()) absl::StrAppend(&out, "diagnostic ", r.diagnostic(), "\n");
  if (!r.job_id().empty() || !r.read_id().empty()) {
    absl::StrAppend(&out, "log: writebackctl log --mailbox=", r.cloud_id(), "  (read ",
                    r.read_id(), r.job_id().empty() ? "" : ", job " + r.job_id(), ")\n");
  }
  return out;
}

int ProvisionExitCode(const v1::ProvisionNowResponse& r) {
  return r.outcome() == v1::APPLIED || r.outcome() == v1::ALREADY_IN_STATE ? 0 : 1;
}

int RunProvisionCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                        const ProvisionFlags& flags,
                        const std::function<int(const std::string&)>& usage) {
  const bool alias = !args.empty() && args[0] == "provision-now";
  const size_t id_at = alias ? 1 : 2;
  if (args.size() != id_at + 1) {
    return usage(alias ? "provision-now: expected 'provision-now CLOUD_ID'"
                       : "mailbox provision: expected 'mailbox provision CLOUD_ID'");
  }
  if (flags.timeout <= absl::ZeroDuration() || flags.timeout > absl::Minutes(10)) {
    return usage("--timeout: give a duration between 1ms and 10m, e.g. --timeout=30s");
  }
  v1::ProvisionNowRequest request;
  request.set_cloud_id(args[id_at]);
  request.set_timeout_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(flags.timeout)));
  v1::ProvisionNowResponse response;
  grpc::ClientContext context;
  // The controller answers within the timeout; the margin covers the wire.
  context.set_deadline(absl::ToChronoTime(absl::Now() + flags.timeout + absl::Seconds(5)));
  grpc::Status s = stub.ProvisionNow(&context, request, &response);
  if (!s.ok()) {
    std::cerr << "writebackctl: provision on demand of mailbox " << args[id_at] << " failed ("
              << absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code()))
              << "): " << s.error_message() << std::endl;
    return IsAuthFailure(s) ? kExitNotAllowed : 1;
  }
  if (flags.json) {
    PrintJson(response);
  } else {
    std::cout << FormatProvisionResult(response) << std::flush;
  }
  return ProvisionExitCode(response);
}

}  // namespace writeback::ctl
