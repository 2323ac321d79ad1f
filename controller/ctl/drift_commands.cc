#include "controller/ctl/drift_commands.h"

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "controller/ctl/output.h"
#include "controller/ctl/table.h"
#include "google/protobuf/util/json_util.h"

namespace writeback::ctl {
namespace {

namespace v1 = writeback::v1;

// --wait gives up after this long (the pass goes on at the controller).
constexpr absl::Duration kWaitGuard = absl::Hours(2);

std::string Values(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return values.empty() ? "(none)" : absl::StrCat("[", absl::StrJoin(values, "; "), "]");
}

}  // namespace

int RunReconcileCommand(v1::AdminService::Stub& stub, const std::string& forest,
                        const DriftFlags& flags, const LogCommandHooks& hooks) {
  v1::ReconcileForestRequest request;
  request.set_forest(forest);
  request.set_full(flags.full);
  v1::ReconcileForestResponse started;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.ReconcileForest(&context, request, &started); !s.ok()) {
      return hooks.report(s);
    }
  }
  if (flags.json && !flags.wait) {
    std::cout << ToJson(started) << std::endl;
  } else {
    std::cout << "reconciliation " << started.scan_id() << " of forest " << forest
              << " started on agent " << started.agent_id() << std::endl;
  }
  if (!flags.wait) return kExitOk;
  v1::ListProvisioningLogRequest filter;
  filter.set_kind("scan");
  filter.set_forest(forest);
  filter.set_limit(20);
  const absl::Time give_up = absl::Now() + kWaitGuard;
  while (absl::Now() < give_up) {
    v1::ListProvisioningLogResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (auto s = stub.ListProvisioningLog(&context, filter, &response); !s.ok()) {
      return hooks.report(s);
    }
    for (const auto& r : response.records()) {
      if (r.job_id() != started.scan_id()) continue;
      if (flags.json) {
        std::cout << ToJson(r) << std::endl;
      } else {
        std::cout << "reconciliation " << r.job_id() << " ended after " << r.duration_ms()
                  << " ms: " << r.diagnostic() << std::endl;
      }
      return r.outcome() == v1::OUTCOME_UNSPECIFIED ? kExitOk : kExitFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::cerr << "writebackctl: reconciliation " << started.scan_id()
            << " has not ended yet; it goes on at the controller (`writebackctl log "
               "--kind=scan` shows it when it does)"
            << std::endl;
  return kExitFailed;
}

int RunDriftCommand(v1::AdminService::Stub& stub, const std::vector<std::string>& args,
                    const DriftFlags& flags, const LogCommandHooks& hooks) {
  if (args.size() != 1) return hooks.usage("drift: takes flags only (--mailbox, --forest, ...)");
  if (flags.limit < 0) return hooks.usage("--limit: must not be negative");
  v1::ListDriftRequest request;
  request.set_cloud_id(flags.mailbox);
  request.set_forest(flags.forest);
  request.set_attribute(flags.attribute);
  request.set_action(flags.action);
  request.set_limit(static_cast<uint32_t>(flags.limit));
  request.set_summary(flags.summary);
  v1::ListDriftResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (auto s = stub.ListDrift(&context, request, &response); !s.ok()) return hooks.report(s);
  if (flags.json) {  // JSON lines, one record or summary row each
    for (const auto& r : response.records()) std::cout << ToJson(r) << "\n";
    for (const auto& r : response.summary()) std::cout << ToJson(r) << "\n";
    std::cout.flush();
    return kExitOk;
  }
  if (flags.summary) {
    Table table({"MAILBOX", "ATTRIBUTE", "DRIFT", "LAST (UTC)", "LAST_FOUND", "CONFLICT_HOLD"});
    for (const auto& r : response.summary()) {
      table.AddRow({r.cloud_id(), r.attribute(), absl::StrCat(r.drift_count()),
                    FormatTimeMs(r.last_time_ms()), Values(r.last_found()),
                    r.in_conflict() ? "yes" : "no"});
    }
    std::cout << table.Render();
  } else {
    Table table({"TIME (UTC)", "ACTION", "MAILBOX", "ATTRIBUTE", "EXPECTED", "FOUND", "SOURCE",
                 "DC", "WHEN_CHANGED", "CORRECTIONS", "DN"});
    for (const auto& r : response.records()) {
      table.AddRow({FormatTimeMs(r.time_ms()), r.action(), r.mailbox_id(), r.attribute(),
                    Values(r.expected()), Values(r.found()),
                    absl::StrCat(r.source(), " ", r.work_id()), r.dc(), r.when_changed(),
                    absl::StrCat(r.corrections()), r.dn()});
    }
    std::cout << table.Render();
  }
  std::cout.flush();
  return kExitOk;
}

}  // namespace writeback::ctl
