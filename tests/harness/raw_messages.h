// Raw gRPC messages for tests that must see or send exactly the bytes on the
// wire (RecordingProxy, the compat replay): conversions between
// grpc::ByteBuffer and the serialized bytes.
//
//   grpc::ByteBuffer buffer = ToByteBuffer(message.SerializeAsString());
//   std::string bytes = FromByteBuffer(buffer);
#ifndef WRITEBACK_TESTS_HARNESS_RAW_MESSAGES_H_
#define WRITEBACK_TESTS_HARNESS_RAW_MESSAGES_H_

#include <string>
#include <vector>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace writeback::testing {

// The method name generic stubs and services use for the agent stream.
inline constexpr char kConnectMethod[] = "/writeback.v1.AgentGateway/Connect";

inline std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

inline grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_RAW_MESSAGES_H_
