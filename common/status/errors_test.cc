#include "common/status/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::status {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::touchline::testing::IsOk;
using ::touchline::testing::StatusIs;

TEST(FieldViolationsTest, EmptyIsOk) {
  FieldViolations violations;
  EXPECT_TRUE(violations.empty());
  EXPECT_EQ(violations.size(), 0u);
  EXPECT_THAT(violations.ToStatus(), IsOk());
}

TEST(FieldViolationsTest, ListsEveryViolationInMessageAndPayload) {
  FieldViolations violations;
  violations.Add("display_name", "must not be empty");
  violations.Add("emails[1]", "is not an email address");
  EXPECT_FALSE(violations.empty());
  EXPECT_EQ(violations.size(), 2u);

  absl::Status status = violations.ToStatus("invalid customer");

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               "invalid customer: display_name: must not be empty; "
                               "emails[1]: is not an email address"));
  EXPECT_THAT(FieldViolationsOf(status), ElementsAre(Pair("display_name", "must not be empty"),
                                                     Pair("emails[1]", "is not an email address")));
}

TEST(FieldViolationsTest, PayloadIsASerializedBadRequest) {
  absl::Status status = InvalidArgument("page_size", "must not be negative");

  absl::optional<absl::Cord> payload =
      status.GetPayload("type.googleapis.com/google.rpc.BadRequest");
  ASSERT_TRUE(payload.has_value());
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(bad_request.ParseFromString(std::string(*payload)));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "page_size");
  EXPECT_EQ(bad_request.field_violations(0).description(), "must not be negative");
}

TEST(InvalidArgumentTest, IsOneViolation) {
  EXPECT_THAT(
      InvalidArgument("page_token", "is malformed"),
      StatusIs(absl::StatusCode::kInvalidArgument, "invalid argument: page_token: is malformed"));
}

TEST(WithRetryInfoTest, AttachesTheDelay) {
  const absl::Status status = WithRetryInfo(absl::ResourceExhaustedError("slow down"),
                                            absl::Seconds(2) + absl::Milliseconds(250));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted, "slow down"));
  const absl::optional<absl::Cord> payload = status.GetPayload(kRetryInfoTypeUrl);
  ASSERT_TRUE(payload.has_value());
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(retry.ParseFromString(std::string(*payload)));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 250000000);
  EXPECT_TRUE(WithRetryInfo(absl::OkStatus(), absl::Seconds(1)).ok());
}

TEST(WithErrorInfoTest, AttachesReasonDomainAndMetadata) {
  absl::Status status = WithErrorInfo(absl::AbortedError("customer was modified"), "ETAG_MISMATCH",
                                      {{"customer_id", "c-1"}});

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, "customer was modified"));
  EXPECT_EQ(ErrorReasonOf(status), "ETAG_MISMATCH");
  absl::optional<absl::Cord> payload =
      status.GetPayload("type.googleapis.com/google.rpc.ErrorInfo");
  ASSERT_TRUE(payload.has_value());
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(info.ParseFromString(std::string(*payload)));
  EXPECT_EQ(info.domain(), "touchline.dev");
  EXPECT_EQ(info.reason(), "ETAG_MISMATCH");
  EXPECT_EQ(info.metadata().at("customer_id"), "c-1");
}

TEST(WithErrorInfoTest, LeavesOkUnchanged) {
  absl::Status status = WithErrorInfo(absl::OkStatus(), "ETAG_MISMATCH");
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(ErrorReasonOf(status), "");
}

TEST(FieldViolationsOfTest, EmptyWithoutBadRequest) {
  EXPECT_THAT(FieldViolationsOf(absl::NotFoundError("no such customer")), IsEmpty());
}

}  // namespace
}  // namespace touchline::status
