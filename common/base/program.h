// What every writeback binary does first: --help and --version through
// Abseil flags, the log component, and (for the daemons) SIGINT/SIGTERM
// taken by one waiting thread instead of an async handler.
//
//   int main(int argc, char** argv) {
//     InitProgram(argc, argv, "writeback-agent", kUsage, /*daemon=*/true);
//     ... start threads ...
//     int sig = WaitForTerminationSignal();
//   }
#ifndef WRITEBACK_COMMON_BASE_PROGRAM_H_
#define WRITEBACK_COMMON_BASE_PROGRAM_H_

#include <vector>

namespace writeback {

// Parses the command line (exits for --help, --version or a bad flag) and
// returns the positional arguments, argv[0] first. A daemon blocks SIGINT
// and SIGTERM here, before any thread starts, so WaitForTerminationSignal
// receives them. `name` and `usage` must outlive the program.
std::vector<char*> InitProgram(int argc, char** argv, const char* name, const char* usage,
                               bool daemon);

// Blocks until SIGINT or SIGTERM arrives; returns it. Daemons only.
int WaitForTerminationSignal();

// Makes WaitForTerminationSignal return as if SIGTERM had arrived (the
// program asks itself to stop, for example an agent that finished a drain).
// Thread-safe.
void RequestTermination();

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_PROGRAM_H_
