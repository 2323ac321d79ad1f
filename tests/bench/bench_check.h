// The controller benchmark's final check and the provisioning log export it
// shares with bench_admin (bench_admin.cc describes the check).
//
//   grpc::Status s = Export(stub, filter, [](const v1::ProvisioningRecord& r) { ... });
//   int exit_code = Check(stub, estate, "stats.json");
#ifndef WRITEBACK_TESTS_BENCH_BENCH_CHECK_H_
#define WRITEBACK_TESTS_BENCH_BENCH_CHECK_H_

#include <functional>
#include <string>

#include "grpcpp/grpcpp.h"
#include "tests/bench/bench_estate.h"
#include "writeback/v1/admin.grpc.pb.h"

namespace writeback::bench {

// Streams the records of `filter` (ExportProvisioningLog), oldest first.
grpc::Status Export(v1::AdminService::Stub& stub, const v1::ListProvisioningLogRequest& filter,
                    const std::function<void(const v1::ProvisioningRecord&)>& each);

// The final check. Prints one JSON line with its counts on stdout and
// returns 0 when it passes, 1 (naming the first violations on stderr) when
// not. `stats_file`: the surviving fake_agents process's counters;
// `killed_agent`: the agent run apart and killed (may be empty).
int Check(v1::AdminService::Stub& stub, const Estate& estate, const std::string& stats_file,
          const std::string& killed_agent);

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_BENCH_CHECK_H_
