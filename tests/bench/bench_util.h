// Small helpers shared by the benchmark tools (tests/bench): JSON string
// quoting for their one-object-per-line output, the DC password file, and a
// process's memory and CPU from /proc.
//
//   ProcStats before = ReadProcStats(pid).value();
//   ... work ...
//   double cpu = ReadProcStats(pid)->cpu_s - before.cpu_s;
#ifndef WRITEBACK_TESTS_BENCH_BENCH_UTIL_H_
#define WRITEBACK_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace writeback::bench {

// `s` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view s);

// The first line of a password file (trailing newline dropped).
absl::StatusOr<std::string> ReadPassword(const std::string& path);

struct ProcStats {
  double peak_mb = 0;  // VmHWM: the most resident memory so far
  double cpu_s = 0;    // user + system time so far
};
absl::StatusOr<ProcStats> ReadProcStats(pid_t pid);

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_BENCH_UTIL_H_
