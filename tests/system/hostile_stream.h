// A hostile agent for the bad-input corpus: opens AgentGateway.Connect over
// mutual TLS with a client certificate of the test PKI, as a real agent does,
// and then sends whatever the test says: well-formed messages in the wrong
// order or with hostile contents, or raw bytes that are no protobuf at all.
// Synchronous, one stream per object; the context's deadline (30 s) is the
// hang guard of every read.
//
//   auto h = HostileStream::Open(env.agent_port(), ca, cert, key);
//   ASSERT_OK(h->Hello(/*protocol=*/2, /*max_in_flight=*/1));
//   h->Send(results_for_a_job_it_was_never_given);
//   EXPECT_TRUE(h->Alive());               // the controller ignored it
//   grpc::Status end = h->Finish();        // or: how the controller ended it
#ifndef WRITEBACK_TESTS_SYSTEM_HOSTILE_STREAM_H_
#define WRITEBACK_TESTS_SYSTEM_HOSTILE_STREAM_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/sync_stream.h"
#include "writeback/v1/agent.pb.h"

namespace writeback::testing {

class HostileStream {
 public:
  // Connects (a channel of its own: never a shared connection). The call
  // starts at once; the controller checks the certificate then.
  static std::unique_ptr<HostileStream> Open(int agent_port, const std::string& ca_pem,
                                             const std::string& cert_pem,
                                             const std::string& key_pem);
  ~HostileStream();  // Cancels the call if it still runs.
  HostileStream(const HostileStream&) = delete;
  HostileStream& operator=(const HostileStream&) = delete;

  // False once the stream is broken.
  bool SendRaw(const std::string& bytes);
  bool Send(const writeback::v1::AgentMessage& message);
  // Sends Hello and waits for the Welcome; the status the stream ended with
  // when it did instead.
  absl::StatusOr<writeback::v1::Welcome> Hello(uint32_t protocol_version, uint32_t max_in_flight);
  // Reads until a message satisfies `want` (true, copied to `out` if given)
  // or the stream ends (false).
  bool ReadUntil(const std::function<bool(const writeback::v1::ControllerMessage&)>& want,
                 writeback::v1::ControllerMessage* out = nullptr);
  // The session still serves: a heartbeat is answered with its echo.
  bool Alive();
  // Half-closes, reads what is left and returns how the controller ended
  // the call.
  grpc::Status Finish();

 private:
  HostileStream() = default;

  std::shared_ptr<grpc::Channel> channel_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream_;
  uint64_t heartbeat_ = 0;
  bool finished_ = false;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_HOSTILE_STREAM_H_
