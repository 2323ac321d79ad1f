// Serves a Registry as GET /metrics (Prometheus text format 0.0.4) over
// plain HTTP/1.1, through civetweb (Debian's libcivetweb1). Any other path
// is 404, any other method on /metrics 405. Requests are bounded (8 KiB of
// headers, 10 s to send them) and served by two threads.
//
//   MetricsServer::Options o{.listen = "127.0.0.1:9474"};
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<MetricsServer> server,
//                       MetricsServer::Start(o, &registry));
//   server->port();   // the bound port (useful with port 0)
//
// Thread-safe; stops in the destructor. Not copyable.
#ifndef WRITEBACK_COMMON_METRICS_METRICS_SERVER_H_
#define WRITEBACK_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

struct mg_context;
struct mg_connection;

namespace writeback::metrics {

class MetricsServer {
 public:
  struct Options {
    // host:port: 127.x.y.z, localhost or [::1] unless allow_non_loopback;
    // port 0 picks a free port.
    std::string listen;
    // DESIGN §7: local metrics bind to loopback. True accepts any address
    // (an operator who scrapes from another host, behind a firewall).
    bool allow_non_loopback = false;
  };

  // kInvalidArgument for a malformed or (without allow_non_loopback) a
  // non-loopback address, naming `field` (the configuration field);
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const Options& options,
                                                              const Registry* registry,
                                                              const std::string& field);
  // The kInvalidArgument checks of Start alone, opening nothing: a binary
  // refuses its configuration with them before it creates anything.
  static absl::Status CheckOptions(const Options& options, const std::string& field);
  // What both daemons check of their metrics and log settings before they
  // create anything: metrics_listen (when set, as CheckOptions) and the
  // log_level and log_format names. The message names the field.
  static absl::Status CheckDaemonOptions(const Options& metrics, const std::string& log_level,
                                         const std::string& log_format);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer(const Registry* registry) : registry_(registry) {}
  static int Handle(::mg_connection* conn, void* self);

  const Registry* const registry_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

// "127.0.0.1:9474" → "127.0.0.1:9474", "localhost:0" → "127.0.0.1:0",
// "[::1]:9474" → "[::1]:9474" (civetweb's listening_ports syntax).
// kInvalidArgument for anything without a numeric port or with a host name.
absl::StatusOr<std::string> ToListeningPort(const std::string& host_port);

}  // namespace writeback::metrics

#endif  // WRITEBACK_COMMON_METRICS_METRICS_SERVER_H_
