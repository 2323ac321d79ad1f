// Protocol and build versions, shared by both sides.
#ifndef WRITEBACK_COMMON_PROTOCOL_H_
#define WRITEBACK_COMMON_PROTOCOL_H_

#include <cstdint>

namespace writeback {

// The agent stream's protocol version this build speaks (proto/writeback/v1/agent.proto).
inline constexpr uint32_t kProtocolVersion = 3;
// The oldest agent protocol version the controller still serves.
inline constexpr uint32_t kMinProtocolVersion = 1;

// The build version, e.g. "0.1.0".
const char* BuildVersion();

}  // namespace writeback

#endif  // WRITEBACK_COMMON_PROTOCOL_H_
