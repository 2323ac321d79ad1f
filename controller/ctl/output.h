// What every writebackctl verb does the same way: JSON with the proto's
// field names (--json), times as UTC text, a deadline on each call.
//
//   if (json) PrintJson(response); else std::cout << FormatTimeMs(r.time_ms());
#ifndef WRITEBACK_CONTROLLER_CTL_OUTPUT_H_
#define WRITEBACK_CONTROLLER_CTL_OUTPUT_H_

#include <cstdint>
#include <string>

#include "google/protobuf/message.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace writeback::ctl {

// Exit codes (documented in kUsage and the README); 5, kExitNotAllowed, is
// in credentials.h.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the controller refused or failed the request
inline constexpr int kExitUsage = 2;        // bad command line or unreadable input file
inline constexpr int kExitUnavailable = 3;  // controller unreachable
inline constexpr int kExitTimeout = 4;      // mailbox wait gave up

// One line of JSON, proto field names (time_ms, not timeMs).
std::string ToJson(const google::protobuf::Message& m);
// ToJson(m) and a newline on stdout.
void PrintJson(const google::protobuf::Message& m);
// "2026-11-24 01:58:18.123" (UTC) for Unix milliseconds.
std::string FormatTimeMs(int64_t ms);

// Every Admin API call gets a deadline: `seconds` from now (30 by default).
void SetDeadline(grpc::ClientContext* context, int seconds = 30);

}  // namespace writeback::ctl

#endif  // WRITEBACK_CONTROLLER_CTL_OUTPUT_H_
