#include "controller/ctl/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base/address.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "grpcpp/support/client_interceptor.h"

namespace writeback::ctl {
namespace {

constexpr char kDefaultController[] = "127.0.0.1:7444";

std::string FirstGiven(std::initializer_list<const std::string*> candidates) {
  for (const std::string* c : candidates) {
    if (!c->empty()) return *c;
  }
  return "";
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Adds "authorization: Bearer <token>" to every call.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::shared_ptr<const std::string> header)
      : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::shared_ptr<const std::string> header_;
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token)
      : header_(std::make_shared<const std::string>(absl::StrCat("Bearer ", token))) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerInterceptor(header_);
  }

 private:
  const std::shared_ptr<const std::string> header_;
};

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  WB_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(path));
  absl::string_view token = absl::StripAsciiWhitespace(text);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  for (char c : token) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token file ", path, " must hold only the token (one word of printable characters)"));
    }
  }
  return std::string(token);
}

}  // namespace

bool IsAuthFailure(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

CtlEnvironment CtlEnvironment::FromProcess() {
  return {Env("WRITEBACK_CONTROLLER"), Env("WRITEBACKCTL_TOKEN_FILE"), Env("WRITEBACKCTL_CONFIG"),
          Env("HOME")};
}

absl::StatusOr<CtlSettings> ParseCtlConfig(absl::string_view text, const std::string& file_name) {
  CtlSettings settings;
  const std::filesystem::path dir = std::filesystem::path(file_name).parent_path();
  const std::map<std::string, std::string*> keys = {
      {"controller", &settings.controller}, {"token_file", &settings.token_file},
      {"ca_file", &settings.ca_file},       {"cert_file", &settings.cert_file},
      {"key_file", &settings.key_file}};
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    auto it = keys.find(key);
    if (eq == absl::string_view::npos || it == keys.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ":", line_number,
          ": expected \"key = value\" with a key of controller, token_file, ca_file, cert_file, "
          "key_file"));
    }
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (it->first != "controller" && !value.empty() && std::filesystem::path(value).is_relative()) {
      value = (dir / value).string();
    }
    *it->second = value;
  }
  return settings;
}

absl::StatusOr<CtlSettings> ResolveCtlSettings(const CtlSettings& flags,
                                               const std::string& config_flag,
                                               const CtlEnvironment& environment) {
  CtlSettings file;
  std::string config = FirstGiven({&config_flag, &environment.config});
  if (config.empty() && !environment.home.empty()) {
    std::string user = environment.home + "/.config/writeback/writebackctl.conf";
    if (Exists(user)) config = user;
  }
  if (!config.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(config);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("writebackctl configuration (--ctl_config, "
                                       "WRITEBACKCTL_CONFIG or ~/.config/writeback/"
                                       "writebackctl.conf): ",
                                       text.status().message()));
    }
    WB_ASSIGN_OR_RETURN(file, ParseCtlConfig(*text, config));
  }
  static const std::string kDefault = kDefaultController;
  CtlSettings s;
  s.controller = FirstGiven({&flags.controller, &environment.controller, &file.controller, &kDefault});
  s.token_file = FirstGiven({&flags.token_file, &environment.token_file, &file.token_file});
  s.ca_file = FirstGiven({&flags.ca_file, &file.ca_file});
  s.cert_file = FirstGiven({&flags.cert_file, &file.cert_file});
  s.key_file = FirstGiven({&flags.key_file, &file.key_file});
  return s;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenAdminChannel(
    const CtlSettings& settings, const grpc::ChannelArguments& arguments) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    return absl::InvalidArgumentError(
        "an admin client certificate needs both --cert_file and --key_file");
  }
  if (!settings.cert_file.empty() && settings.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--cert_file: a client certificate is presented over TLS only; give --ca_file, the CA "
        "that verifies the controller's certificate");
  }
  if (!settings.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    WB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(settings.ca_file));
    if (!settings.cert_file.empty()) {
      WB_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFileToString(settings.cert_file));
      WB_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPrivateFile(settings.key_file));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!settings.token_file.empty()) {
    if (settings.ca_file.empty() && !IsLoopbackAddress(settings.controller)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "will not send a token in clear to ", settings.controller,
          ", which is not a loopback address: give --ca_file (TLS; the controller needs "
          "admin_auth { tls: true })"));
    }
    WB_ASSIGN_OR_RETURN(std::string token, ReadToken(settings.token_file));
    interceptors.push_back(std::make_unique<BearerInterceptorFactory>(token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      settings.controller, credentials, arguments, std::move(interceptors));
}

}  // namespace writeback::ctl
