#include "controller/admin/admin_tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"

namespace writeback::controller {
namespace {

constexpr char kLocalOperator[] = "local-operator";

constexpr char kHeader[] =
    "# writeback Admin API principals that authenticate with bearer tokens, one per line:\n"
    "#   <name> <role> <sha256-hex of the token>\n"
    "# Roles: read-only (Get*, List* and Export* methods) or operator (every method).\n"
    "# The controller reads this file again within a second of a change. To add a principal:\n"
    "#   umask 077; openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\\n' > NAME.token\n"
    "#   echo \"NAME read-only $(sha256sum < NAME.token | cut -d' ' -f1)\" >> THIS_FILE\n"
    "# and give NAME.token to writebackctl (--token_file or WRITEBACKCTL_TOKEN_FILE).\n";

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status WritePrivateFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(absl::StrCat("cannot create ", tmp));
  absl::Status status;
  if (::fchmod(fd, 0600) != 0) status = ErrnoError(absl::StrCat("cannot chmod ", tmp));
  size_t done = 0;
  while (status.ok() && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError(absl::StrCat("cannot write ", tmp));
    else done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError(absl::StrCat("cannot sync ", tmp));
  ::close(fd);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

absl::StatusOr<std::unique_ptr<AdminTokens>> AdminTokens::Open(const Options& options,
                                                               Clock* clock) {
  std::unique_ptr<AdminTokens> tokens(new AdminTokens(options, clock));
  struct stat st;
  if (::lstat(options.tokens_file.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoError(absl::StrCat("cannot read ", options.tokens_file));
    WB_ASSIGN_OR_RETURN(std::string token, NewToken());
    WB_RETURN_IF_ERROR(WritePrivateFileAtomically(options.local_token_file, token));
    WB_RETURN_IF_ERROR(WritePrivateFileAtomically(
        options.tokens_file,
        absl::StrCat(kHeader, TokensFileLine(kLocalOperator, AdminRole::kOperator, token))));
    tokens->created_ = true;
    WB_LOG(INFO) << "first start: created the Admin API tokens file " << options.tokens_file
                 << " with principal " << kLocalOperator << " (operator), whose token is in "
                 << options.local_token_file
                 << " (mode 0600; writebackctl --token_file or WRITEBACKCTL_TOKEN_FILE)";
  }
  const Stamp stamp = StampOf(options.tokens_file);  // before reading: a later change reloads
  WB_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(options.tokens_file));
  WB_ASSIGN_OR_RETURN(TokenTable table, ParseTokensFile(text, options.tokens_file));
  absl::MutexLock lock(&tokens->mu_);
  tokens->stamp_ = stamp;
  tokens->last_check_ = clock->Now();
  WB_LOG(INFO) << "Admin API tokens file " << options.tokens_file << ": "
               << table.principals.size() << " token principal(s)";
  tokens->table_ = std::make_shared<const TokenTable>(std::move(table));
  return tokens;
}

AdminTokens::Stamp AdminTokens::StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Stamp{};
  auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; };
  return Stamp{st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim), st.st_mode};
}

std::shared_ptr<const TokenTable> AdminTokens::Current() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  if (now - last_check_ >= options_.check_interval) {
    last_check_ = now;
    Reload();
  }
  return table_;
}

void AdminTokens::Reload() {
  Stamp stamp = StampOf(options_.tokens_file);
  if (stamp == stamp_) return;
  stamp_ = stamp;
  if (stamp == Stamp{}) {
    table_ = std::make_shared<const TokenTable>();
    WB_LOG(ERROR) << "Admin API tokens file is gone: no bearer token is accepted"
                  << LogField("file", options_.tokens_file)
                  << LogHint("restore the file (mode 0600); it is read again within a second");
    return;
  }
  absl::StatusOr<std::string> text = ReadPrivateFile(options_.tokens_file);
  absl::StatusOr<TokenTable> table =
      text.ok() ? ParseTokensFile(*text, options_.tokens_file) : text.status();
  if (!table.ok()) {
    WB_LOG(ERROR) << "Admin API tokens file changed but is not used, the previous contents "
                     "stay in force"
                  << LogField("file", options_.tokens_file)
                  << LogField("error", table.status().message())
                  << LogHint(
                         "fix the line the error names (<name> <role> <sha256-hex>), mode "
                         "0600");
    return;
  }
  WB_LOG(INFO) << "Admin API tokens file " << options_.tokens_file << " read again: "
               << table->principals.size() << " token principal(s)";
  table_ = std::make_shared<const TokenTable>(*std::move(table));
}

}  // namespace writeback::controller
