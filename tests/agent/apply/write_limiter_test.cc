// WriteLimiter and the address helpers: the write caps on a FakeClock, and the
// pure address rules.
#include "agent/apply/write_limiter.h"

#include "agent/apply/address_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::writeback::testing::StatusIs;

TEST(WriteLimiterTest, NoCapsNeverWaitNorRefuse) {
  FakeClock clock;
  WriteLimiter limiter({}, &clock);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(limiter.Delay("dc1"), absl::ZeroDuration());
    EXPECT_OK(limiter.CheckVolume());
    limiter.Record("dc1");
  }
}

TEST(WriteLimiterTest, RateAllowsOneSecondOfBurstThenSpacesWrites) {
  FakeClock clock;
  WriteLimiter limiter({.per_second = 4}, &clock);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(limiter.Delay("dc1"), absl::ZeroDuration());
    limiter.Record("dc1");
  }
  EXPECT_EQ(limiter.Delay("dc1"), absl::Milliseconds(250));
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(limiter.Delay("dc1"), absl::Milliseconds(150));
  clock.Advance(absl::Milliseconds(150));
  EXPECT_EQ(limiter.Delay("dc1"), absl::ZeroDuration());
  limiter.Record("dc1");
  // Idle time refills at most one second's worth.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 4; ++i) limiter.Record("dc1");
  EXPECT_GT(limiter.Delay("dc1"), absl::ZeroDuration());
}

TEST(WriteLimiterTest, RateIsKeptPerDc) {
  FakeClock clock;
  WriteLimiter limiter({.per_second = 1}, &clock);
  limiter.Record("ldaps://dc1");
  EXPECT_EQ(limiter.Delay("ldaps://dc1"), absl::Seconds(1));
  EXPECT_EQ(limiter.Delay("ldaps://dc2"), absl::ZeroDuration());
}

TEST(WriteLimiterTest, VolumeCapRefusesWithinTheSlidingWindow) {
  FakeClock clock;
  WriteLimiter limiter({.per_window = 3, .window = absl::Seconds(10)}, &clock);
  for (int i = 0; i < 3; ++i) {
    EXPECT_OK(limiter.CheckVolume());
    limiter.Record(i % 2 ? "dc1" : "dc2");  // agent-wide, whatever the DC
    clock.Advance(absl::Seconds(2));
  }
  EXPECT_THAT(limiter.CheckVolume(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("volume cap reached: 3 writes in the last 10 s")));
  clock.Advance(absl::Seconds(4));  // the first write (t=0) leaves the window at t=10
  EXPECT_OK(limiter.CheckVolume());
}

TEST(AddressRulesTest, TypesAndAddresses) {
  EXPECT_EQ(AddressType("smtp:a@x.test"), "SMTP");
  EXPECT_EQ(AddressType("X500:/o=corp"), "X500");
  EXPECT_EQ(AddressType("nocolon"), "");
  EXPECT_EQ(SmtpAddress("SMTP:Ann@X.test"), "Ann@X.test");
  EXPECT_EQ(SmtpAddress("sip:ann@x.test"), "");
  EXPECT_EQ(DomainOf("\"a@b\"@Corp.Test"), "Corp.Test");
  EXPECT_EQ(DomainOf("none"), "");
}

TEST(AddressRulesTest, EscapesFilterValuesPerRfc4515) {
  EXPECT_EQ(EscapeFilterValue(std::string("a*(b)\\\0z\xc3\xa9", 10)),
            "a\\2a\\28b\\29\\5c\\00z\xc3\xa9");
}

TEST(AddressRulesTest, FiltersByType) {
  const std::vector<std::string> values = {"SMTP:a@x.test", "smtp:b@x.test", "X500:/o=c",
                                           "SIP:a@x.test"};
  EXPECT_THAT(OfTypes(values, {"SMTP"}), ElementsAre("SMTP:a@x.test", "smtp:b@x.test"));
  EXPECT_THAT(NotOfTypes(values, {"SMTP"}), ElementsAre("X500:/o=c", "SIP:a@x.test"));
  EXPECT_EQ(OfTypes(values, {}), values);
  EXPECT_THAT(NotOfTypes(values, {}), IsEmpty());
}

}  // namespace
}  // namespace writeback::agent
