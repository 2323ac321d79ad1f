#include "controller/admin/audit.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace writeback::controller {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kRedacted[] = "[redacted]";

bool SecretName(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  for (const char* word : {"token", "password", "secret", "key"}) {
    if (absl::StrContains(n, word)) return true;
  }
  return false;
}

}  // namespace

void RedactSecrets(Message* message) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          RedactSecrets(reflection->MutableRepeatedMessage(message, field, i));
        }
      } else {
        RedactSecrets(reflection->MutableMessage(message, field));
      }
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING || !SecretName(field->name())) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        reflection->SetRepeatedString(message, field, i, kRedacted);
      }
    } else {
      reflection->SetString(message, field, kRedacted);
    }
  }
}

std::string CallerOf(const grpc::ServerContext& context) {
  auto it = context.client_metadata().find(kCallerMetadataKey);
  if (it != context.client_metadata().end()) return std::string(it->second.data(), it->second.size());
  return absl::StrCat("unauthenticated peer ", context.peer());
}

writeback::v1::AuditRecord MakeAuditRecord(const std::string& caller, const std::string& method,
                                           const Message& request, const grpc::Status& result,
                                           absl::Time now) {
  std::unique_ptr<Message> redacted(request.New());
  redacted->CopyFrom(request);
  RedactSecrets(redacted.get());
  std::string arguments;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(*redacted, &arguments, options);
  writeback::v1::AuditRecord record;
  record.set_time_ms(absl::ToUnixMillis(now));
  record.set_caller(caller);
  record.set_method(method);
  record.set_arguments(arguments);
  record.set_result(result.ok() ? "OK"
                                : absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(
                                                   result.error_code())),
                                               ": ", result.error_message()));
  return record;
}

}  // namespace writeback::controller
