#include "bench/closed_loop.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"

namespace touchline::bench {

Row RunClosedLoop(const CallFn& call, int in_flight, absl::Duration warmup,
                  absl::Duration duration) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(1 << 20);
  std::atomic<long> errors{0};
  int active = in_flight;
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + warmup;
  const absl::Time stop_at = measure_from + duration;

  std::function<void()> launch;
  launch = [&] {
    const absl::Time sent = absl::Now();
    call([&, sent](bool ok) {
      const absl::Time now = absl::Now();
      if (sent >= measure_from && now <= stop_at) {
        if (ok) {
          std::lock_guard<std::mutex> lock(mu);
          latencies_ms.push_back(absl::ToDoubleMilliseconds(now - sent));
        } else {
          ++errors;
        }
      }
      if (now < stop_at) {
        launch();
      } else {
        std::lock_guard<std::mutex> lock(mu);
        if (--active == 0) cv.notify_all();
      }
    });
  };
  for (int i = 0; i < in_flight; ++i) launch();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return active == 0; });

  Row row;
  row.errors = errors.load();
  if (latencies_ms.empty()) return row;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  row.qps = static_cast<double>(latencies_ms.size()) / absl::ToDoubleSeconds(duration);
  row.p50_ms = latencies_ms[latencies_ms.size() / 2];
  row.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  return row;
}

std::vector<int> ParseLevels(const std::string& text) {
  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int level = 0;
    if (!absl::SimpleAtoi(part, &level) || level <= 0) {
      std::fprintf(stderr, "bad concurrency level \"%.*s\"\n", static_cast<int>(part.size()),
                   part.data());
      return {};
    }
    levels.push_back(level);
  }
  return levels;
}

CallFn HealthCheck(grpc::health::v1::Health::Stub* stub) {
  return [stub](std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
    };
    auto* call = new Call();
    stub->async()->Check(&call->context, &call->request, &call->response,
                         [call, done](grpc::Status s) {
                           delete call;
                           done(s.ok());
                         });
  };
}

void PrintHeader() {
  std::printf("%-18s %8s %10s %9s %9s %8s %10s\n", "rpc", "inflight", "qps", "p50_ms", "p99_ms",
              "errors", "vs_health");
}

void PrintRow(const std::string& rpc, int in_flight, const Row& row, double health_qps) {
  std::printf("%-18s %8d %10.0f %9.3f %9.3f %8ld %9.0f%%\n", rpc.c_str(), in_flight, row.qps,
              row.p50_ms, row.p99_ms, row.errors,
              health_qps > 0 ? 100.0 * row.qps / health_qps : 0.0);
  std::fflush(stdout);
}

}  // namespace touchline::bench
