// The agent's Prometheus series (README "Metrics"). AgentMetrics observes
// LDAP operations (LdapOptions::observer) and, as an Uplink::Listener in
// front of the Agent, the stream: sessions started and ended, and each
// JobResult sent (MeteredOutbound wraps the stream the Agent sends on).
// Nothing in agent/core knows about metrics.
//
//   metrics::Registry registry;
//   AgentMetrics metrics(&registry, &agent);   // forwards everything to agent
//   ldap_options.observer = &metrics;
//   Uplink link(uplink_options, &metrics);
//
// Thread-safe. Not copyable.
#ifndef WRITEBACK_AGENT_METRICS_AGENT_METRICS_H_
#define WRITEBACK_AGENT_METRICS_AGENT_METRICS_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "agent/core/outbound.h"
#include "agent/directory/ldap_observer.h"
#include "agent/uplink/uplink.h"
#include "common/metrics/registry.h"

namespace writeback::agent {

class AgentMetrics : public LdapObserver, public Uplink::Listener {
 public:
  // `next` receives every stream event unchanged; both outlive this object.
  AgentMetrics(metrics::Registry* registry, Uplink::Listener* next);
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  void OnLdapOperation(LdapOperation op, int code, absl::Duration latency) override;

  void OnStreamStarted(std::shared_ptr<Outbound> stream) override;
  void OnMessage(const writeback::v1::ControllerMessage& message) override;
  void OnStreamEnded(const grpc::Status& status) override;

  // A message the Agent sends: counts its job results.
  void Sent(const writeback::v1::AgentMessage& message);

 private:
  Uplink::Listener* const next_;
  metrics::CounterFamily& jobs_;
  metrics::CounterFamily& reconnects_;
  metrics::Gauge& connected_;
  metrics::HistogramFamily& ldap_latency_;
  metrics::CounterFamily& ldap_errors_;
  absl::Mutex mu_;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;  // the current stream got its Welcome
  int sessions_ ABSL_GUARDED_BY(mu_) = 0;       // Welcomes received so far
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_METRICS_AGENT_METRICS_H_
