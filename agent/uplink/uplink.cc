#include "agent/uplink/uplink.h"

#include <atomic>

#include "common/base/backoff.h"
#include "common/base/log.h"

namespace writeback::agent {

Uplink::Uplink(Options options, Listener* listener)
    : options_(std::move(options)), listener_(listener) {
  stub_ = MakeStub(options_.cert_pem, options_.key_pem, options_.ca_pem);
}

std::shared_ptr<Uplink::Stub> Uplink::MakeStub(const std::string& cert_pem,
                                               const std::string& key_pem,
                                               const std::string& ca_pem) {
  static std::atomic<int> generation{0};
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  // Each identity gets a connection of its own (channels with equal
  // arguments would share the old certificate's connection).
  args.SetInt("writeback.identity", ++generation);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return writeback::v1::AgentGateway::NewStub(
      grpc::CreateCustomChannel(options_.controller, grpc::SslCredentials(ssl), args));
}

void Uplink::UpdateCredentials(std::string cert_pem, std::string key_pem, std::string ca_pem) {
  std::shared_ptr<Stub> stub = MakeStub(cert_pem, key_pem, ca_pem);
  absl::MutexLock lock(&mu_);
  stub_ = std::move(stub);
  renewed_ = true;
}

Uplink::~Uplink() { Stop(); }

void Uplink::Start() { thread_ = std::thread([this] { Run(); }); }

void Uplink::Stop() {
  std::shared_ptr<AgentStream> current;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    current = current_;
  }
  if (current) current->Cancel();
  if (thread_.joinable()) thread_.join();
}

void Uplink::Run() {
  Backoff backoff({options_.initial_backoff, options_.max_backoff, 1.6});
  while (true) {
    std::shared_ptr<Stub> stub;  // outlives the stream that uses it
    {
      absl::MutexLock lock(&mu_);
      stub = stub_;
      renewed_ = false;
    }
    auto stream = std::make_shared<AgentStream>(
        stub.get(), [this](const writeback::v1::ControllerMessage& m) { listener_->OnMessage(m); });
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      current_ = stream;
    }
    writeback::v1::AgentMessage hello;
    *hello.mutable_hello() = options_.hello;
    listener_->OnStreamStarted(stream);
    absl::Time started = absl::Now();
    stream->Start(std::move(hello));
    grpc::Status status = stream->Wait();
    listener_->OnStreamEnded(status);
    // A stream that lived a while was healthy: start the backoff over.
    if (absl::Now() - started > absl::Seconds(10)) backoff.Reset();
    absl::Duration wait = backoff.Next();
    {
      absl::MutexLock lock(&mu_);
      // A renewed certificate: the controller ended the stream on purpose.
      if (renewed_) wait = absl::ZeroDuration();
    }
    WB_LOG(WARNING) << "stream to controller ended" << LogField("controller", options_.controller)
                    << LogField("code", status.error_code())
                    << LogField("error", status.error_message())
                    << LogField("reconnect_in", absl::FormatDuration(wait))
                    << LogHint(
                           "reconnects by itself; if it keeps failing, check that the "
                           "controller runs and that this agent is not revoked "
                           "(writebackctl agent list)");
    absl::MutexLock lock(&mu_);
    current_.reset();
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopped), wait);
    if (stop_) return;
  }
}

}  // namespace writeback::agent
