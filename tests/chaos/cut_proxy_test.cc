// Unit test of CutProxy (tests/harness/cut_proxy.h), the TCP forwarder the
// stream-cut scenario severs: bytes pass both ways unchanged, CutAll resets
// both sides, and new connections are forwarded afterwards.
#include "tests/harness/cut_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::testing {
namespace {

// A loopback echo server: one thread per connection, until the peer ends.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 8);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buf[4096];
          ssize_t n;
          while ((n = read(c, buf, sizeof(buf))) > 0) (void)!write(c, buf, static_cast<size_t>(n));
          close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

int Dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{10, 0};  // hang guard
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string RoundTrip(int fd, const std::string& data) {
  EXPECT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  std::string got;
  char buf[4096];
  while (got.size() < data.size()) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(CutProxyTest, ForwardsBytesAndResetsBothSidesOnCut) {
  EchoServer echo;
  auto proxy = CutProxy::Start(absl::StrCat("127.0.0.1:", echo.port()));
  ASSERT_OK(proxy);
  const int port = std::stoi((*proxy)->address().substr((*proxy)->address().rfind(':') + 1));

  int a = Dial(port);
  std::string big(200000, 'x');
  EXPECT_EQ(RoundTrip(a, "hello"), "hello");
  EXPECT_EQ(RoundTrip(a, big), big);
  EXPECT_EQ((*proxy)->open_connections(), 1);

  EXPECT_EQ((*proxy)->CutAll(), 1);
  EXPECT_EQ((*proxy)->open_connections(), 0);
  char c;
  errno = 0;
  EXPECT_LT(read(a, &c, 1), 0) << "a reset, not an orderly end";
  EXPECT_EQ(errno, ECONNRESET);
  close(a);

  int b = Dial(port);  // the proxy still forwards new connections
  EXPECT_EQ(RoundTrip(b, "again"), "again");
  close(b);
  EXPECT_EQ((*proxy)->connections_accepted(), 2);
}

}  // namespace
}  // namespace writeback::testing
