#include "controller/ctl/hold_commands.h"

#include <chrono>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controller/ctl/output.h"
#include "controller/ctl/table.h"
#include "google/protobuf/util/json_util.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

std::string Time(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<v1::SetForestPolicyRequest> ParseForestPolicy(const std::string& name,
                                                             const HoldFlags& flags) {
  v1::SetForestPolicyRequest request;
  request.set_name(name);
  request.set_use_defaults(flags.use_defaults);
  if (!flags.threshold.empty()) {
    uint32_t threshold = 0;
    if (!absl::SimpleAtoi(flags.threshold, &threshold)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mass_change_threshold: \"", flags.threshold,
                       "\" is not a number of mailboxes (0 disables the guard)"));
    }
    request.set_mass_change_threshold(threshold);
  }
  if (!flags.window.empty()) {
    absl::Duration window;
    if (!absl::ParseDuration(flags.window, &window) || window < absl::Seconds(1) ||
        window > absl::Hours(24 * 365)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mass_change_window: \"", flags.window,
                       "\" is not a duration of 1s to a year, such as 30m, 1h or 3600s"));
    }
    request.set_mass_change_window_s(static_cast<uint32_t>(absl::ToInt64Seconds(window)));
  }
  if (!flags.use_defaults && !request.has_mass_change_threshold() &&
      !request.has_mass_change_window_s()) {
    return absl::InvalidArgumentError(
        "forest set: give --mass_change_threshold=N, "
        "--mass_change_window=DURATION or "
        "--use_defaults");
  }
  return request;
}

int RunHoldCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                   const HoldFlags& flags, const LogCommandHooks& hooks) {
  grpc::ClientContext context;
  SetDeadline(&context);
  if (args.size() == 2 && args[1] == "list") {
    v1::ListHoldsRequest request;
    request.set_forest(flags.forest);
    v1::ListHoldsResponse response;
    if (auto s = stub.ListHolds(&context, request, &response); !s.ok()) return hooks.report(s);
    if (flags.json) return PrintJson(response), kExitOk;
    Table table({"HOLD", "FOREST", "STATE", "MAILBOXES", "OPENED (UTC)", "DECIDED (UTC)",
                 "DECIDED_BY", "REASON"});
    for (const auto& h : response.holds()) {
      table.AddRow({absl::StrCat(h.id()), h.forest(), h.state(), absl::StrCat(h.mailboxes()),
                    Time(h.opened_ms()), h.decided_ms() == 0 ? "-" : Time(h.decided_ms()),
                    h.decided_by(), h.reason()});
    }
    std::cout << table.Render();
    std::cout.flush();
    return kExitOk;
  }
  if (args.size() == 3 && (args[1] == "approve" || args[1] == "reject")) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(args[2], &id) || id <= 0) {
      return hooks.usage(absl::StrCat("hold ", args[1], ": \"", args[2],
                                      "\" is not a hold id (writebackctl hold list)"));
    }
    v1::Hold hold;
    grpc::Status s;
    if (args[1] == "approve") {
      v1::ApproveHoldRequest request;
      request.set_hold_id(id);
      s = stub.ApproveHold(&context, request, &hold);
    } else {
      v1::RejectHoldRequest request;
      request.set_hold_id(id);
      s = stub.RejectHold(&context, request, &hold);
    }
    if (!s.ok()) return hooks.report(s);
    if (flags.json) return PrintJson(hold), kExitOk;
    std::cout << "hold " << hold.id() << " " << hold.state() << ": " << hold.mailboxes()
              << " mailbox(es) "
              << (args[1] == "approve" ? "go out now"
                                       : "reverted to what AD holds; nothing was written")
              << std::endl;
    return kExitOk;
  }
  return hooks.usage("hold: expected 'hold list', 'hold approve ID' or 'hold reject ID'");
}

int RunForestSetCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                        const HoldFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() != 3) return hooks.usage("forest set: expected 'forest set NAME' and flags");
  auto request = ParseForestPolicy(args[2], flags);
  if (!request.ok()) return hooks.usage(std::string(request.status().message()));
  v1::Forest forest;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.SetForestPolicy(&context, *request, &forest); !s.ok()) return hooks.report(s);
  if (flags.json) return PrintJson(forest), kExitOk;
  std::cout << "forest " << forest.name() << ": mass-change threshold "
            << (forest.has_mass_change_threshold() ? absl::StrCat(forest.mass_change_threshold())
                                                   : std::string("default"))
            << ", window "
            << (forest.has_mass_change_window_s()
                    ? absl::FormatDuration(absl::Seconds(forest.mass_change_window_s()))
                    : std::string("default"))
            << std::endl;
  return kExitOk;
}

}  // namespace writeback::ctl
