// GoogleTest matchers for absl::Status and absl::StatusOr (our Abseil ships none).
#ifndef TOUCHLINE_TESTS_TESTING_STATUS_MATCHERS_H_
#define TOUCHLINE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/macros.h"
#include "gmock/gmock.h"

namespace touchline::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches an OK absl::Status or absl::StatusOr.
MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

// Matches a Status or StatusOr whose code is `code`.
MATCHER_P(StatusIs, code, "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

// Matches a Status or StatusOr whose code is `code` and whose message matches `message`.
MATCHER_P2(StatusIs, code, message, "") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message, std::string(status.message()), result_listener);
}

}  // namespace touchline::testing

#define TL_ASSERT_OK(expr) ASSERT_THAT((expr), ::touchline::testing::IsOk())
#define TL_EXPECT_OK(expr) EXPECT_THAT((expr), ::touchline::testing::IsOk())
// Declares `lhs` from the value of the StatusOr `expr`, failing the test if it is not OK.
#define TL_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  TL_ASSERT_OK_AND_ASSIGN_IMPL_(TL_STATUS_CONCAT_(tl_test_so_, __LINE__), lhs, expr)
#define TL_ASSERT_OK_AND_ASSIGN_IMPL_(so, lhs, expr) \
  auto so = (expr);                                  \
  ASSERT_TRUE(so.ok()) << so.status();               \
  lhs = std::move(so).value()

#endif  // TOUCHLINE_TESTS_TESTING_STATUS_MATCHERS_H_
