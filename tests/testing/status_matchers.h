// gMock matchers for absl::Status, missing from Abseil 20220623.
//
//   EXPECT_THAT(store.Get("x"), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("proxyAddresses")));
//   EXPECT_OK(store.Put(...));
#ifndef WRITEBACK_TESTS_TESTING_STATUS_MATCHERS_H_
#define WRITEBACK_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace writeback::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P(StatusIs, code,
          std::string("has status code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::writeback::testing::GetStatus(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has status code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::writeback::testing::GetStatus(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::writeback::testing::GetStatus(arg);
  *result_listener << "whose status is " << s;
  return s.ok();
}

}  // namespace writeback::testing

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::writeback::testing::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::writeback::testing::IsOk())

// ASSERT_OK_AND_ASSIGN(T x, StatusOrExpr): asserts OK, then declares or
// assigns the value.
#define WB_TEST_CONCAT_INNER_(a, b) a##b
#define WB_TEST_CONCAT_(a, b) WB_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(WB_TEST_CONCAT_(wb_test_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_OK(statusor.status());                         \
  lhs = *std::move(statusor)

#endif  // WRITEBACK_TESTS_TESTING_STATUS_MATCHERS_H_
