#include "tests/system/hostile_stream.h"

#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/impl/rpc_method.h"
#include "tests/harness/raw_messages.h"

namespace writeback::testing {

using writeback::v1::AgentMessage;
using writeback::v1::ControllerMessage;

std::unique_ptr<HostileStream> HostileStream::Open(int agent_port, const std::string& ca_pem,
                                                   const std::string& cert_pem,
                                                   const std::string& key_pem) {
  static std::atomic<int> count{0};
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  args.SetInt("writeback.hostile", ++count);  // never share a connection
  args.SetMaxSendMessageSize(-1);             // the controller's limit is under test
  std::unique_ptr<HostileStream> h(new HostileStream);
  h->channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", agent_port),
                                          grpc::SslCredentials(ssl), args);
  h->context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  // A generic bidirectional call: ByteBuffer both ways, so that any bytes
  // can be sent.
  grpc::internal::RpcMethod method(kConnectMethod, grpc::internal::RpcMethod::BIDI_STREAMING);
  h->stream_.reset(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          h->channel_.get(), method, &h->context_));
  return h;
}

HostileStream::~HostileStream() {
  if (!finished_) context_.TryCancel();
  if (!finished_) (void)stream_->Finish();
}

bool HostileStream::SendRaw(const std::string& bytes) {
  grpc::ByteBuffer buffer = ToByteBuffer(bytes);
  return stream_->Write(buffer);
}

bool HostileStream::Send(const AgentMessage& message) {
  return SendRaw(message.SerializeAsString());
}

bool HostileStream::ReadUntil(const std::function<bool(const ControllerMessage&)>& want,
                              ControllerMessage* out) {
  grpc::ByteBuffer buffer;
  while (stream_->Read(&buffer)) {
    ControllerMessage m;
    if (!m.ParseFromString(FromByteBuffer(buffer))) continue;
    if (want(m)) {
      if (out != nullptr) *out = std::move(m);
      return true;
    }
  }
  return false;
}

absl::StatusOr<writeback::v1::Welcome> HostileStream::Hello(uint32_t protocol_version,
                                                            uint32_t max_in_flight) {
  AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(protocol_version);
  hello.mutable_hello()->set_max_in_flight(max_in_flight);
  hello.mutable_hello()->set_agent_version("hostile");
  Send(hello);
  ControllerMessage welcome;
  if (ReadUntil([](const ControllerMessage& m) { return m.has_welcome(); }, &welcome)) {
    return welcome.welcome();
  }
  grpc::Status end = Finish();
  return absl::Status(static_cast<absl::StatusCode>(end.error_code()),
                      absl::StrCat("no Welcome: ", end.error_message()));
}

bool HostileStream::Alive() {
  AgentMessage hb;
  const uint64_t sequence = ++heartbeat_ + 1'000'000;
  hb.mutable_heartbeat()->set_sequence(sequence);
  if (!Send(hb)) return false;
  return ReadUntil([sequence](const ControllerMessage& m) {
    return m.has_heartbeat() && m.heartbeat().echo() >= sequence;
  });
}

grpc::Status HostileStream::Finish() {
  if (finished_) return grpc::Status(grpc::StatusCode::INTERNAL, "Finish called twice");
  stream_->WritesDone();
  grpc::ByteBuffer buffer;
  while (stream_->Read(&buffer)) {
  }
  finished_ = true;
  return stream_->Finish();
}

}  // namespace writeback::testing
