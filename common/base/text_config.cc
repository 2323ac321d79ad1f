#include "common/base/text_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace writeback {
namespace {
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string name) : name_(std::move(name)) {}
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::string name_;
  std::vector<std::string> errors_;
};
}  // namespace

absl::Status ParseTextConfig(const std::string& text, const std::string& name,
                             google::protobuf::Message* message) {
  Collector collector(name);
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
