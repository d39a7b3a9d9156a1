#include "common/metrics/metrics.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace touchline::metrics {
namespace {

std::shared_ptr<prometheus::Registry> SharedRegistry() {
  // Never destroyed: exposers and metric objects may be used by threads still running while
  // static destructors run at exit.
  static auto* const registry =
      new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}

// From the fastest cache hit to a slow, still-answered request.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return *buckets;
}

}  // namespace

prometheus::Registry& DefaultRegistry() { return *SharedRegistry(); }

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartExposer(std::string_view address) {
  if (address.empty()) return absl::InvalidArgumentError("metrics address must not be empty");
  // prometheus-cpp reports a failure to listen (civetweb) only by throwing.
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(std::string(address));
    exposer->RegisterCollectable(SharedRegistry());
    return exposer;
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", std::string(address), ": ", e.what()));
  }
}

// The registry merges families of the same name and labels, so every RpcMetrics shares the two
// families and tells services apart by the "service" label.
RpcMetrics::RpcMetrics(std::string_view service)
    : service_(service),
      requests_(prometheus::BuildCounter()
                    .Name("touchline_rpc_requests_total")
                    .Help("RPCs handled, by service, method and gRPC status code.")
                    .Register(DefaultRegistry())),
      latency_(prometheus::BuildHistogram()
                   .Name("touchline_rpc_latency_seconds")
                   .Help("Time from receiving an RPC to finishing it, in seconds.")
                   .Register(DefaultRegistry())) {}

RpcMetrics::MethodSeries& RpcMetrics::SeriesFor(std::string_view method) {
  const absl::string_view key(method.data(), method.size());
  {
    absl::ReaderMutexLock lock(&mutex_);
    if (auto it = series_.find(key); it != series_.end()) return *it->second;
  }
  absl::MutexLock lock(&mutex_);
  auto [it, inserted] = series_.try_emplace(key);
  if (inserted) {
    it->second = std::make_unique<MethodSeries>();
    it->second->latency =
        &latency_.Add({{"service", service_}, {"method", std::string(method)}}, LatencyBuckets());
  }
  return *it->second;
}

void RpcMetrics::Record(std::string_view method, absl::StatusCode code, absl::Duration latency) {
  int index = static_cast<int>(code);
  if (index < 0 || index >= kCodes) {
    code = absl::StatusCode::kUnknown;
    index = static_cast<int>(code);
  }
  MethodSeries& series = SeriesFor(method);
  std::atomic<prometheus::Counter*>& slot = series.requests[index];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the existing child for labels it already has, so threads racing
    // here all end up with the same counter.
    counter = &requests_.Add({{"service", service_},
                              {"method", std::string(method)},
                              {"code", absl::StatusCodeToString(code)}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
  series.latency->Observe(absl::ToDoubleSeconds(latency));
}

void RpcMetrics::Record(std::string_view method, grpc::StatusCode code, absl::Duration latency) {
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  Record(method, static_cast<absl::StatusCode>(code), latency);
}

}  // namespace touchline::metrics
