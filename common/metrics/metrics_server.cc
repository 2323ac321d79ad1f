#include "common/metrics/metrics_server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/address.h"
#include "common/base/log.h"
#include "common/base/log_format.h"
#include "common/base/status_macros.h"
#include "common/metrics/text_format.h"

namespace writeback::metrics {
namespace {

bool IsIpv4(const std::string& host) {
  std::vector<std::string> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4) return false;
  for (const std::string& p : parts) {
    int n = 0;
    if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &n) || n < 0 || n > 255) return false;
  }
  return true;
}

int LogMessage(const ::mg_connection*, const char* message) {
  WB_LOG(WARNING) << "metrics endpoint: HTTP server error" << LogField("error", message)
                  << LogHint("nothing to do unless it repeats: scrapes are served again");
  return 1;  // handled: civetweb writes nothing to stderr itself
}

}  // namespace

absl::StatusOr<std::string> ToListeningPort(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", host_port, "\" has no :port"));
  }
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  int n = -1;
  if (!absl::SimpleAtoi(port, &n) || n < 0 || n > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", host_port, "\": the port must be a number from 0 to 65535"));
  }
  if (host == "localhost") host = "127.0.0.1";
  const bool ipv6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (!ipv6 && !IsIpv4(host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", host_port, "\": give an IP address (127.0.0.1, [::1], 0.0.0.0) or localhost"));
  }
  return absl::StrCat(host, ":", n);
}

absl::Status MetricsServer::CheckDaemonOptions(const Options& metrics,
                                               const std::string& log_level,
                                               const std::string& log_format) {
  if (!metrics.listen.empty()) WB_RETURN_IF_ERROR(CheckOptions(metrics, "metrics_listen"));
  LogLevel level;
  WB_RETURN_IF_ERROR(ParseLogLevel(log_level, &level));
  LogFormat format;
  return ParseLogFormat(log_format, &format);
}

absl::Status MetricsServer::CheckOptions(const Options& options, const std::string& field) {
  absl::StatusOr<std::string> listening = ToListeningPort(options.listen);
  if (!listening.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", listening.status().message()));
  }
  if (!options.allow_non_loopback && !IsLoopbackAddress(options.listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", options.listen,
                     "\" is not a loopback address: metrics bind to loopback (DESIGN §7); "
                     "set ",
                     field, "_allow_non_loopback: true to serve them on another interface"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const Options& options,
                                                                    const Registry* registry,
                                                                    const std::string& field) {
  WB_RETURN_IF_ERROR(CheckOptions(options, field));
  absl::StatusOr<std::string> listening = ToListeningPort(options.listen);
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  std::unique_ptr<MetricsServer> server(new MetricsServer(registry));
  const char* civet_options[] = {"listening_ports",
                                 listening->c_str(),
                                 "num_threads",
                                 "2",
                                 "request_timeout_ms",
                                 "10000",
                                 "max_request_size",
                                 "8192",
                                 "enable_keep_alive",
                                 "no",
                                 "enable_directory_listing",
                                 "no",
                                 nullptr};
  struct mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &LogMessage;
  server->context_ = mg_start(&callbacks, server.get(), civet_options);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(field, ": cannot listen on ", options.listen, " (address in use?)"));
  }
  mg_set_request_handler(server->context_, "/metrics$", &MetricsServer::Handle, server.get());
  struct mg_server_port ports[2];
  std::memset(ports, 0, sizeof(ports));
  if (mg_get_server_ports(server->context_, 2, ports) < 1 || ports[0].port <= 0) {
    return absl::UnavailableError(absl::StrCat(field, ": no port bound for ", options.listen));
  }
  server->port_ = ports[0].port;
  return server;
}

MetricsServer::~MetricsServer() {
  if (context_ != nullptr) mg_stop(context_);
}

int MetricsServer::Handle(::mg_connection* conn, void* self) {
  const struct mg_request_info* request = mg_get_request_info(conn);
  const std::string method = request->request_method != nullptr ? request->request_method : "";
  if (method != "GET" && method != "HEAD") {
    mg_response_header_start(conn, 405);
    mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
    mg_response_header_add(conn, "Content-Type", "text/plain", -1);
    mg_response_header_add(conn, "Content-Length", "19", -1);
    mg_response_header_send(conn);
    mg_write(conn, "method not allowed\n", 19);
    return 405;
  }
  const std::string body = RenderText(*static_cast<MetricsServer*>(self)->registry_);
  mg_send_http_ok(conn, kTextContentType, static_cast<long long>(body.size()));
  if (method == "GET") mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace writeback::metrics
