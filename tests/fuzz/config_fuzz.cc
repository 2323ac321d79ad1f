// Fuzz target: the text-format configuration of both binaries
// (common/base/text_config.h, proto/writeback/v1/config.proto) and their
// checks (controller/config/controller_config.h, agent/config/agent_config.h,
// ValidateLocalPolicy in agent/apply/local_policy.h, ParseLogLevel and
// ParseLogFormat in common/base/log.h), as main.cc runs them.
//
// Input: a configuration file's text, read as a ControllerConfig and as an
// AgentConfig, each over its defaults. An input starting with a NUL byte
// (never a configuration) instead builds one of the two messages field by
// field from FuzzedDataProvider (numbers of their full width, booleans,
// short strings, nested messages), printed to text first: that reaches any
// number at once, which edits of text rarely do. Checks, beyond "no crash"
// under ASan and UBSan:
// - a parse error is kInvalidArgument naming the file ("invalid
//   configuration: NAME:line:column: ...");
// - a parsed configuration prints and parses back to the same message;
// - an accepted controller configuration keeps the promises of
//   FinishControllerConfig: lease_ms >= 2 x heartbeat_interval_ms (as
//   numbers, no wrap-around), agent_cert_lifetime_s >= 10, tls.cert_file and
//   tls.key_file together, conflict_window_s > 0 when conflict_corrections
//   is, ca_dir and server_names filled;
// - an accepted agent configuration has state_dir, an ldap.urls entry and a
//   complete bind; its local policy, when valid, passes a job with no changes;
// - Finish* is idempotent: finishing again changes nothing and accepts.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "agent/apply/local_policy.h"
#include "agent/config/agent_config.h"
#include "common/base/log.h"
#include "common/base/text_config.h"
#include "controller/config/controller_config.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "writeback/v1/agent.pb.h"
#include "writeback/v1/config.pb.h"

namespace writeback {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;

void Fail(const char* what, const std::string& detail = "") {
  std::cerr << "property violated: " << what << "\n  " << detail << "\n";
  std::abort();
}

// Parses `text` over `message`; checks the error's form and the round trip.
bool Parse(const std::string& text, const char* name, Message* message) {
  const absl::Status status = ParseTextConfig(text, name, message);
  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(status.message(), std::string("invalid configuration: ") + name + ":")) {
      Fail("parse error's form", std::string(status.message()));
    }
    return false;
  }
  std::string printed;
  if (!google::protobuf::TextFormat::PrintToString(*message, &printed)) Fail("print failed");
  std::unique_ptr<Message> again(message->New());
  const absl::Status reparsed = ParseTextConfig(printed, name, again.get());
  if (!reparsed.ok()) Fail("printed configuration does not parse", std::string(reparsed.message()));
  if (!MessageDifferencer::Equals(*message, *again)) Fail("print/parse round trip", printed);
  return true;
}

void CheckController(const std::string& text) {
  v1::ControllerConfig c = controller::DefaultControllerConfig();
  if (!Parse(text, "controller.conf", &c)) return;
  if (!controller::FinishControllerConfig(&c).ok()) return;
  if (uint64_t{c.heartbeat_interval_ms()} * 2 > uint64_t{c.lease_ms()}) {
    Fail("accepted lease_ms below twice heartbeat_interval_ms", c.ShortDebugString());
  }
  if (c.agent_cert_lifetime_s() < 10) Fail("accepted agent_cert_lifetime_s < 10");
  if (c.tls().cert_file().empty() != c.tls().key_file().empty()) Fail("accepted half a TLS pair");
  if (c.conflict_corrections() > 0 && c.conflict_window_s() == 0) Fail("conflict window 0");
  if (c.ca_dir().empty() || c.server_names().empty()) Fail("derived fields left empty");
  v1::ControllerConfig again = c;
  if (!controller::FinishControllerConfig(&again).ok() || !MessageDifferencer::Equals(c, again)) {
    Fail("FinishControllerConfig is not idempotent", c.ShortDebugString());
  }
  LogLevel level;
  LogFormat format;
  (void)ParseLogLevel(c.log_level(), &level);
  (void)ParseLogFormat(c.log_format(), &format);
}

void CheckAgent(const std::string& text) {
  v1::AgentConfig c = agent::DefaultAgentConfig();
  if (!Parse(text, "agent.conf", &c)) return;
  // What --print_allowlist and every start check: the policy the file names.
  const agent::LocalPolicy policy = agent::LocalPolicyFromConfig(c);
  if (agent::ValidateLocalPolicy(policy).ok()) {
    const agent::PolicyChecker checker(policy);
    v1::Job empty;
    if (!checker.CheckJob(empty).ok()) Fail("a valid policy refuses a job with no changes");
    for (const std::string& dn : c.scope_ous()) {
      if (!checker.InScope(dn)) Fail("a scope OU is not in its own scope", dn);
    }
  }
  if (!agent::FinishAgentConfig(&c).ok()) return;
  if (c.state_dir().empty() || c.ldap().urls().empty()) Fail("accepted without state_dir/urls");
  const bool gssapi = absl::EqualsIgnoreCase(c.ldap().sasl_mechanism(), "GSSAPI");
  if (gssapi ? c.ldap().keytab_file().empty() || c.ldap().principal().empty()
             : c.ldap().bind_dn().empty() || c.ldap().password_file().empty()) {
    Fail("accepted an incomplete bind", c.ShortDebugString());
  }
  v1::AgentConfig again = c;
  if (!agent::FinishAgentConfig(&again).ok() || !MessageDifferencer::Equals(c, again)) {
    Fail("FinishAgentConfig is not idempotent", c.ShortDebugString());
  }
}

// Sets each field of `message` (or leaves it), nested messages up to 3 deep.
void Fill(FuzzedDataProvider* input, Message* message, int depth) {
  const google::protobuf::Descriptor* d = message->GetDescriptor();
  const google::protobuf::Reflection* r = message->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (input->remaining_bytes() == 0) return;
    const size_t count = f->is_repeated() ? input->ConsumeIntegralInRange<size_t>(0, 3)
                                          : input->ConsumeIntegralInRange<size_t>(0, 1);
    for (size_t k = 0; k < count; ++k) {
      using F = google::protobuf::FieldDescriptor;
      const bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case F::CPPTYPE_UINT32: {
          const auto v = input->ConsumeIntegral<uint32_t>();
          rep ? r->AddUInt32(message, f, v) : r->SetUInt32(message, f, v);
          break;
        }
        case F::CPPTYPE_INT32: {
          const auto v = input->ConsumeIntegral<int32_t>();
          rep ? r->AddInt32(message, f, v) : r->SetInt32(message, f, v);
          break;
        }
        case F::CPPTYPE_UINT64: {
          const auto v = input->ConsumeIntegral<uint64_t>();
          rep ? r->AddUInt64(message, f, v) : r->SetUInt64(message, f, v);
          break;
        }
        case F::CPPTYPE_INT64: {
          const auto v = input->ConsumeIntegral<int64_t>();
          rep ? r->AddInt64(message, f, v) : r->SetInt64(message, f, v);
          break;
        }
        case F::CPPTYPE_BOOL: {
          const bool v = input->ConsumeBool();
          rep ? r->AddBool(message, f, v) : r->SetBool(message, f, v);
          break;
        }
        case F::CPPTYPE_STRING: {
          const std::string v = input->ConsumeRandomLengthString(64);
          rep ? r->AddString(message, f, v) : r->SetString(message, f, v);
          break;
        }
        case F::CPPTYPE_ENUM: {
          const int v =
              f->enum_type()
                  ->value(input->ConsumeIntegralInRange<int>(0, f->enum_type()->value_count() - 1))
                  ->number();
          rep ? r->AddEnumValue(message, f, v) : r->SetEnumValue(message, f, v);
          break;
        }
        case F::CPPTYPE_MESSAGE:
          if (depth < 3) {
            Fill(input, rep ? r->AddMessage(message, f) : r->MutableMessage(message, f), depth + 1);
          }
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace
}  // namespace writeback

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The parser logs each error too; the checks need only the status.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (size >= 2 && data[0] == 0) {
    // NUL, then which message (even: the controller's), then its fields.
    writeback::v1::ControllerConfig controller;
    writeback::v1::AgentConfig agent;
    google::protobuf::Message* message = &controller;
    if (data[1] % 2 == 1) message = &agent;
    FuzzedDataProvider input(data + 2, size - 2);
    writeback::Fill(&input, message, 0);
    if (!google::protobuf::TextFormat::PrintToString(*message, &text)) return 0;
  }
  writeback::CheckController(text);
  writeback::CheckAgent(text);
  return 0;
}
