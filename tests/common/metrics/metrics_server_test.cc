#include "common/metrics/metrics_server.h"

#include "common/metrics/text_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"
#include "tests/testing/status_matchers.h"

namespace writeback::metrics {
namespace {

using ::testing::HasSubstr;
using ::writeback::testing::HttpRequest;
using ::writeback::testing::StatusIs;

TEST(MetricsServerTest, ServesMetricsOnLoopbackWithAFreePort) {
  Registry registry;
  registry.AddCounter("served_total", "Served.", {"x"}).With({"y"}).Inc(3);
  auto server = MetricsServer::Start({"127.0.0.1:0"}, &registry, "metrics_listen");
  ASSERT_OK(server.status());
  ASSERT_GT((*server)->port(), 0);
  auto answer = HttpRequest((*server)->port(), "GET", "/metrics");
  ASSERT_OK(answer.status());
  EXPECT_EQ(answer->status, 200);
  EXPECT_THAT(answer->headers, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_EQ(answer->body, RenderText(registry));
  EXPECT_THAT(answer->body, HasSubstr("served_total{x=\"y\"} 3\n"));
}

TEST(MetricsServerTest, OtherPathsAre404AndOtherMethods405) {
  Registry registry;
  auto server = MetricsServer::Start({"localhost:0"}, &registry, "metrics_listen");
  ASSERT_OK(server.status());
  const int port = (*server)->port();
  for (const char* path : {"/", "/metrics/x", "/metricsx", "/other"}) {
    auto answer = HttpRequest(port, "GET", path);
    ASSERT_OK(answer.status());
    EXPECT_EQ(answer->status, 404) << path;
  }
  auto post = HttpRequest(port, "POST", "/metrics");
  ASSERT_OK(post.status());
  EXPECT_EQ(post->status, 405);
  EXPECT_THAT(post->headers, HasSubstr("Allow: GET, HEAD"));
  auto head = HttpRequest(port, "HEAD", "/metrics");
  ASSERT_OK(head.status());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST(MetricsServerTest, RefusesNonLoopbackUnlessAllowed) {
  Registry registry;
  EXPECT_THAT(
      MetricsServer::Start({"0.0.0.0:0"}, &registry, "metrics_listen").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics_listen_allow_non_loopback")));
  auto allowed = MetricsServer::Start({"0.0.0.0:0", true}, &registry, "metrics_listen");
  ASSERT_OK(allowed.status());
  auto answer = HttpRequest((*allowed)->port(), "GET", "/metrics");
  ASSERT_OK(answer.status());
  EXPECT_EQ(answer->status, 200);
}

TEST(MetricsServerTest, DaemonOptionsCheckMetricsAndLogSettings) {
  EXPECT_OK(MetricsServer::CheckDaemonOptions({""}, "", ""));  // all unset: defaults
  EXPECT_OK(MetricsServer::CheckDaemonOptions({"127.0.0.1:0"}, "debug", "json"));
  EXPECT_THAT(MetricsServer::CheckDaemonOptions({"0.0.0.0:9474"}, "info", "text"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics_listen")));
  EXPECT_THAT(MetricsServer::CheckDaemonOptions({""}, "loud", "text"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_level")));
  EXPECT_THAT(MetricsServer::CheckDaemonOptions({""}, "info", "xml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_format")));
}

TEST(MetricsServerTest, RefusesMalformedAddressesAndTakenPorts) {
  Registry registry;
  for (const char* bad : {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "host.example:9474"}) {
    EXPECT_THAT(MetricsServer::Start({bad, true}, &registry, "metrics_listen").status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics_listen")))
        << bad;
  }
  auto first = MetricsServer::Start({"127.0.0.1:0"}, &registry, "metrics_listen");
  ASSERT_OK(first.status());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_THAT(MetricsServer::Start({taken}, &registry, "metrics_listen").status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(taken)));
}

TEST(MetricsServerTest, ListeningPortSyntax) {
  EXPECT_EQ(*ToListeningPort("localhost:9474"), "127.0.0.1:9474");
  EXPECT_EQ(*ToListeningPort("[::1]:0"), "[::1]:0");
  EXPECT_EQ(*ToListeningPort("127.0.0.2:80"), "127.0.0.2:80");
}

}  // namespace
}  // namespace writeback::metrics
