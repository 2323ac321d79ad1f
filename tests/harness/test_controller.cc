#include "tests/harness/test_controller.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/identity.h"
#include "common/identity/peer_identity.h"
#include "common/protocol.h"

namespace writeback::testing {

using writeback::v1::AgentMessage;
using writeback::v1::ControllerMessage;

// One agent stream: a callback reactor with a write queue (one write in
// flight at a time, chained from OnWriteDone). Finish is called once, after
// the queue drained; gRPC calls OnDone only after that, so the reactor never
// sees a Start* call after OnDone. Deleted by ~TestController.
class TestController::Stream
    : public grpc::ServerBidiReactor<AgentMessage, ControllerMessage> {
 public:
  Stream(TestController* owner, grpc::CallbackServerContext* context)
      : owner_(owner), context_(context) {
    StartRead(&in_);
  }

  // Queues `message`; dropped once the stream is ending.
  void Send(ControllerMessage message) {
    const ControllerMessage* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return;
      queue_.push_back(std::move(message));
      if (writing_) return;
      writing_ = true;
      next = &queue_.front();
    }
    StartWrite(next);
  }

  // Finishes with `status` once the queued writes are done.
  void End(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return;
      ending_ = true;
      final_status_ = status;
      if (writing_) return;  // OnWriteDone finishes
    }
    Finish(status);
  }

  // Cuts the stream at once (pending operations fail).
  void Cancel() { context_->TryCancel(); }

  absl::StatusOr<AgentIdentity> PeerIdentity() const { return PeerAgentIdentity(*context_); }

  bool done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }

  // Owned by TestController::mu_.
  int number = 0;
  bool welcomed = false;
  size_t credit = 0;
  size_t outstanding = 0;
  // Newest agent heartbeat sequence received, echoed in our heartbeats
  // (guarded by the owner's mutex).
  uint64_t agent_heartbeat = 0;

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {  // the agent half-closed, cancelled or the stream broke
      End(grpc::Status::OK);
      return;
    }
    if (!got_hello_) {
      if (in_.body_case() != AgentMessage::kHello) {
        End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "the first message of a stream must be a Hello"));
        return;
      }
      got_hello_ = true;
      if (!owner_->OnHello(this, in_.hello())) return;  // refused and ended
    } else {
      owner_->OnAgentMessage(this, in_);
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    const ControllerMessage* next = nullptr;
    bool finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      if (!ok) queue_.clear();  // broken; the read fails too and ends us
      if (queue_.empty()) {
        writing_ = false;
        finish = ending_;
        status = final_status_;
      } else {
        next = &queue_.front();
      }
    }
    if (ok) owner_->OnWritten();
    if (next != nullptr) StartWrite(next);
    if (finish) Finish(status);
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    owner_->OnStreamDone(this);
  }

  TestController* const owner_;
  grpc::CallbackServerContext* const context_;
  AgentMessage in_;          // only the read chain touches it
  bool got_hello_ = false;   // only the read chain touches it
  mutable absl::Mutex mu_;
  std::deque<ControllerMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

class TestController::Service : public writeback::v1::AgentGateway::CallbackService {
 public:
  explicit Service(TestController* owner) : owner_(owner) {}
  grpc::ServerBidiReactor<AgentMessage, ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override {
    return owner_->NewStream(context);
  }

 private:
  TestController* const owner_;
};

TestController::TestController(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<TestController>> TestController::Start(const Options& options) {
  if (options.lease <= options.heartbeat_interval) {
    return absl::InvalidArgumentError("TestController: lease must exceed heartbeat_interval");
  }
  WB_ASSIGN_OR_RETURN(std::string ca, ReadFileToString(options.cert_dir + "/ca.pem"));
  WB_ASSIGN_OR_RETURN(std::string cert, ReadFileToString(options.cert_dir + "/controller.pem"));
  WB_ASSIGN_OR_RETURN(std::string key, ReadFileToString(options.cert_dir + "/controller.key"));
  auto controller = std::unique_ptr<TestController>(new TestController(options));
  controller->service_ = std::make_unique<Service>(controller.get());

  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = ca;
  ssl.pem_key_cert_pairs.push_back({key, cert});
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &controller->port_);
  builder.RegisterService(controller->service_.get());
  // Keepalive matching the agent's (10 s pings): allow them.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  controller->server_ = builder.BuildAndStart();
  if (controller->server_ == nullptr || controller->port_ == 0) {
    return absl::UnavailableError("TestController: cannot listen on 127.0.0.1:0");
  }
  TestController* raw = controller.get();
  controller->heartbeat_thread_ = std::thread([raw] { raw->HeartbeatLoop(); });
  return controller;
}

TestController::~TestController() {
  std::vector<Stream*> streams;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    for (auto& s : streams_) streams.push_back(s.get());
  }
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  for (Stream* s : streams) {
    s->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test controller stopping"));
  }
  // Hang guard: calls still open after the deadline are cancelled; their
  // reads fail, the reactors finish and Shutdown returns.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  server_->Wait();
  absl::MutexLock lock(&mu_);
  streams_.clear();
}

std::string TestController::address() const { return absl::StrCat("127.0.0.1:", port_); }

TestController::Stream* TestController::NewStream(grpc::CallbackServerContext* context) {
  auto stream = std::make_unique<Stream>(this, context);
  Stream* raw = stream.get();
  absl::MutexLock lock(&mu_);
  streams_.push_back(std::move(stream));
  return raw;
}

bool TestController::OnHello(Stream* stream, const v1::Hello& hello) {
  Session session;
  session.hello = hello;
  absl::StatusOr<AgentIdentity> identity = stream->PeerIdentity();
  if (!identity.ok()) {
    stream->End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                             std::string(identity.status().message())));
    return false;
  }
  session.forest = identity->forest;
  session.agent_id = identity->agent_id;
  ControllerMessage welcome;
  {
    absl::MutexLock lock(&mu_);
    session.number = static_cast<int>(sessions_.size()) + 1;
    session.session_id = absl::StrCat("test-session-", session.number);
    auto* w = welcome.mutable_welcome();
    w->set_session_id(session.session_id);
    w->set_protocol_version(std::min<uint32_t>(hello.protocol_version(), kProtocolVersion));
    w->set_heartbeat_interval_ms(
        static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
    w->set_lease_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.lease)));
    w->set_forest(session.forest);
    w->set_agent_id(session.agent_id);
  }
  // The Welcome is queued before the session becomes visible to tests, so
  // no job can overtake it on the stream.
  stream->Send(std::move(welcome));
  {
    absl::MutexLock lock(&mu_);
    stream->number = session.number;
    stream->welcomed = true;
    stream->credit = hello.max_in_flight();
    current_ = stream;
    sessions_.push_back(session);
  }
  return true;
}

void TestController::OnAgentMessage(Stream* stream, const AgentMessage& message) {
  absl::MutexLock lock(&mu_);
  switch (message.body_case()) {
    case AgentMessage::kResults:
      for (const auto& r : message.results().results()) {
        results_.push_back(r);
        if (stream->outstanding > 0) stream->outstanding--;
      }
      return;
    case AgentMessage::kObserved: {
      size_t n = static_cast<size_t>(message.observed().objects_size());
      stream->outstanding -= std::min(stream->outstanding, n);
      observed_.push_back(message.observed());
      return;
    }
    case AgentMessage::kHeartbeat:
      heartbeats_received_++;
      stream->agent_heartbeat = std::max(stream->agent_heartbeat, message.heartbeat().sequence());
      return;
    case AgentMessage::kScanPage:
      scan_pages_.push_back(message.scan_page());
      return;
    case AgentMessage::kHello:
    case AgentMessage::BODY_NOT_SET:
      return;
  }
}

void TestController::OnStreamDone(Stream* stream) {
  absl::MutexLock lock(&mu_);
  if (current_ == stream) current_ = nullptr;
}

void TestController::OnWritten() {
  absl::MutexLock lock(&mu_);
  last_send_ = absl::Now();
}

absl::StatusOr<TestController::Stream*> TestController::CurrentForSend(size_t credit) {
  absl::MutexLock lock(&mu_);
  if (current_ == nullptr || current_->done()) {
    return absl::FailedPreconditionError("TestController: no agent session is connected");
  }
  if (options_.enforce_credit && current_->outstanding + credit > current_->credit) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TestController: sending ", credit, " more would exceed the agent's credit of ",
        current_->credit, " (", current_->outstanding, " outstanding)"));
  }
  current_->outstanding += credit;
  return current_;
}

absl::Status TestController::SendOnCurrent(ControllerMessage message, size_t credit) {
  WB_ASSIGN_OR_RETURN(Stream * stream, CurrentForSend(credit));
  stream->Send(std::move(message));
  return absl::OkStatus();
}

absl::Status TestController::SendJobs(const std::vector<v1::Job>& jobs) {
  WB_ASSIGN_OR_RETURN(Stream * stream, CurrentForSend(jobs.size()));
  ControllerMessage message;
  for (const auto& job : jobs) *message.mutable_jobs()->add_jobs() = job;
  stream->Send(std::move(message));
  return absl::OkStatus();
}

absl::Status TestController::SendRead(const std::string& request_id,
                                      const std::vector<v1::ReadTarget>& targets) {
  WB_ASSIGN_OR_RETURN(Stream * stream, CurrentForSend(targets.size()));
  ControllerMessage message;
  message.mutable_read_request()->set_request_id(request_id);
  for (const auto& t : targets) *message.mutable_read_request()->add_targets() = t;
  stream->Send(std::move(message));
  return absl::OkStatus();
}

absl::StatusOr<TestController::Session> TestController::WaitForAgent(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto arrived = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(sessions_.size()) > returned_sessions_;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "TestController: no new agent session within ", absl::FormatDuration(timeout), " (",
        sessions_.size(), " sessions so far, ", streams_.size(), " streams opened)"));
  }
  returned_sessions_ = static_cast<int>(sessions_.size());
  return sessions_.back();
}

int TestController::sessions() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sessions_.size());
}

bool TestController::connected() const {
  absl::MutexLock lock(&mu_);
  return current_ != nullptr && !current_->done();
}

absl::StatusOr<std::vector<v1::JobResult>> TestController::WaitForResults(size_t n,
                                                                          absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return results_.size() >= n; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&enough), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("TestController: ", results_.size(), " of ",
                                                    n, " job results arrived within ",
                                                    absl::FormatDuration(timeout)));
  }
  std::vector<v1::JobResult> out(results_.begin(), results_.begin() + n);
  results_.erase(results_.begin(), results_.begin() + n);
  return out;
}

std::vector<v1::JobResult> TestController::TakeResults() {
  absl::MutexLock lock(&mu_);
  std::vector<v1::JobResult> out(results_.begin(), results_.end());
  results_.clear();
  return out;
}

absl::StatusOr<v1::Observed> TestController::WaitForObserved(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !observed_.empty(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&any), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "TestController: no Observed message within ", absl::FormatDuration(timeout)));
  }
  v1::Observed out = std::move(observed_.front());
  observed_.pop_front();
  return out;
}

void TestController::SetHeartbeats(bool on) {
  absl::MutexLock lock(&mu_);
  heartbeats_ = on;
}

absl::Time TestController::last_send_time() const {
  absl::MutexLock lock(&mu_);
  return last_send_;
}

int64_t TestController::heartbeats_received() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_received_;
}

absl::Status TestController::Disconnect(absl::Duration timeout) {
  Stream* stream;
  {
    absl::MutexLock lock(&mu_);
    stream = current_;
  }
  if (stream == nullptr) {
    return absl::FailedPreconditionError("TestController: no agent session to disconnect");
  }
  stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test controller disconnected"));
  absl::Status s = WaitForDisconnect(timeout);
  if (!s.ok()) stream->Cancel();  // writes stuck behind flow control
  return s;
}

absl::Status TestController::WaitForDisconnect(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto gone = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return current_ == nullptr; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&gone), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "TestController: the agent stream was still open after ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

void TestController::HeartbeatLoop() {
  uint64_t sequence = 0;
  while (true) {
    Stream* target = nullptr;
    ControllerMessage ping;
    {
      absl::MutexLock lock(&mu_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      // Twice per interval, so that echoes lag the agent's heartbeats little.
      mu_.AwaitWithTimeout(absl::Condition(&stopped), options_.heartbeat_interval / 2);
      if (stop_) return;
      if (heartbeats_ && current_ != nullptr) {
        target = current_;
        ping.mutable_heartbeat()->set_sequence(++sequence);
        ping.mutable_heartbeat()->set_echo(target->agent_heartbeat);
      }
    }
    if (target != nullptr) target->Send(std::move(ping));
  }
}

}  // namespace writeback::testing
