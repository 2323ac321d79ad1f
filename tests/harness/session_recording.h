// A recorded agent session: the messages of one AgentGateway.Connect stream,
// byte for byte, as RecordingProxy saw them cross, and the text file that
// keeps them (tests/compat/README.md). Read by the compat test, written by
// its fixture generator.
//
//   # A2C hello { protocol_version: 1 agent_version: "0.1.0" capabilities: "dry_run" max_in_flight: 64 }
//   A2C 2 ChQIARIFMC4xLjAaB2RyeV9ydW4gQA==
//   # C2A welcome { session_id: "s-a2bc6441-1" protocol_version: 1 heartbeat_interval_ms: 1000 ... }
//   C2A 8 CjIKDHMtYTJiYzY0NDEtMRABGOgHIIgnKhFjb3JwLmV4YW1wbGUudGVzdDIHYWdlbnQtMQ==
//
// One message a line: direction (A2C agent to controller, C2A controller to
// agent), milliseconds since the stream opened, and the base64 (RFC 4648,
// padded) of the serialized protobuf exactly as it was on the wire. Lines
// starting with '#' are comments; the writer puts each message's text form
// (ShortDebugString) in the comment line before it, for reviewers only: the
// base64 is the record. The format never changes; a new one gets a new name.
#ifndef WRITEBACK_TESTS_HARNESS_SESSION_RECORDING_H_
#define WRITEBACK_TESTS_HARNESS_SESSION_RECORDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace writeback::testing {

enum class Direction { kAgentToController, kControllerToAgent };

struct RecordedMessage {
  Direction direction = Direction::kAgentToController;
  int64_t at_ms = 0;   // since the stream opened
  std::string bytes;   // the serialized AgentMessage / ControllerMessage
};

// "A2C" / "C2A".
const char* DirectionName(Direction direction);

// The file text: `header` lines (each prefixed with "# "), then every
// message with its comment line.
std::string FormatSession(const std::vector<RecordedMessage>& messages,
                          const std::vector<std::string>& header);

// Parses FormatSession's output (any comments). kInvalidArgument names the
// line that is not "A2C|C2A MS BASE64".
absl::StatusOr<std::vector<RecordedMessage>> ParseSession(absl::string_view text);

// The text form of a recorded message, decoded with this build's protos
// (an AgentMessage for A2C, a ControllerMessage for C2A).
std::string DescribeMessage(const RecordedMessage& message);

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_SESSION_RECORDING_H_
