// Keeps the agent's outbound stream open: dials the controller over mutual
// TLS, sends Hello, hands messages to a Listener, and re-opens the stream
// with exponential backoff and jitter when it ends. The backoff sleep wakes
// at once on Stop(). Read this header first in agent/uplink.
//
//   Uplink uplink(options, &agent);   // agent implements Uplink::Listener
//   uplink.Start();
//   ...
//   uplink.Stop();
#ifndef WRITEBACK_AGENT_UPLINK_UPLINK_H_
#define WRITEBACK_AGENT_UPLINK_UPLINK_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/uplink/agent_stream.h"
#include "grpcpp/grpcpp.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::agent {

class Uplink {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A new stream is open (Hello sent). `stream` stays valid while held.
    virtual void OnStreamStarted(std::shared_ptr<Outbound> stream) = 0;
    // A controller message, on a gRPC thread, in order.
    virtual void OnMessage(const writeback::v1::ControllerMessage& message) = 0;
    // The stream ended; a new one follows after backoff.
    virtual void OnStreamEnded(const grpc::Status& status) = 0;
  };

  struct Options {
    std::string controller;  // host:port
    std::string ca_pem;      // verifies the controller
    std::string cert_pem;    // our identity
    std::string key_pem;
    writeback::v1::Hello hello;
    absl::Duration initial_backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Seconds(30);
  };

  Uplink(Options options, Listener* listener);
  ~Uplink();  // Stops.
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  void Start();
  // Cancels the current stream and stops reconnecting.
  void Stop();
  // A renewed identity: the next stream uses it, and when the current one
  // ends (the controller ends it once its work is answered) the next opens
  // at once instead of after backoff.
  void UpdateCredentials(std::string cert_pem, std::string key_pem, std::string ca_pem);

 private:
  using Stub = writeback::v1::AgentGateway::Stub;
  void Run();
  std::shared_ptr<Stub> MakeStub(const std::string& cert_pem, const std::string& key_pem,
                                 const std::string& ca_pem);

  const Options options_;
  Listener* const listener_;
  absl::Mutex mu_;
  std::shared_ptr<Stub> stub_ ABSL_GUARDED_BY(mu_);
  bool renewed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<AgentStream> current_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_UPLINK_UPLINK_H_
