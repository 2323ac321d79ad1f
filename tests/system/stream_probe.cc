#include "tests/system/stream_probe.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/uplink/agent_stream.h"
#include "writeback/v1/agent.grpc.pb.h"

namespace writeback::testing {

StreamProbe ProbeAgentStream(int agent_port, const std::string& ca_pem,
                             const std::string& cert_pem, const std::string& key_pem) {
  static std::atomic<int> probe{0};
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  args.SetInt("writeback.probe", ++probe);  // never share a connection
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", agent_port),
                                           grpc::SslCredentials(ssl), args);
  auto stub = writeback::v1::AgentGateway::NewStub(channel);
  absl::Mutex mu;
  bool welcomed = false, ended = false;
  auto stream = std::make_shared<agent::AgentStream>(
      stub.get(), [&](const writeback::v1::ControllerMessage& m) {
        absl::MutexLock lock(&mu);
        if (m.has_welcome()) welcomed = true;
      });
  writeback::v1::AgentMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_max_in_flight(1);
  stream->Start(hello);
  std::thread ender([&] {
    {
      absl::MutexLock lock(&mu);
      auto over = [&] { return welcomed || ended; };
      mu.AwaitWithTimeout(absl::Condition(&over), absl::Seconds(20));
    }
    stream->Cancel();
  });
  StreamProbe result;
  result.status = stream->Wait();
  {
    absl::MutexLock lock(&mu);
    ended = true;
    result.welcomed = welcomed;
  }
  ender.join();
  return result;
}

}  // namespace writeback::testing
