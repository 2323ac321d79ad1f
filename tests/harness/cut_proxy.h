// CutProxy: a byte-level TCP forwarder on loopback that a test can sever on
// command, to cut an agent's stream to the controller mid-batch (DESIGN §9
// "a stream cut"). TLS passes through untouched (mutual TLS stays end to
// end between agent and controller); the proxy sees only bytes.
//
//   WB_ASSIGN_OR_RETURN(auto proxy, CutProxy::Start("127.0.0.1:" + port));
//   agent_options.controller = proxy->address();
//   ...
//   int cut = proxy->CutAll();  // RST to both sides of every open connection
//
// One thread accepts; each connection has one thread that relays both
// directions (poll, non-blocking sockets) and is the only one touching its
// sockets. CutAll() asks every connection thread to reset its two sockets
// (SO_LINGER 0, then close: the peers see a connection reset, not an orderly
// end) and waits until they did. New connections are accepted afterwards, so
// the agent reconnects through the proxy. Thread-safe. Not copyable.
#ifndef WRITEBACK_TESTS_HARNESS_CUT_PROXY_H_
#define WRITEBACK_TESTS_HARNESS_CUT_PROXY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace writeback::testing {

class CutProxy {
 public:
  // Listens on 127.0.0.1, port 0 (the kernel's choice), and forwards each
  // connection to `upstream` ("host:port", IPv4). Fails when it cannot listen.
  static absl::StatusOr<std::unique_ptr<CutProxy>> Start(const std::string& upstream);

  // Cuts what is open and stops accepting.
  ~CutProxy();
  CutProxy(const CutProxy&) = delete;
  CutProxy& operator=(const CutProxy&) = delete;

  std::string address() const;  // "127.0.0.1:PORT"

  // Resets both sides of every open connection and returns once each is
  // closed; returns how many were cut.
  int CutAll();

  // Connections accepted so far, and bytes relayed (both directions).
  int connections_accepted() const { return accepted_.load(); }
  int64_t bytes_relayed() const { return bytes_.load(); }
  // Connections open now.
  int open_connections();

 private:
  struct Connection;
  CutProxy(int listener, int port, std::string upstream_host, int upstream_port);
  void AcceptLoop();
  void Relay(Connection* c);

  const int listener_;
  const int port_;
  const std::string upstream_host_;
  const int upstream_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int64_t> bytes_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_CUT_PROXY_H_
