#include "common/base/program.h"

#include <signal.h>
#include <unistd.h>

#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/base/log.h"
#include "common/protocol.h"

namespace writeback {
namespace {

const char* g_name = "writeback";

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

std::vector<char*> InitProgram(int argc, char** argv, const char* name, const char* usage,
                               bool daemon) {
  g_name = name;
  if (daemon) {
    sigset_t signals = TerminationSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // Debian builds Abseil without NDEBUG, so every absl::Mutex lock would
    // also update a global lock-order graph (measured: about 2% of the
    // controller's CPU under load). The unit tests keep the check.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  absl::FlagsUsageConfig config;
  config.version_string = [] { return absl::StrCat(g_name, " ", BuildVersion(), "\n"); };
  // --help lists the program's own flags, not Abseil's or gRPC's.
  config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "main.cc");
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::string component(name);
  if (absl::StartsWith(component, "writeback-")) component = component.substr(10);
  SetLogComponent(component);
  return positional;
}

void RequestTermination() { kill(getpid(), SIGTERM); }

int WaitForTerminationSignal() {
  sigset_t signals = TerminationSignals();
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

}  // namespace writeback
