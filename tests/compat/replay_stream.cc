#include "tests/compat/replay_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "tests/harness/raw_messages.h"

namespace writeback::testing {

absl::StatusOr<std::unique_ptr<ReplayStream>> ReplayStream::Open(const std::string& address,
                                                                 const std::string& cert_dir,
                                                                 const std::string& agent) {
  grpc::SslCredentialsOptions ssl;
  WB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(cert_dir + "/ca.pem"));
  WB_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                      ReadFileToString(absl::StrCat(cert_dir, "/", agent, ".pem")));
  WB_ASSIGN_OR_RETURN(ssl.pem_private_key,
                      ReadFileToString(absl::StrCat(cert_dir, "/", agent, ".key")));
  auto channel = grpc::CreateChannel(address, grpc::SslCredentials(ssl));
  return std::unique_ptr<ReplayStream>(new ReplayStream(std::move(channel)));
}

ReplayStream::ReplayStream(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(channel_) {}

ReplayStream::~ReplayStream() {
  bool started;
  {
    absl::MutexLock lock(&mu_);
    started = started_;
  }
  if (started && !Close(absl::Seconds(10)).ok()) {
    // gRPC still owns the reactor: it must not be freed under it. Never
    // seen; a hang guard rather than a use after free.
    std::abort();
  }
}

void ReplayStream::Start(std::string first) {
  stub_.PrepareBidiStreamingCall(&context_, kConnectMethod, grpc::StubOptions(), this);
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    out_.push_back(ToByteBuffer(first));
    writing_ = true;
  }
  AddHold();  // released when reading ends: Send() may write until then
  StartWrite(&out_.front());
  StartRead(&in_);
  StartCall();
}

void ReplayStream::Send(std::string bytes) {
  const grpc::ByteBuffer* next;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    out_.push_back(ToByteBuffer(bytes));
    if (writing_) return;
    writing_ = true;
    next = &out_.front();
    AddHold();  // taken before the base hold can go: OnDone cannot run first
  }
  StartWrite(next);
  RemoveHold();
}

void ReplayStream::OnWriteDone(bool ok) {
  const grpc::ByteBuffer* next = nullptr;
  {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    if (!ok) out_.clear();
    if (out_.empty()) {
      writing_ = false;
    } else {
      next = &out_.front();
    }
  }
  if (next != nullptr) StartWrite(next);
}

void ReplayStream::OnReadDone(bool ok) {
  if (!ok) {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    RemoveHold();
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    inbox_.push_back(FromByteBuffer(in_));
  }
  StartRead(&in_);
}

void ReplayStream::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  done_ = true;
  status_ = status;
}

absl::StatusOr<std::optional<std::string>> ReplayStream::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !inbox_.empty() || done_; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (!inbox_.empty()) {
    std::string bytes = std::move(inbox_.front());
    inbox_.pop_front();
    return std::optional<std::string>(std::move(bytes));
  }
  if (done_) {
    return absl::UnavailableError(absl::StrCat("the controller ended the agent stream: ",
                                               status_.error_code(), " ",
                                               status_.error_message()));
  }
  return std::optional<std::string>();
}

absl::Status ReplayStream::Close(absl::Duration timeout) {
  context_.TryCancel();
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&done_), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("the agent stream was not done ",
                                                    absl::FormatDuration(timeout),
                                                    " after cancelling it"));
  }
  return absl::OkStatus();
}

}  // namespace writeback::testing
