#include "agent/uplink/uplink.h"

#include "common/base/backoff.h"
#include "common/base/log.h"

namespace writeback::agent {

Uplink::Uplink(Options options, Listener* listener)
    : options_(std::move(options)), listener_(listener) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options_.ca_pem;
  ssl.pem_cert_chain = options_.cert_pem;
  ssl.pem_private_key = options_.key_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  channel_ = grpc::CreateCustomChannel(options_.controller, grpc::SslCredentials(ssl), args);
  stub_ = writeback::v1::AgentGateway::NewStub(channel_);
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
    auto stream = std::make_shared<AgentStream>(
        stub_.get(), [this](const writeback::v1::ControllerMessage& m) { listener_->OnMessage(m); });
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
    WB_LOG(WARNING) << "stream to controller " << options_.controller << " ended ("
                    << status.error_code() << ": " << status.error_message()
                    << "); reconnecting in " << absl::FormatDuration(wait);
    absl::MutexLock lock(&mu_);
    current_.reset();
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopped), wait);
    if (stop_) return;
  }
}

}  // namespace writeback::agent
