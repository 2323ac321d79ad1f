#include "agent/uplink/agent_stream.h"

namespace writeback::agent {

using writeback::v1::AgentMessage;

AgentStream::AgentStream(writeback::v1::AgentGateway::Stub* stub, OnMessage on_message)
    : on_message_(std::move(on_message)) {
  stub->async()->Connect(&context_, this);
}

void AgentStream::Start(AgentMessage hello) {
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(hello));
    writing_ = true;
  }
  // The base hold keeps the reactor alive for Send() until reading ends.
  AddHold();
  StartWrite(&queue_.front());
  StartRead(&in_);
  StartCall();
}

void AgentStream::Send(AgentMessage message) {
  AgentMessage* next;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    queue_.push_back(std::move(message));
    if (writing_) return;
    writing_ = true;
    next = &queue_.front();
    AddHold();  // taken before the base hold can go: OnDone cannot run first
  }
  StartWrite(next);
  RemoveHold();
}

void AgentStream::OnWriteDone(bool ok) {
  AgentMessage* next = nullptr;
  bool writes_done = false;
  {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) queue_.clear();  // the stream is broken; OnDone follows
    if (queue_.empty()) {
      writing_ = false;
      writes_done = ok && half_close_;
    } else {
      next = &queue_.front();
    }
  }
  if (next != nullptr) StartWrite(next);
  if (writes_done) StartWritesDone();
}

void AgentStream::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    half_close_ = true;
    if (writing_) return;  // OnWriteDone half-closes after the last write
    AddHold();  // as in Send: OnDone cannot run before StartWritesDone
  }
  StartWritesDone();
  RemoveHold();
}

bool AgentStream::WaitForRoom(size_t max_queued, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto room = [this, max_queued]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || queue_.size() <= max_queued;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&room), timeout);
}

void AgentStream::OnReadDone(bool ok) {
  if (!ok) {  // the controller ended the stream or it broke
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    RemoveHold();  // OnDone follows once pending writes finish
    return;
  }
  on_message_(in_);
  StartRead(&in_);
}

void AgentStream::Cancel() { context_.TryCancel(); }

void AgentStream::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  done_ = true;
  status_ = status;
}

grpc::Status AgentStream::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&done_));
  return status_;
}

}  // namespace writeback::agent
