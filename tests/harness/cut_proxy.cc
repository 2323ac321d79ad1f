// CutProxy: see cut_proxy.h.
#include "tests/harness/cut_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace writeback::testing {
namespace {

constexpr int kPollMs = 20;
constexpr size_t kChunk = 64 * 1024;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Closes `fd` so that the peer sees a reset (RST), not an orderly end.
void Reset(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

// One direction of a connection: bytes read from `from` wait in `pending`
// until `to` takes them.
struct Pipe {
  int from = -1, to = -1;
  std::string pending;
  bool eof = false;   // `from` ended
  bool shut = false;  // `to` was shut down for writing after the eof
  bool failed = false;
};

// Reads what `from` has (when nothing is pending) and writes what is
// pending. Returns bytes moved.
int64_t Pump(Pipe& p, short from_events, short to_events) {
  int64_t moved = 0;
  if (p.pending.empty() && !p.eof && (from_events & (POLLIN | POLLHUP | POLLERR))) {
    char buf[kChunk];
    ssize_t n = read(p.from, buf, sizeof(buf));
    if (n > 0) {
      p.pending.assign(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      p.eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      p.failed = true;
    }
  }
  if (!p.pending.empty() && (to_events & POLLOUT)) {
    // MSG_NOSIGNAL: a peer that reset its side must not raise SIGPIPE here.
    ssize_t n = send(p.to, p.pending.data(), p.pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      p.pending.erase(0, static_cast<size_t>(n));
      moved += n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      p.failed = true;
    }
  }
  if (p.eof && p.pending.empty() && !p.shut) {
    shutdown(p.to, SHUT_WR);
    p.shut = true;
  }
  return moved;
}

}  // namespace

struct CutProxy::Connection {
  int client = -1;
  std::atomic<bool> cut{false};   // asked to reset
  std::atomic<bool> done{false};  // both sockets closed
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<CutProxy>> CutProxy::Start(const std::string& upstream) {
  std::vector<std::string> parts = absl::StrSplit(upstream, ':');
  int upstream_port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &upstream_port)) {
    return absl::InvalidArgumentError("CutProxy: upstream must be host:port, got " + upstream);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("CutProxy socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("CutProxy listen: ", strerror(errno)));
  }
  return std::unique_ptr<CutProxy>(new CutProxy(fd, ntohs(addr.sin_port), parts[0], upstream_port));
}

CutProxy::CutProxy(int listener, int port, std::string upstream_host, int upstream_port)
    : listener_(listener),
      port_(port),
      upstream_host_(std::move(upstream_host)),
      upstream_port_(upstream_port) {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

CutProxy::~CutProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listener_);
  CutAll();
  absl::MutexLock lock(&mu_);
  for (auto& c : connections_) {
    if (c->thread.joinable()) c->thread.join();
  }
}

std::string CutProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

int CutProxy::open_connections() {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& c : connections_) n += !c->done.load();
  return n;
}

int CutProxy::CutAll() {
  std::vector<Connection*> cut;
  {
    absl::MutexLock lock(&mu_);
    for (auto& c : connections_) {
      if (c->done.load()) continue;
      c->cut = true;
      cut.push_back(c.get());
    }
  }
  const absl::Time guard = absl::Now() + absl::Seconds(10);  // hang guard
  for (Connection* c : cut) {
    while (!c->done.load() && absl::Now() < guard) absl::SleepFor(absl::Milliseconds(2));
  }
  return static_cast<int>(cut.size());
}

void CutProxy::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    accepted_++;
    auto c = std::make_unique<Connection>();
    c->client = client;
    Connection* raw = c.get();
    absl::MutexLock lock(&mu_);
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { Relay(raw); });
  }
}

void CutProxy::Relay(Connection* c) {
  int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
  if (up < 0 || connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    // The upstream is down (a controller restarting): the client sees a reset.
    if (up >= 0) close(up);
    Reset(c->client);
    c->done = true;
    return;
  }
  SetNonBlocking(c->client);
  SetNonBlocking(up);
  SetNoDelay(c->client);
  SetNoDelay(up);
  Pipe to_up, to_client;
  to_up.from = to_client.to = c->client;
  to_up.to = to_client.from = up;
  while (!c->cut.load() && !stopping_.load()) {
    pollfd fds[2] = {{c->client, 0, 0}, {up, 0, 0}};
    if (to_up.pending.empty() && !to_up.eof) fds[0].events |= POLLIN;
    if (to_client.pending.empty() && !to_client.eof) fds[1].events |= POLLIN;
    if (!to_up.pending.empty()) fds[1].events |= POLLOUT;
    if (!to_client.pending.empty()) fds[0].events |= POLLOUT;
    if (poll(fds, 2, kPollMs) < 0 && errno != EINTR) break;
    bytes_ += Pump(to_up, fds[0].revents, fds[1].revents);
    bytes_ += Pump(to_client, fds[1].revents, fds[0].revents);
    if (to_up.failed || to_client.failed) break;
    if (to_up.shut && to_client.shut) {  // both sides ended in order
      close(c->client);
      close(up);
      c->done = true;
      return;
    }
  }
  Reset(c->client);
  Reset(up);
  c->done = true;
}

}  // namespace writeback::testing
