// The closed loop shared by the gRPC load generators: keep N calls in flight for a while and
// report throughput and latency of the successful ones.
#ifndef TOUCHLINE_BENCH_CLOSED_LOOP_H_
#define TOUCHLINE_BENCH_CLOSED_LOOP_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace touchline::bench {

// Issues one call and invokes `done(ok)` when it completes (on a gRPC thread).
using CallFn = std::function<void(std::function<void(bool)> done)>;

struct Row {
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long errors = 0;
};

// Keeps `in_flight` calls going: each completion starts the next until warmup + duration.
// Only calls sent after the warmup and finished before the end count; successful ones make
// QPS and the percentiles, failed ones the errors.
Row RunClosedLoop(const CallFn& call, int in_flight, absl::Duration warmup,
                  absl::Duration duration);

// "1,16,64" as levels; empty (and a message on stderr) when a level is not a positive number.
std::vector<int> ParseLevels(const std::string& text);

// The gRPC health Check on `stub`: the baseline of every row, a round trip with no work
// behind it. `stub` must outlive the calls.
CallFn HealthCheck(grpc::health::v1::Health::Stub* stub);

// The table the load generators print: a header, then one line per (rpc, in flight) with its
// QPS as a share of the health Check's at the same level.
void PrintHeader();
void PrintRow(const std::string& rpc, int in_flight, const Row& row, double health_qps);

}  // namespace touchline::bench

#endif  // TOUCHLINE_BENCH_CLOSED_LOOP_H_
