// The Admin API's tokens file on disk (AdminAuthConfig.tokens_file, format in
// admin_auth.h): created with a local operator on the first start, and read
// again when it changes, so principals come and go without a restart.
//
//   AdminTokens::Options options;
//   options.tokens_file = "/var/lib/writeback/admin-tokens";
//   options.local_token_file = "/var/lib/writeback/admin.token";
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<AdminTokens> tokens,
//                       AdminTokens::Open(options, Clock::Real()));
//   std::shared_ptr<const TokenTable> table = tokens->Current();  // per call
//
// First start: when tokens_file does not exist, Open makes a token
// (NewToken), writes it in clear to local_token_file and then creates
// tokens_file holding only its hash as principal "local-operator" with role
// operator; both files mode 0600, each written to a temporary file and
// renamed. It logs that it did, naming both paths (never the token).
//
// Reloads: Current() looks at the file (inode, size, mtime, ctime) at most
// once per check_interval and parses it again when any changed. A file that
// is gone accepts no token until it exists again; a file that cannot be read
// (group or others may access it, say) or does not parse leaves the previous
// table in force. Each change is logged once. Thread-safe.
#ifndef WRITEBACK_CONTROLLER_ADMIN_ADMIN_TOKENS_H_
#define WRITEBACK_CONTROLLER_ADMIN_ADMIN_TOKENS_H_

#include <memory>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "controller/admin/admin_auth.h"

namespace writeback::controller {

class AdminTokens {
 public:
  struct Options {
    std::string tokens_file;
    std::string local_token_file;
    absl::Duration check_interval = absl::Seconds(1);
  };

  // Creates the tokens file if it does not exist (see above), then reads
  // it. Errors name the file: a malformed line (with its number), a file
  // group or others may access (with the chmod to run), I/O errors. `clock`
  // must outlive the result.
  static absl::StatusOr<std::unique_ptr<AdminTokens>> Open(const Options& options, Clock* clock);

  AdminTokens(const AdminTokens&) = delete;
  AdminTokens& operator=(const AdminTokens&) = delete;

  // The table in force (never null).
  std::shared_ptr<const TokenTable> Current();

  // Whether Open created the tokens file (a first start).
  bool created() const { return created_; }

 private:
  // What identifies a version of the file; all zero when it does not exist.
  using Stamp = std::tuple<uint64_t, int64_t, int64_t, int64_t, uint32_t>;

  AdminTokens(Options options, Clock* clock) : options_(std::move(options)), clock_(clock) {}
  static Stamp StampOf(const std::string& path);
  void Reload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock* const clock_;
  bool created_ = false;
  absl::Mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
  Stamp stamp_ ABSL_GUARDED_BY(mu_){};
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Writes `content` to `path` with mode 0600 (a temporary file beside it,
// renamed over `path`), whatever the umask.
absl::Status WritePrivateFileAtomically(const std::string& path, const std::string& content);

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ADMIN_ADMIN_TOKENS_H_
