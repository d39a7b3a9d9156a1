#include "common/status/grpc_status.h"

#include "absl/strings/cord.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::status {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::touchline::testing::IsOk;
using ::touchline::testing::StatusIs;

TEST(ToGrpcStatusTest, OkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatusTest, KeepsCodeAndMessageWithoutDetailsWhenNoPayload) {
  grpc::Status status = ToGrpcStatus(absl::NotFoundError("customer c-1 not found"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "customer c-1 not found");
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, MapsEveryCanonicalCode) {
  for (int code = 1; code <= 16; ++code) {
    grpc::Status status = ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(code), "x"));
    EXPECT_EQ(static_cast<int>(status.error_code()), code);
  }
}

TEST(ToGrpcStatusTest, PassesInternalMessagesThrough) {
  grpc::Status status = ToGrpcStatus(absl::InternalError("store unavailable"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "store unavailable");
}

TEST(ToGrpcStatusTest, PacksBadRequestAndErrorInfoIntoGoogleRpcStatus) {
  FieldViolations violations;
  violations.Add("display_name", "must not be empty");
  absl::Status status = WithErrorInfo(violations.ToStatus(), "INVALID_CUSTOMER");
  status.SetPayload("touchline.dev/internal-only", absl::Cord("secret"));

  grpc::Status converted = ToGrpcStatus(status);

  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(converted.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), converted.error_message());
  ASSERT_EQ(details.details_size(), 2);
  google::rpc::BadRequest bad_request;
  google::rpc::ErrorInfo info;
  for (const auto& any : details.details()) {
    if (any.Is<google::rpc::BadRequest>()) {
      ASSERT_TRUE(any.UnpackTo(&bad_request));
    } else {
      ASSERT_TRUE(any.Is<google::rpc::ErrorInfo>()) << any.type_url();
      ASSERT_TRUE(any.UnpackTo(&info));
    }
  }
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "display_name");
  EXPECT_EQ(info.reason(), "INVALID_CUSTOMER");
  EXPECT_EQ(info.domain(), "touchline.dev");
}

TEST(FromGrpcStatusTest, RoundTripsCodeMessageAndPayloads) {
  absl::Status original = WithErrorInfo(absl::AbortedError("etag mismatch"), "ETAG_MISMATCH");

  absl::Status round_tripped = FromGrpcStatus(ToGrpcStatus(original));

  EXPECT_THAT(round_tripped, StatusIs(absl::StatusCode::kAborted, "etag mismatch"));
  EXPECT_EQ(ErrorReasonOf(round_tripped), "ETAG_MISMATCH");
}

TEST(FromGrpcStatusTest, OkIsOk) { EXPECT_THAT(FromGrpcStatus(grpc::Status::OK), IsOk()); }

TEST(FromGrpcStatusTest, IgnoresUnparsableDetails) {
  absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down", "\xff\xff not proto"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, "down"));
}

TEST(FieldViolationsOfGrpcTest, ReadsBadRequestFromDetails) {
  FieldViolations violations;
  violations.Add("phone", "is not a valid E.164 number");
  violations.Add("email", "is not an email address");

  EXPECT_THAT(FieldViolationsOf(ToGrpcStatus(violations.ToStatus())),
              ElementsAre(Pair("phone", "is not a valid E.164 number"),
                          Pair("email", "is not an email address")));
  EXPECT_THAT(FieldViolationsOf(grpc::Status(grpc::StatusCode::INTERNAL, "boom")), IsEmpty());
}

}  // namespace
}  // namespace touchline::status
