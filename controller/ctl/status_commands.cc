#include "controller/ctl/status_commands.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "controller/ctl/mailbox_commands.h"
#include "controller/ctl/output.h"
#include "controller/ctl/table.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

void PrintStatus(const v1::GetStatusResponse& status) {
  std::cout << "mailboxes " << status.total_mailboxes() << "  queue " << status.queue_depth()
            << "  quarantined " << status.quarantined() << "  conflicted " << status.conflicted()
            << "  (" << FormatTimeMs(status.time_ms()) << " UTC)\n\n";
  Table forests({"FOREST", "STATE", "AGENTS", "QUEUE", "PENDING", "IN_FLIGHT", "RETRY_WAIT",
                 "IN_SYNC", "QUARANTINED", "CONFLICTED", "HELD", "OPEN_HOLD"});
  for (const auto& f : status.forests()) {
    forests.AddRow(
        {f.name(), f.paused() ? "PAUSED" : "active", absl::StrCat(f.connected_agents()),
         absl::StrCat(f.queue_depth()), absl::StrCat(f.pending()), absl::StrCat(f.in_flight()),
         absl::StrCat(f.retry_wait()), absl::StrCat(f.in_sync()), absl::StrCat(f.quarantined()),
         absl::StrCat(f.conflicted()), absl::StrCat(f.held()),
         f.open_hold_id() == 0 ? "-"
                               : absl::StrCat(f.open_hold_id(), " (", f.held_mailboxes(), ")")});
  }
  std::cout << forests.Render();
  for (const auto& f : status.forests()) {
    if (f.paused()) std::cout << "  " << f.name() << " paused: " << f.pause_reason() << "\n";
  }
  std::cout << "\n";
  Table agents(
      {"AGENT", "FOREST", "STREAM", "IN_FLIGHT", "VERSION", "PROTOCOL", "LAST_SEEN (UTC)"});
  for (const auto& a : status.agents()) {
    agents.AddRow({a.agent_id(), a.forest(), a.stream_state(), absl::StrCat(a.in_flight()),
                   a.version(), absl::StrCat(a.protocol_version()),
                   FormatTimeMs(a.last_seen_ms())});
  }
  std::cout << agents.Render() << std::flush;
}

}  // namespace

int RunStatusCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                     const StatusFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() != 1) return hooks.usage("status: takes no arguments");
  v1::GetStatusResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.GetStatus(&context, {}, &response); !s.ok()) return hooks.report(s);
  if (flags.json) return PrintJson(response), kExitOk;
  PrintStatus(response);
  return kExitOk;
}

int RunQuarantineCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                         const StatusFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() >= 2 && args[1] == "release") {
    return RetryMailboxes(stub, {args.begin() + 2, args.end()}, flags.json, hooks);
  }
  if (args.size() > 2 || (args.size() == 2 && args[1] != "list")) {
    return hooks.usage(
        "quarantine: expected 'quarantine [list]' or "
        "'quarantine release ID...'");
  }
  v1::ListMailboxesRequest request;
  request.set_forest(flags.forest);
  request.set_limit(static_cast<uint32_t>(flags.limit));
  request.add_statuses(v1::QUARANTINED);
  request.add_statuses(v1::CONFLICT_HOLD);
  v1::ListMailboxesResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.ListMailboxes(&context, request, &response); !s.ok()) return hooks.report(s);
  // A controller older than the statuses filter lists every mailbox: keep only these.
  auto* listed = response.mutable_mailboxes();
  listed->erase(std::remove_if(listed->begin(), listed->end(),
                               [](const v1::Mailbox& m) {
                                 return m.status() != v1::QUARANTINED &&
                                        m.status() != v1::CONFLICT_HOLD;
                               }),
                listed->end());
  if (flags.json) return PrintJson(response), kExitOk;
  Table table({"CLOUD_ID", "FOREST", "STATUS", "ATTEMPTS", "LAST_ERROR"});
  for (const auto& m : response.mailboxes()) {
    table.AddRow({m.cloud_id(), m.forest(), MailboxStatusName(m), absl::StrCat(m.attempts()),
                  m.last_error()});
  }
  std::cout << table.Render() << std::flush;
  return kExitOk;
}

}  // namespace writeback::ctl
