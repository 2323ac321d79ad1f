#include "common/base/text_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace writeback {
namespace {
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  Collector(std::string name, const std::string& text)
      : name_(std::move(name)), lines_(absl::StrSplit(text, '\n')) {}
  // file:line:column: the parser's reason, then the line itself (escaped,
  // shortened), which names the field when the reason does not ("Expected
  // integer, got: ...").
  void AddError(int line, int column, const std::string& message) override {
    std::string error = absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message);
    if (line >= 0 && static_cast<size_t>(line) < lines_.size()) {
      std::string quoted = absl::CHexEscape(absl::StripAsciiWhitespace(lines_[line]));
      if (quoted.size() > 80) quoted = quoted.substr(0, 77) + "...";
      if (!quoted.empty()) absl::StrAppend(&error, " (in: ", quoted, ")");
    }
    if (static_cast<size_t>(line) + 1 >= lines_.size() &&
        absl::StripAsciiWhitespace(lines_.back()).empty()) {
      absl::StrAppend(&error, " (at the end of the file: a block left open?)");
    }
    errors_.push_back(std::move(error));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::string name_;
  std::vector<std::string> lines_;
  std::vector<std::string> errors_;
};
}  // namespace

absl::Status ParseTextConfig(const std::string& text, const std::string& name,
                             google::protobuf::Message* message) {
  Collector collector(name, text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.MergeFromString(text, message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", collector.Joined()));
  }
  return absl::OkStatus();
}

absl::Status LoadTextConfig(const std::string& path, google::protobuf::Message* message) {
  WB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseTextConfig(text, path, message);
}

}  // namespace writeback
