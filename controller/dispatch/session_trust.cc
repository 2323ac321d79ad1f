// Dispatcher's part for trust (DESIGN §7): revoked agents are cut at once,
// sessions end when their certificate expires, and a renewed agent's old
// sessions wind down without losing work.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "controller/dispatch/dispatcher.h"

namespace writeback::controller {

int Dispatcher::Revoke(const std::string& agent_id, const std::string& message) {
  std::vector<std::shared_ptr<SessionSink>> cut;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, s] : sessions_) {
      if (s.info.agent_id != agent_id) continue;
      s.draining = true;  // nothing more is placed on it before Detach
      cut.push_back(s.sink);
      WB_LOG(WARNING) << "cutting a session of a revoked agent" << LogField("agent", agent_id)
                      << LogField("session", id)
                      << LogHint("enroll the agent again if it should serve");
    }
  }
  for (auto& sink : cut) sink->Close(absl::PermissionDeniedError(message));
  return static_cast<int>(cut.size());
}

int Dispatcher::Recycle(const std::string& agent_id, const std::string& new_serial) {
  int told = 0;
  absl::MutexLock lock(&mu_);
  for (auto& [id, s] : sessions_) {
    if (s.info.agent_id != agent_id || s.info.cert_serial == new_serial || s.recycling) continue;
    s.draining = true;
    s.recycling = true;
    ++told;
    WB_LOG(INFO) << "agent " << agent_id << " renewed its certificate (now " << new_serial
                 << "): session " << id << " (certificate " << s.info.cert_serial
                 << ") takes no new work and ends once its " << s.outstanding.size()
                 << " pieces of work are answered";
  }
  return told;
}

void Dispatcher::EndSessionsOutOfTrust(absl::Time now) {
  std::vector<std::pair<std::shared_ptr<SessionSink>, absl::Status>> end;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, s] : sessions_) {
      if (now >= s.info.cert_not_after) {
        s.draining = true;
        std::string message = absl::StrCat(
            "certificate ", s.info.cert_serial, " of agent ", s.info.agent_id, " expired at ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", s.info.cert_not_after, absl::UTCTimeZone()),
            "; the agent renews at half-life, so it could not reach the controller or was "
            "refused: check its log, or enroll it again (writebackctl token create, then "
            "writeback-agent enroll)");
        WB_LOG(WARNING) << "cutting a session: its certificate expired"
                        << LogField("agent", s.info.agent_id) << LogField("session", id)
                        << LogField("serial", s.info.cert_serial) << LogField("error", message)
                        << LogHint(
                               "check the agent's log, or enroll it again: writebackctl "
                               "token create, then writeback-agent enroll");
        end.emplace_back(s.sink, absl::UnauthenticatedError(message));
        continue;
      }
      if (s.recycling && s.outstanding.empty() && s.reserved == 0 && s.committing == 0) {
        auto waiting = slot_waiters_.find(id);
        if (waiting != slot_waiters_.end() && !waiting->second.empty()) continue;
        WB_LOG(INFO) << "session " << id << " of agent " << s.info.agent_id
                     << " has answered all its work: ending it so the agent reconnects with "
                        "its renewed certificate";
        end.emplace_back(s.sink, absl::UnavailableError(
                                     "certificate renewed: reconnect with the new certificate"));
      }
    }
  }
  for (auto& [sink, status] : end) sink->Close(status);
}

}  // namespace writeback::controller
