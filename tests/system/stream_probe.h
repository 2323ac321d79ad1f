// Opens the agent stream of a running controller with a given client
// identity, as the agent does (its own stream reactor), and reports whether
// the controller welcomed it or how the stream ended (hang guard 20 s).
//
//   StreamProbe p = ProbeAgentStream(env.agent_port(), ca_pem, cert_pem, key_pem);
//   EXPECT_FALSE(p.welcomed);
//   EXPECT_EQ(p.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
#ifndef WRITEBACK_TESTS_SYSTEM_STREAM_PROBE_H_
#define WRITEBACK_TESTS_SYSTEM_STREAM_PROBE_H_

#include <string>

#include "grpcpp/grpcpp.h"

namespace writeback::testing {

struct StreamProbe {
  bool welcomed = false;
  grpc::Status status;
};

// `cert_pem` empty: no client certificate.
StreamProbe ProbeAgentStream(int agent_port, const std::string& ca_pem,
                             const std::string& cert_pem, const std::string& key_pem);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_SYSTEM_STREAM_PROBE_H_
