// delay_proxy: a TCP proxy that adds a fixed one-way delay to every chunk of
// bytes in each direction, to put a directory "one network hop away" on
// loopback (2.5 ms each way = 5 ms round trip). Bytes keep their order and
// throughput is not limited: each direction is a queue of timestamped chunks
// released when due (one epoll loop, one timerfd for the earliest due chunk).
// TLS passes through untouched, so ldaps://127.0.0.1:PORT still verifies the
// DC's certificate.
//
//   delay_proxy --target=127.0.0.1:636 --delay-ms=2.5 [--port=0]
//               [--port-file=F] [--idle-exit-s=600]
//
// Listens on 127.0.0.1 only; prints the port it listens on (one line) and
// writes it to --port-file. Stops by itself: when its parent dies, or after
// --idle-exit-s seconds without a connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace {

constexpr size_t kReadSize = 64 * 1024;
// Per direction: stop reading while this much waits (only bounds memory; far
// above what a delay-bandwidth product at LDAP rates needs).
constexpr size_t kMaxQueued = 64 * 1024 * 1024;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "delay_proxy: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct Chunk {
  int64_t due_ns;
  std::string data;  // empty with eof: the sender shut its side down
  size_t offset = 0;
  bool eof = false;
};

// One direction of a connection: bytes read from `from`, written to `to`.
struct Direction {
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  size_t queued = 0;
  bool eof_read = false;       // nothing more to read from `from`
  bool eof_delivered = false;  // `to` was shut down for writing
  bool blocked = false;        // the last write to `to` would have blocked
};

struct Connection {
  int client = -1, upstream = -1;
  Direction dir[2];           // 0: client -> upstream, 1: upstream -> client
  uint32_t mask[2] = {0, 0};  // epoll interest of client, upstream
  bool dead = false;
};

class Proxy {
 public:
  Proxy(sockaddr_in target, int64_t delay_ns) : target_(target), delay_ns_(delay_ns) {}

  int Listen(int port) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener_ < 0) Die("socket");
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
    if (listen(listener_, 64) != 0) Die("listen");
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_ < 0 || timer_ < 0) Die("epoll/timerfd");
    Watch(listener_, kListenerKey);
    Watch(timer_, kTimerKey);
    return ntohs(addr.sin_port);
  }

  void Run(pid_t parent, int64_t idle_exit_ns) {
    int64_t last_active = NowNs();
    for (;;) {
      int64_t now = NowNs();
      int64_t next_due = INT64_MAX;
      for (auto it = conns_.begin(); it != conns_.end();) {
        Connection& c = *it->second;
        for (Direction& d : c.dir) {
          if (!c.dead) Flush(c, d, now);
          if (!d.queue.empty() && !d.blocked) next_due = std::min(next_due, d.queue.front().due_ns);
        }
        if (c.dead || (c.dir[0].eof_delivered && c.dir[1].eof_delivered)) {
          close(c.client);
          close(c.upstream);
          it = conns_.erase(it);
          last_active = now;
          continue;
        }
        UpdateInterest(c);
        ++it;
      }
      Arm(next_due);
      if (getppid() != parent) return;  // the benchmark is gone
      if (conns_.empty() && now - last_active > idle_exit_ns) return;

      epoll_event events[64];
      int n = epoll_wait(epoll_, events, 64, 1000);
      if (n < 0 && errno != EINTR) Die("epoll_wait");
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        const uint64_t key = events[i].data.u64;
        if (key == kListenerKey) {
          Accept();
        } else if (key == kTimerKey) {
          uint64_t expirations;
          (void)!read(timer_, &expirations, sizeof(expirations));
        } else {
          HandleSocket(key, events[i].events, now);
        }
      }
      if (n > 0) last_active = now;
    }
  }

 private:
  // epoll keys: these two, or (client fd << 32 | socket fd) for connections.
  static constexpr uint64_t kListenerKey = UINT64_MAX;
  static constexpr uint64_t kTimerKey = UINT64_MAX - 1;

  void Watch(int fd, uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  void Accept() {
    for (;;) {
      int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      // A blocking connect is fine: the target is on loopback.
      if (up < 0 ||
          connect(up, reinterpret_cast<const sockaddr*>(&target_), sizeof(target_)) != 0) {
        std::fprintf(stderr, "delay_proxy: connect to target: %s\n", std::strerror(errno));
        if (up >= 0) close(up);
        close(fd);
        continue;
      }
      SetNonBlocking(up);
      SetNoDelay(fd);
      SetNoDelay(up);
      auto c = std::make_unique<Connection>();
      c->client = fd;
      c->upstream = up;
      c->dir[0].from = fd;
      c->dir[0].to = up;
      c->dir[1].from = up;
      c->dir[1].to = fd;
      UpdateInterest(*c);
      conns_[fd] = std::move(c);
    }
  }

  void HandleSocket(uint64_t key, uint32_t ev, int64_t now) {
    const int fd = static_cast<int>(key & 0xffffffff);
    auto it = conns_.find(static_cast<int>(key >> 32));
    if (it == conns_.end() || it->second->dead) return;
    Connection& c = *it->second;
    for (Direction& d : c.dir) {
      if (d.to == fd && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) d.blocked = false;
      if (d.from == fd && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) ReadFrom(c, d, now);
    }
  }

  void ReadFrom(Connection& c, Direction& d, int64_t now) {
    while (!d.eof_read && d.queued < kMaxQueued) {
      std::string buf(kReadSize, '\0');
      ssize_t got = read(d.from, buf.data(), buf.size());
      if (got > 0) {
        buf.resize(static_cast<size_t>(got));
        d.queued += buf.size();
        d.queue.push_back({now + delay_ns_, std::move(buf)});
        continue;
      }
      if (got == 0) {
        d.eof_read = true;
        d.queue.push_back({now + delay_ns_, {}, 0, true});
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      c.dead = true;  // reset by the peer: drop both sides
      return;
    }
  }

  // Writes every due chunk of `d` until the socket would block.
  void Flush(Connection& c, Direction& d, int64_t now) {
    while (!d.blocked && !d.queue.empty() && d.queue.front().due_ns <= now) {
      Chunk& ch = d.queue.front();
      if (ch.eof) {
        shutdown(d.to, SHUT_WR);
        d.eof_delivered = true;
        d.queue.pop_front();
        continue;
      }
      ssize_t put =
          send(d.to, ch.data.data() + ch.offset, ch.data.size() - ch.offset, MSG_NOSIGNAL);
      if (put < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          d.blocked = true;
        } else if (errno != EINTR) {
          c.dead = true;
          return;
        }
        continue;
      }
      ch.offset += static_cast<size_t>(put);
      d.queued -= static_cast<size_t>(put);
      if (ch.offset == ch.data.size()) d.queue.pop_front();
    }
  }

  void UpdateInterest(Connection& c) {
    const int fds[2] = {c.client, c.upstream};
    for (int k = 0; k < 2; ++k) {
      uint32_t want = 0;
      for (const Direction& d : c.dir) {
        if (d.from == fds[k] && !d.eof_read && d.queued < kMaxQueued) want |= EPOLLIN;
        if (d.to == fds[k] && d.blocked) want |= EPOLLOUT;
      }
      if (want == c.mask[k]) continue;
      epoll_event ev{};
      ev.events = want;
      ev.data.u64 =
          (uint64_t{static_cast<uint32_t>(c.client)} << 32) | static_cast<uint32_t>(fds[k]);
      // Interest 0: unregister, so that a hung-up socket cannot spin the loop.
      int op = want == 0 ? EPOLL_CTL_DEL : c.mask[k] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
      epoll_ctl(epoll_, op, fds[k], &ev);
      c.mask[k] = want;
    }
  }

  void Arm(int64_t due_ns) {
    itimerspec spec{};
    if (due_ns != INT64_MAX) {
      spec.it_value.tv_sec = due_ns / 1000000000;
      spec.it_value.tv_nsec = due_ns % 1000000000;
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  const sockaddr_in target_;
  const int64_t delay_ns_;
  int listener_ = -1, epoll_ = -1, timer_ = -1;
  std::map<int, std::unique_ptr<Connection>> conns_;  // by client fd
};

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a.rfind("--", 0) != 0) {
      std::fprintf(stderr,
                   "usage: delay_proxy --target=HOST:PORT [--delay-ms=2.5] [--port=0] "
                   "[--port-file=F] [--idle-exit-s=600]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  const pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 0;
  signal(SIGPIPE, SIG_IGN);

  const std::string target = Flag(argc, argv, "target", "");
  const size_t colon = target.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, target.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    std::fprintf(stderr, "delay_proxy: --target must be IPv4:PORT, got '%s'\n", target.c_str());
    return 2;
  }
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
  const double delay_ms = std::atof(Flag(argc, argv, "delay-ms", "2.5").c_str());
  const double idle_s = std::atof(Flag(argc, argv, "idle-exit-s", "600").c_str());

  Proxy proxy(to, static_cast<int64_t>(delay_ms * 1e6));
  const int port = proxy.Listen(std::atoi(Flag(argc, argv, "port", "0").c_str()));
  const std::string port_file = Flag(argc, argv, "port-file", "");
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::printf("%d\n", port);
  std::fflush(stdout);
  proxy.Run(parent, static_cast<int64_t>(idle_s * 1e9));
  return 0;
}
