// Configuration files are protobuf messages in text format (DESIGN §2), so the
// schema, defaults and the errors naming a field come from one place.
//
//   writeback::v1::AgentConfig config;
//   WB_RETURN_IF_ERROR(LoadTextConfig("/etc/writeback/agent.conf", &config));
#ifndef WRITEBACK_COMMON_BASE_TEXT_CONFIG_H_
#define WRITEBACK_COMMON_BASE_TEXT_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace writeback {

// Parses `path` into `message` (merging into what is there). Errors name the
// file, line, column and the parser's reason, e.g.
//   agent.conf:3:5: Message type "writeback.v1.AgentConfig" has no field named "contoller".
absl::Status LoadTextConfig(const std::string& path, google::protobuf::Message* message);

// Same, from a string; `name` is used in error messages.
absl::Status ParseTextConfig(const std::string& text, const std::string& name,
                             google::protobuf::Message* message);

}  // namespace writeback

#endif  // WRITEBACK_COMMON_BASE_TEXT_CONFIG_H_
