#include "common/metrics/metrics.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics/testing/http_get.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "tests/testing/status_matchers.h"

namespace touchline::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

// The sample of `family_name` in `families` whose labels include all of `labels`, if any.
std::optional<prometheus::ClientMetric> FindSample(
    const std::vector<prometheus::MetricFamily>& families, const std::string& family_name,
    const std::map<std::string, std::string>& labels) {
  for (const auto& family : families) {
    if (family.name != family_name) continue;
    for (const auto& metric : family.metric) {
      size_t matched = 0;
      for (const auto& label : metric.label) {
        auto it = labels.find(label.name);
        if (it != labels.end() && it->second == label.value) ++matched;
      }
      if (matched == labels.size()) return metric;
    }
  }
  return std::nullopt;
}

// A service label no earlier test in this process used: the registry is process-wide and
// outlives each test (--gtest_repeat runs them again in the same process).
std::string FreshService(const std::string& base) {
  static int runs = 0;
  return base + "_" + std::to_string(++runs);
}

TEST(RpcMetricsTest, CountsByCodeAndTimesByMethod) {
  const std::string service = FreshService("metrics_test.CountsService");
  RpcMetrics metrics(service);
  metrics.Record("GetCustomer", absl::StatusCode::kOk, absl::Microseconds(80));
  metrics.Record("GetCustomer", absl::StatusCode::kOk, absl::Milliseconds(3));
  metrics.Record("GetCustomer", grpc::StatusCode::NOT_FOUND, absl::Milliseconds(2));

  const auto families = DefaultRegistry().Collect();
  const auto ok = FindSample(families, "touchline_rpc_requests_total",
                             {{"service", service}, {"method", "GetCustomer"}, {"code", "OK"}});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->counter.value, 2);
  const auto not_found =
      FindSample(families, "touchline_rpc_requests_total",
                 {{"service", service}, {"method", "GetCustomer"}, {"code", "NOT_FOUND"}});
  ASSERT_TRUE(not_found.has_value());
  EXPECT_EQ(not_found->counter.value, 1);
  EXPECT_FALSE(FindSample(families, "touchline_rpc_requests_total",
                          {{"service", service}, {"code", "INTERNAL"}})
                   .has_value());

  const auto latency = FindSample(families, "touchline_rpc_latency_seconds",
                                  {{"service", service}, {"method", "GetCustomer"}});
  ASSERT_TRUE(latency.has_value());
  EXPECT_EQ(latency->histogram.sample_count, 3u);
  ASSERT_THAT(latency->histogram.bucket, SizeIs(18));  // 17 bounds and +Inf.
  EXPECT_DOUBLE_EQ(latency->histogram.bucket.front().upper_bound, 0.00005);
  EXPECT_DOUBLE_EQ(latency->histogram.bucket[16].upper_bound, 10);
  EXPECT_EQ(latency->histogram.bucket[1].cumulative_count, 1u);  // 80us <= 100us.
}

TEST(RpcMetricsTest, InstancesOfOneServiceShareSeries) {
  const std::string service = FreshService("metrics_test.SharedService");
  RpcMetrics first(service);
  RpcMetrics second(service);
  first.Record("ListCustomers", absl::StatusCode::kOk, absl::Milliseconds(1));
  second.Record("ListCustomers", absl::StatusCode::kOk, absl::Milliseconds(1));

  const auto sample = FindSample(DefaultRegistry().Collect(), "touchline_rpc_requests_total",
                                 {{"service", service}, {"code", "OK"}});
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->counter.value, 2);
}

TEST(RpcMetricsTest, CountsOutOfRangeCodesAsUnknown) {
  const std::string service = FreshService("metrics_test.OddService");
  RpcMetrics metrics(service);
  metrics.Record("Get", static_cast<absl::StatusCode>(99), absl::Milliseconds(1));

  const auto sample = FindSample(DefaultRegistry().Collect(), "touchline_rpc_requests_total",
                                 {{"service", service}, {"code", "UNKNOWN"}});
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->counter.value, 1);
}

TEST(StartExposerTest, ServesRegistryOverHttp) {
  RpcMetrics metrics("metrics_test.ExposedService");
  metrics.Record("Get", absl::StatusCode::kOk, absl::Milliseconds(1));
  TL_ASSERT_OK_AND_ASSIGN(auto exposer, StartExposer("127.0.0.1:0"));
  ASSERT_THAT(exposer->GetListeningPorts(), SizeIs(1));
  const int port = exposer->GetListeningPorts()[0];
  ASSERT_GT(port, 0);

  TL_ASSERT_OK_AND_ASSIGN(std::string response, testing::HttpGet(port, "/metrics"));

  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("touchline_rpc_requests_total{"));
  EXPECT_THAT(response, HasSubstr("service=\"metrics_test.ExposedService\""));
}

TEST(StartExposerTest, UnavailableWhenPortIsTaken) {
  TL_ASSERT_OK_AND_ASSIGN(auto first, StartExposer("127.0.0.1:0"));
  const int port = first->GetListeningPorts().at(0);
  EXPECT_THAT(StartExposer("127.0.0.1:" + std::to_string(port)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(StartExposerTest, RejectsEmptyAddress) {
  EXPECT_THAT(StartExposer(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::metrics
