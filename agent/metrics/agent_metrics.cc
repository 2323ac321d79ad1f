#include "agent/metrics/agent_metrics.h"

#include "absl/strings/str_cat.h"
#include "agent/directory/ldap_errors.h"
#include "writeback/v1/types.pb.h"

namespace writeback::agent {
namespace {

// Passes everything to the stream, telling AgentMetrics what is sent.
class MeteredOutbound : public Outbound {
 public:
  MeteredOutbound(std::shared_ptr<Outbound> stream, AgentMetrics* metrics)
      : stream_(std::move(stream)), metrics_(metrics) {}
  void Send(writeback::v1::AgentMessage message) override {
    metrics_->Sent(message);
    stream_->Send(std::move(message));
  }
  void Cancel() override { stream_->Cancel(); }
  void Close() override { stream_->Close(); }
  bool WaitForRoom(size_t max_queued, absl::Duration timeout) override {
    return stream_->WaitForRoom(max_queued, timeout);
  }

 private:
  const std::shared_ptr<Outbound> stream_;
  AgentMetrics* const metrics_;
};

}  // namespace

AgentMetrics::AgentMetrics(metrics::Registry* registry, Uplink::Listener* next)
    : next_(next),
      jobs_(registry->AddCounter("writeback_agent_jobs_total",
                                 "Job results sent to the controller, by outcome.", {"outcome"})),
      reconnects_(registry->AddCounter("writeback_agent_stream_reconnects_total",
                                       "Sessions with the controller started after the "
                                       "first one of this process "
                                       "(a Welcome received on a new stream).")),
      connected_(registry
                     ->AddGauge("writeback_agent_stream_connected",
                                "1 while a session with the controller is open (Welcome "
                                "received), else 0.")
                     .With({})),
      ldap_latency_(
          registry->AddHistogram("writeback_agent_ldap_operation_seconds",
                                 "LDAP operation latency (request sent to result received), by "
                                 "operation: bind, "
                                 "search (each page of a paged search), modify.",
                                 {"operation"}, metrics::DefaultLatencyBuckets())),
      ldap_errors_(registry->AddCounter("writeback_agent_ldap_errors_total",
                                        "LDAP operations that ended with a result code "
                                        "other than success, by operation, "
                                        "code (negative: libldap client codes such as "
                                        "-1 serverDown) and the code's name.",
                                        {"operation", "code", "name"})) {
  reconnects_.With({});
  for (const char* op : {"bind", "search", "modify"}) ldap_latency_.With({op});
  for (int outcome : {writeback::v1::APPLIED, writeback::v1::ALREADY_IN_STATE}) {
    jobs_.With({writeback::v1::Outcome_Name(outcome)});
  }
}

void AgentMetrics::OnLdapOperation(LdapOperation op, int code, absl::Duration latency) {
  const char* name = LdapOperationName(op);
  ldap_latency_.With({name}).Observe(absl::ToDoubleSeconds(latency));
  // A size-limited search answered what it had: not an error.
  if (code != 0 && !(op == LdapOperation::kSearch && code == 4)) {
    ldap_errors_.With({name, absl::StrCat(code), LdapCodeShortName(code)}).Inc();
  }
}

void AgentMetrics::OnStreamStarted(std::shared_ptr<Outbound> stream) {
  next_->OnStreamStarted(std::make_shared<MeteredOutbound>(std::move(stream), this));
}

void AgentMetrics::OnMessage(const writeback::v1::ControllerMessage& message) {
  if (message.has_welcome()) {
    absl::MutexLock lock(&mu_);
    if (!welcomed_) {
      welcomed_ = true;
      if (++sessions_ > 1) reconnects_.With({}).Inc();
      connected_.Set(1);
    }
  }
  next_->OnMessage(message);
}

void AgentMetrics::OnStreamEnded(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    welcomed_ = false;
    connected_.Set(0);
  }
  next_->OnStreamEnded(status);
}

void AgentMetrics::Sent(const writeback::v1::AgentMessage& message) {
  if (!message.has_results()) return;
  for (const auto& result : message.results().results()) {
    jobs_.With({writeback::v1::Outcome_Name(result.outcome())}).Inc();
  }
}

}  // namespace writeback::agent
