#include "agent/enroll/renewer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/enroll/enroll_client.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"

namespace writeback::agent {

Renewer::Renewer(Options options, AgentCredentials current)
    : options_(std::move(options)), current_(std::move(current)) {}

Renewer::~Renewer() { Stop(); }

void Renewer::Start() { thread_ = std::thread([this] { Run(); }); }

void Renewer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Renewer::RenewOnce() {
  AgentCredentials current;
  {
    absl::MutexLock lock(&mu_);
    current = current_;
  }
  WB_ASSIGN_OR_RETURN(AgentCredentials renewed, Renew(options_.address, current, options_.timeout));
  WB_RETURN_IF_ERROR(SaveCredentials(options_.state_dir, renewed));
  {
    absl::MutexLock lock(&mu_);
    current_ = renewed;
  }
  WB_LOG(INFO) << "certificate renewed: " << current.info.serial << " -> " << renewed.info.serial
               << ", valid until "
               << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", renewed.info.not_after,
                                   absl::UTCTimeZone());
  if (options_.on_renewed) options_.on_renewed(renewed);
  // The stream moves over once the controller has its work answered; if
  // this fails the controller ends the old stream when its certificate
  // expires, and its work is redelivered then.
  absl::StatusOr<int> moved = Handover(options_.address, renewed, options_.timeout);
  if (!moved.ok()) {
    WB_LOG(WARNING) << "could not ask the controller to move the stream to the renewed "
                       "certificate"
                    << LogField("serial", renewed.info.serial) << LogError(moved.status())
                    << LogHint(
                           "nothing to do: the stream moves when the old certificate "
                           "expires");
  }
  return absl::OkStatus();
}

void Renewer::Run() {
  absl::Duration retry = absl::Seconds(1);
  while (true) {
    absl::Time due;
    absl::Time expires;
    {
      absl::MutexLock lock(&mu_);
      due = RenewAt(current_.info);
      expires = current_.info.not_after;
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithDeadline(absl::Condition(&stopped), due);
      if (stop_) return;
    }
    absl::Status s = RenewOnce();
    if (s.ok()) {
      retry = absl::Seconds(1);
      continue;
    }
    absl::Time now = absl::Now();
    if (now >= expires) {
      WB_LOG(ERROR) << "the agent certificate expired and could not be renewed"
                    << LogField("state_dir", options_.state_dir) << LogError(s)
                    << LogHint(
                           "enroll the agent again: writebackctl token create --forest "
                           "<forest>, then writeback-agent enroll --token_file <file>");
    } else {
      WB_LOG(WARNING) << "certificate renewal failed" << LogError(s)
                      << LogField("retry_in", absl::FormatDuration(retry))
                      << LogField("valid_until", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expires,
                                                                  absl::UTCTimeZone()))
                      << LogHint(
                             "check that the controller's agent listener is reachable; "
                             "enroll again if the certificate expires");
    }
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopped), retry);
    if (stop_) return;
    // Retry sooner than the time left, but not in a tight loop.
    retry = std::min({retry * 2, options_.max_retry,
                      std::max(absl::Seconds(1), (expires - absl::Now()) / 4)});
  }
}

}  // namespace writeback::agent
