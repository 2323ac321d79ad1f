#include "tests/harness/recording_proxy.h"

#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/peer_identity.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/harness/raw_messages.h"

namespace writeback::testing {

// One agent stream and the controller stream it is carried on. The two
// reactors live as long as the Call; the proxy deletes Calls only once both
// reactors are done. Record state sits behind the proxy's mutex.
class RecordingProxy::Call {
 public:
  Call(RecordingProxy* owner, int number) : owner_(owner), downstream_(this) {
    record_.number = number;
  }

  // Starts both sides, or refuses the agent (no forwarding) when its
  // certificate names no agent.
  grpc::ServerGenericBidiReactor* Start(grpc::CallbackServerContext* context) {
    absl::StatusOr<AgentIdentity> identity = PeerAgentIdentity(*context);
    if (!identity.ok()) {
      {
        absl::MutexLock lock(&owner_->mu_);
        upstream_done_ = true;
        record_.status_code = grpc::StatusCode::PERMISSION_DENIED;
        record_.status_message = std::string(identity.status().message());
      }
      downstream_.End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                   std::string(identity.status().message())));
      return &downstream_;
    }
    {
      absl::MutexLock lock(&owner_->mu_);
      record_.agent_id = identity->agent_id;
      record_.forest = identity->forest;
      started_ = absl::Now();
    }
    upstream_.Start(owner_->upstream_stub_.get());
    downstream_.Start();
    return &downstream_;
  }

  void CancelUpstream() { upstream_.Cancel(); }
  // Held agent messages (under owner_->mu_) and sending them on (not).
  std::vector<std::string> HeldBytes() const;
  void ReleaseHeld();

  // Under owner_->mu_.
  bool done() const { return upstream_done_ && downstream_done_; }
  const StreamRecord& record() const { return record_; }

 private:
  class Downstream;
  class Upstream;

  void Record(Direction direction, const grpc::ByteBuffer& buffer) {
    absl::MutexLock lock(&owner_->mu_);
    RecordedMessage m;
    m.direction = direction;
    m.at_ms = absl::ToInt64Milliseconds(absl::Now() - started_);
    m.bytes = FromByteBuffer(buffer);
    record_.messages.push_back(std::move(m));
  }
  void FromAgent(const grpc::ByteBuffer& buffer);
  void FromController(const grpc::ByteBuffer& buffer);
  void AgentEnded() { upstream_.Cancel(); }
  void ControllerEnded(const grpc::Status& status);
  void DownstreamDone();

  // The agent's side: the proxy is the server. One write in flight at a
  // time; Finish once the queue drained, after which Send is a no-op.
  class Downstream : public grpc::ServerGenericBidiReactor {
   public:
    explicit Downstream(Call* call) : call_(call) {}
    void Start() { StartRead(&in_); }

    void Send(grpc::ByteBuffer buffer) {
      const grpc::ByteBuffer* next = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (ending_) return;
        queue_.push_back(std::move(buffer));
        if (writing_) return;
        writing_ = true;
        next = &queue_.front();
      }
      StartWrite(next);
    }

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

    void OnReadDone(bool ok) override {
      if (!ok) {  // the agent cancelled, half-closed or broke the stream
        call_->AgentEnded();
        return;
      }
      call_->FromAgent(in_);
      StartRead(&in_);
    }

    void OnWriteDone(bool ok) override {
      const grpc::ByteBuffer* next = nullptr;
      bool finish = false;
      grpc::Status status;
      {
        absl::MutexLock lock(&mu_);
        queue_.pop_front();
        if (!ok) queue_.clear();
        if (queue_.empty()) {
          writing_ = false;
          finish = ending_;
          status = final_status_;
        } else {
          next = &queue_.front();
        }
      }
      if (next != nullptr) StartWrite(next);
      if (finish) Finish(status);
    }

    void OnDone() override { call_->DownstreamDone(); }

   private:
    Call* const call_;
    grpc::ByteBuffer in_;  // only the read chain touches it
    absl::Mutex mu_;
    std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
    bool writing_ ABSL_GUARDED_BY(mu_) = false;
    bool ending_ ABSL_GUARDED_BY(mu_) = false;
    grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  };

  // The controller's side: the proxy is the client. A base hold keeps the
  // reactor alive for Send() until reading ends (as agent/uplink does).
  class Upstream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Upstream(Call* call) : call_(call) {}

    void Start(grpc::GenericStub* stub) {
      stub->PrepareBidiStreamingCall(&context_, kConnectMethod, grpc::StubOptions(), this);
      {
        absl::MutexLock lock(&mu_);
        started_ = true;
      }
      AddHold();
      StartRead(&in_);
      StartCall();
    }

    void Send(grpc::ByteBuffer buffer) {
      const grpc::ByteBuffer* next = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (closed_) return;
        queue_.push_back(std::move(buffer));
        if (writing_) return;
        writing_ = true;
        next = &queue_.front();
        AddHold();  // taken before the base hold can go: OnDone cannot run first
      }
      StartWrite(next);
      RemoveHold();
    }

    void Cancel() {
      bool started;
      {
        absl::MutexLock lock(&mu_);
        started = started_;
      }
      if (started) context_.TryCancel();  // no lock held: callbacks may run inline
    }

    void OnReadDone(bool ok) override {
      if (!ok) {  // the controller ended the stream, or it broke
        {
          absl::MutexLock lock(&mu_);
          closed_ = true;
        }
        RemoveHold();
        return;
      }
      call_->FromController(in_);
      StartRead(&in_);
    }

    void OnWriteDone(bool ok) override {
      const grpc::ByteBuffer* next = nullptr;
      {
        absl::MutexLock lock(&mu_);
        queue_.pop_front();
        if (!ok) queue_.clear();
        if (queue_.empty()) {
          writing_ = false;
        } else {
          next = &queue_.front();
        }
      }
      if (next != nullptr) StartWrite(next);
    }

    void OnDone(const grpc::Status& status) override {
      {
        absl::MutexLock lock(&mu_);
        closed_ = true;
      }
      call_->ControllerEnded(status);
    }

   private:
    Call* const call_;
    grpc::ClientContext context_;
    grpc::ByteBuffer in_;
    absl::Mutex mu_;
    std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
    bool started_ ABSL_GUARDED_BY(mu_) = false;
    bool writing_ ABSL_GUARDED_BY(mu_) = false;
    bool closed_ ABSL_GUARDED_BY(mu_) = false;
  };

  RecordingProxy* const owner_;
  Downstream downstream_;
  Upstream upstream_{this};
  // Under owner_->mu_.
  absl::Time started_;
  StreamRecord record_;
  bool upstream_done_ = false;
  bool downstream_done_ = false;
  std::vector<grpc::ByteBuffer> held_;  // Options::hold_from_agent
};

void RecordingProxy::Call::FromAgent(const grpc::ByteBuffer& buffer) {
  Record(Direction::kAgentToController, buffer);
  if (owner_->options_.hold_from_agent &&
      owner_->options_.hold_from_agent(FromByteBuffer(buffer))) {
    absl::MutexLock lock(&owner_->mu_);
    held_.push_back(buffer);
    return;
  }
  upstream_.Send(buffer);
}

std::vector<std::string> RecordingProxy::Call::HeldBytes() const {
  std::vector<std::string> out;
  for (const auto& b : held_) out.push_back(FromByteBuffer(b));
  return out;
}

void RecordingProxy::Call::ReleaseHeld() {
  std::vector<grpc::ByteBuffer> held;
  {
    absl::MutexLock lock(&owner_->mu_);
    held.swap(held_);
  }
  for (auto& b : held) upstream_.Send(std::move(b));
}

void RecordingProxy::Call::FromController(const grpc::ByteBuffer& buffer) {
  Record(Direction::kControllerToAgent, buffer);
  downstream_.Send(buffer);
}

void RecordingProxy::Call::ControllerEnded(const grpc::Status& status) {
  {
    absl::MutexLock lock(&owner_->mu_);
    upstream_done_ = true;
    record_.status_code = status.error_code();
    record_.status_message = status.error_message();
    record_.done = downstream_done_;
  }
  downstream_.End(status);
}

void RecordingProxy::Call::DownstreamDone() {
  bool cancel;
  {
    absl::MutexLock lock(&owner_->mu_);
    downstream_done_ = true;
    record_.done = upstream_done_;
    cancel = !upstream_done_;
  }
  if (cancel) upstream_.Cancel();  // the agent is gone: end the controller's side
}

class RecordingProxy::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(RecordingProxy* owner) : owner_(owner) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    if (context->method() != kConnectMethod) {
      return grpc::CallbackGenericService::CreateReactor(context);  // UNIMPLEMENTED
    }
    return owner_->NewCall(context);
  }

 private:
  RecordingProxy* const owner_;
};

grpc::ServerGenericBidiReactor* RecordingProxy::NewCall(grpc::CallbackServerContext* context) {
  Call* call;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::make_unique<Call>(this, static_cast<int>(calls_.size()) + 1));
    call = calls_.back().get();
  }
  return call->Start(context);
}

RecordingProxy::RecordingProxy(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<RecordingProxy>> RecordingProxy::Start(const Options& options) {
  const std::string& dir = options.cert_dir;
  WB_ASSIGN_OR_RETURN(std::string ca, ReadFileToString(dir + "/ca.pem"));
  WB_ASSIGN_OR_RETURN(std::string cert, ReadFileToString(dir + "/controller.pem"));
  WB_ASSIGN_OR_RETURN(std::string key, ReadFileToString(dir + "/controller.key"));
  WB_ASSIGN_OR_RETURN(std::string agent_cert,
                      ReadFileToString(absl::StrCat(dir, "/", options.upstream_agent, ".pem")));
  WB_ASSIGN_OR_RETURN(std::string agent_key,
                      ReadFileToString(absl::StrCat(dir, "/", options.upstream_agent, ".key")));
  auto proxy = std::unique_ptr<RecordingProxy>(new RecordingProxy(options));

  grpc::SslCredentialsOptions client_ssl;
  client_ssl.pem_root_certs = ca;
  client_ssl.pem_cert_chain = agent_cert;
  client_ssl.pem_private_key = agent_key;
  grpc::ChannelArguments args;  // keepalive as the agent's uplink has it
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  proxy->upstream_channel_ =
      grpc::CreateCustomChannel(options.upstream, grpc::SslCredentials(client_ssl), args);
  proxy->upstream_stub_ = std::make_unique<grpc::GenericStub>(proxy->upstream_channel_);

  proxy->service_ = std::make_unique<Service>(proxy.get());
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = ca;
  ssl.pem_key_cert_pairs.push_back({key, cert});
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &proxy->port_);
  builder.RegisterCallbackGenericService(proxy->service_.get());
  // Keepalive matching the controller's: the agent pings every 10 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  proxy->server_ = builder.BuildAndStart();
  if (proxy->server_ == nullptr || proxy->port_ == 0) {
    return absl::UnavailableError("RecordingProxy: cannot listen on 127.0.0.1:0");
  }
  return proxy;
}

RecordingProxy::~RecordingProxy() {
  {
    absl::MutexLock lock(&mu_);
    for (auto& call : calls_) call->CancelUpstream();
  }
  // Hang guard: calls still open after the deadline are cancelled.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  server_->Wait();
  absl::MutexLock lock(&mu_);
  auto all_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& call : calls_) {
      if (!call->done()) return false;
    }
    return true;
  };
  // Every upstream call was cancelled: OnDone follows promptly. Should one
  // never come, leak the calls rather than free a live reactor.
  if (!mu_.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(10))) {
    for (auto& call : calls_) call.release();
  }
  calls_.clear();
}

std::string RecordingProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::vector<std::string> RecordingProxy::Held() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& call : calls_) {
    for (auto& b : call->HeldBytes()) out.push_back(std::move(b));
  }
  return out;
}

void RecordingProxy::ReleaseHeld() {
  std::vector<Call*> calls;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& call : calls_) calls.push_back(call.get());
  }
  for (Call* call : calls) call->ReleaseHeld();
}

std::vector<RecordingProxy::StreamRecord> RecordingProxy::Streams() const {
  absl::MutexLock lock(&mu_);
  std::vector<StreamRecord> out;
  for (const auto& call : calls_) out.push_back(call->record());
  return out;
}

absl::Status RecordingProxy::WaitForStreamsDone(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (calls_.empty()) return false;
    for (const auto& call : calls_) {
      if (!call->done()) return false;
    }
    return true;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&settled), timeout)) {
    int open = 0;
    for (const auto& call : calls_) open += !call->done();
    return absl::DeadlineExceededError(absl::StrCat(
        "RecordingProxy: ", calls_.size(), " streams opened, ", open, " still open after ",
        absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

}  // namespace writeback::testing
