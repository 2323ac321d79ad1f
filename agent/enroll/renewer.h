// Keeps an enrolled agent's certificate fresh (DESIGN §7): at half its
// lifetime it asks the controller for a new one over its current identity
// (a new key each time), saves it in the state directory, hands it to the
// uplink (`on_renewed`) and then asks the controller to move its streams
// over (Handover), so no work is lost. A failed renewal is retried with
// backoff; once the certificate has expired each failure is logged as an
// error saying to enroll again.
//
//   Renewer renewer({.address = "controller:7443", .state_dir = dir,
//                    .on_renewed = [&](const AgentCredentials& c) { uplink.UpdateCredentials(...); }},
//                   current);
//   renewer.Start();
#ifndef WRITEBACK_AGENT_ENROLL_RENEWER_H_
#define WRITEBACK_AGENT_ENROLL_RENEWER_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/enroll/credentials.h"

namespace writeback::agent {

class Renewer {
 public:
  struct Options {
    std::string address;    // the controller's agent listener
    std::string state_dir;  // where the credentials live
    std::function<void(const AgentCredentials&)> on_renewed;
    absl::Duration timeout = absl::Seconds(20);
    absl::Duration max_retry = absl::Seconds(60);
  };

  Renewer(Options options, AgentCredentials current);
  ~Renewer();  // Stops.
  Renewer(const Renewer&) = delete;
  Renewer& operator=(const Renewer&) = delete;

  void Start();
  void Stop();

 private:
  void Run();
  // One renewal; OK when the new credentials are saved and handed over.
  absl::Status RenewOnce();

  const Options options_;
  absl::Mutex mu_;
  AgentCredentials current_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_ENROLL_RENEWER_H_
