// A minimal HTTP/1.1 client for tests: one request on a fresh loopback
// connection, the whole answer read until the server closes.
//
//   absl::StatusOr<HttpAnswer> a = HttpRequest(port, "GET", "/metrics");
//   EXPECT_EQ(a->status, 200);
#ifndef WRITEBACK_TESTS_TESTING_HTTP_GET_H_
#define WRITEBACK_TESTS_TESTING_HTTP_GET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace writeback::testing {

struct HttpAnswer {
  int status = 0;
  std::string headers;  // the status line and headers
  std::string body;
};

inline absl::StatusOr<HttpAnswer> HttpRequest(int port, const std::string& method,
                                              const std::string& path,
                                              const std::string& host = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", host, ":", port));
  }
  const std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: ", host, "\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("short write");
  }
  std::string raw;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      close(fd);
      return absl::DeadlineExceededError("reading the answer timed out");
    }
    if (n == 0) break;
    raw.append(buf, n);
  }
  close(fd);
  HttpAnswer answer;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) {
    return absl::DataLossError(absl::StrCat("not an HTTP answer: ", raw.substr(0, 100)));
  }
  answer.headers = raw.substr(0, end);
  answer.body = raw.substr(end + 4);
  if (!absl::SimpleAtoi(raw.substr(9, 3), &answer.status)) {
    return absl::DataLossError("no status code");
  }
  return answer;
}

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_TESTING_HTTP_GET_H_
