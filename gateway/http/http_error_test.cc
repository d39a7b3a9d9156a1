#include "gateway/http/http_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace touchline::gateway::http {
namespace {

TEST(HttpErrorTest, HttpStatusForFollowsGoogleRpcCode) {
  const std::pair<absl::StatusCode, int> table[] = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
      {static_cast<absl::StatusCode>(42), 500},
  };
  for (const auto& [code, http_status] : table) {
    EXPECT_EQ(HttpStatusFor(code), http_status) << absl::StatusCodeToString(code);
  }
}

TEST(HttpErrorTest, BadRequestAsGoogleRpcStatusJson) {
  status::FieldViolations violations;
  violations.Add("customer.display_name", "must not be empty");
  violations.Add("pageSise", "unknown query parameter");
  EXPECT_EQ(StatusToJson(violations.ToStatus()),
            R"({"code":3,"message":"invalid argument: customer.display_name: must not be empty; )"
            R"(pageSise: unknown query parameter","details":[{"@type":)"
            R"("type.googleapis.com/google.rpc.BadRequest","fieldViolations":[)"
            R"({"field":"customer.display_name","description":"must not be empty"},)"
            R"({"field":"pageSise","description":"unknown query parameter"}]}]})");
}

TEST(HttpErrorTest, ErrorInfoAndChineseMessage) {
  const absl::Status status = status::WithErrorInfo(absl::AbortedError("客户已被修改"),
                                                    "ETAG_MISMATCH", {{"etag", "\"7\""}});
  EXPECT_EQ(StatusToJson(status),
            R"({"code":10,"message":"客户已被修改","details":[{"@type":)"
            R"("type.googleapis.com/google.rpc.ErrorInfo","reason":"ETAG_MISMATCH",)"
            R"("domain":"touchline.dev","metadata":{"etag":"\"7\""}}]})");
}

TEST(HttpErrorTest, StatusWithoutDetails) {
  EXPECT_EQ(StatusToJson(absl::NotFoundError("no route for GET /v1/x")),
            R"({"code":5,"message":"no route for GET /v1/x"})");
  EXPECT_EQ(StatusToJson(absl::OkStatus()), "{}");
}

TEST(HttpErrorTest, DropsDetailsOfUnknownTypes) {
  absl::Status status = status::InvalidArgument("body", "must be a JSON object");
  status.SetPayload("type.googleapis.com/google.rpc.NoSuchDetail", absl::Cord("x"));
  EXPECT_EQ(StatusToJson(status),
            R"({"code":3,"message":"invalid argument: body: must be a JSON object",)"
            R"("details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",)"
            R"("fieldViolations":[{"field":"body","description":"must be a JSON object"}]}]})");
}

TEST(HttpErrorTest, InvalidUtf8StillGivesValidJson) {
  const std::string json = StatusToJson(status::InvalidArgument("x", "bad \xff byte"));
  EXPECT_TRUE(nlohmann::json::accept(json)) << json;
  EXPECT_EQ(nlohmann::json::parse(json).at("code"), 3);
}

TEST(HttpErrorTest, GrpcStatusFromBackendKeepsItsDetails) {
  const grpc::Status from_backend =
      status::ToGrpcStatus(status::InvalidArgument("customer_id", "must be a UUID"));
  EXPECT_EQ(StatusToJson(from_backend),
            R"({"code":3,"message":"invalid argument: customer_id: must be a UUID","details":[)"
            R"({"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[)"
            R"({"field":"customer_id","description":"must be a UUID"}]}]})");
  EXPECT_EQ(StatusToJson(grpc::Status(grpc::StatusCode::UNAVAILABLE, "contacts is down")),
            R"({"code":14,"message":"contacts is down"})");
}

}  // namespace
}  // namespace touchline::gateway::http
