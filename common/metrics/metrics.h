// Prometheus metrics: the process-wide registry, its /metrics HTTP endpoint and the standard
// per-RPC request counter and latency histogram.
#ifndef TOUCHLINE_COMMON_METRICS_METRICS_H_
#define TOUCHLINE_COMMON_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace touchline::metrics {

// The registry every Touchline metric is registered in and StartExposer serves. Lives for the
// whole process; thread-safe.
prometheus::Registry& DefaultRegistry();

// Serves DefaultRegistry() in the Prometheus text format at http://<address>/metrics until the
// returned exposer is destroyed. `address` is "host:port"; port 0 picks a free port, readable
// from GetListeningPorts(). INVALID_ARGUMENT if `address` is empty, UNAVAILABLE if it cannot
// be listened on.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartExposer(std::string_view address);

// Counts and times the RPCs of one service:
//   touchline_rpc_requests_total{service,method,code}  counter
//   touchline_rpc_latency_seconds{service,method}       histogram, buckets 50us .. 10s
// Several instances for the same service share their time series. Thread-safe.
class RpcMetrics {
 public:
  explicit RpcMetrics(std::string_view service);

  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  // Records one finished call of `method` (the bare RPC name, e.g. "GetCustomer"). After the
  // first call for a method this takes a shared lock and touches no label maps, so it is cheap
  // enough for every request.
  void Record(std::string_view method, absl::StatusCode code, absl::Duration latency);
  void Record(std::string_view method, grpc::StatusCode code, absl::Duration latency);

 private:
  // One counter per canonical code; an unknown code integer is counted as UNKNOWN.
  static constexpr int kCodes = 17;

  // The time series of one method, created on its first call. Counters are added per code on
  // first use, so a method exports only the codes it has actually returned.
  struct MethodSeries {
    prometheus::Histogram* latency = nullptr;
    std::array<std::atomic<prometheus::Counter*>, kCodes> requests{};
  };

  MethodSeries& SeriesFor(std::string_view method);

  const std::string service_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> series_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace touchline::metrics

#endif  // TOUCHLINE_COMMON_METRICS_METRICS_H_
