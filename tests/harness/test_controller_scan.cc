// TestController: reconciliation scans (protocol 3), kept apart from the
// stream handling in test_controller.cc.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/test_controller.h"

namespace writeback::testing {

namespace v1 = writeback::v1;

absl::Status TestController::SendScan(const v1::ScanRequest& request) {
  v1::ControllerMessage message;
  *message.mutable_scan() = request;
  return SendOnCurrent(std::move(message), /*credit=*/0);
}

absl::StatusOr<std::vector<v1::ScanPage>> TestController::WaitForScan(const std::string& scan_id,
                                                                     absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto last = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const v1::ScanPage& p : scan_pages_) {
      if (p.scan_id() == scan_id && p.last()) return true;
    }
    return false;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&last), timeout)) {
    size_t n = 0;
    for (const v1::ScanPage& p : scan_pages_) n += p.scan_id() == scan_id;
    return absl::DeadlineExceededError(absl::StrCat("TestController: scan ", scan_id,
                                                    " did not finish within ",
                                                    absl::FormatDuration(timeout), " (", n,
                                                    " pages arrived)"));
  }
  std::vector<v1::ScanPage> out, rest;
  for (v1::ScanPage& p : scan_pages_) {
    (p.scan_id() == scan_id ? out : rest).push_back(std::move(p));
  }
  scan_pages_ = std::move(rest);
  return out;
}

size_t TestController::ScanPagesReceived(const std::string& scan_id) const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const v1::ScanPage& p : scan_pages_) n += p.scan_id() == scan_id;
  return n;
}

}  // namespace writeback::testing
