// contacts_load: a closed-loop load generator on the gRPC callback client API.
//
// For each concurrency level it keeps that many calls in flight for --duration and prints
// QPS, p50 and p99 for: the health Check RPC (the baseline: a gRPC round trip with no work
// behind it), GetCustomer on customers it creates first, and CreateCustomer (each with its
// own request_id, as typed clients send them). Output: one row per (rpc, concurrency) and
// the ratio of its QPS to the health check's at the same concurrency. Only successful calls
// count towards QPS and latency; failures are counted in the errors column.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Address of the contacts service");
ABSL_FLAG(std::string, tenant, "bench", "Tenant to use (must be the token's)");
ABSL_FLAG(std::string, token, "", "Access token sent as 'authorization: Bearer <token>'");
ABSL_FLAG(std::string, owner_id, "",
          "Owner of every customer created (default: rep-0 .. rep-49 in turn); a rep's token "
          "may only create customers it owns");
ABSL_FLAG(std::string, concurrency, "1,16,64", "Calls in flight, comma-separated levels");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Measured time per row");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before each row");
ABSL_FLAG(int, customers, 2000, "Customers to create before the GetCustomer rows");
ABSL_FLAG(std::string, rpcs, "GetCustomer,CreateCustomer",
          "RPCs to measure after the HealthCheck baseline, comma-separated");

namespace touchline::bench {
namespace {

namespace v1 = ::touchline::contacts::v1;
using grpc::health::v1::Health;

// Issues one call and invokes `done(ok)` when it completes (on a gRPC thread).
using CallFn = std::function<void(std::function<void(bool)> done)>;

struct Row {
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long errors = 0;
};

// Keeps `in_flight` calls going: each completion starts the next until the deadline.
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

// Owns the request, response and context of one asynchronous call.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

void AddTenant(grpc::ClientContext& context) {
  context.AddMetadata("x-touchline-tenant", absl::GetFlag(FLAGS_tenant));
  context.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_token));
}

v1::Customer NewCustomer(long n) {
  v1::Customer c;
  c.set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
  c.set_display_name("压测客户" + std::to_string(n) + "有限公司");
  c.set_region("华东");
  const std::string owner = absl::GetFlag(FLAGS_owner_id);
  c.set_owner_id(owner.empty() ? "rep-" + std::to_string(n % 50) : owner);
  c.add_tags("压测");
  return c;
}

int Main() {
  const auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  const auto health = Health::NewStub(channel);
  const auto contacts = v1::ContactsService::NewStub(channel);
  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int level = 0;
    if (!absl::SimpleAtoi(part, &level) || level <= 0) {
      std::fprintf(stderr, "bad --concurrency\n");
      return 2;
    }
    levels.push_back(level);
  }
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const std::string run = std::to_string(absl::ToUnixMicros(absl::Now()));
  std::atomic<long> counter{0};

  // Customers for the GetCustomer rows.
  std::vector<std::string> ids;
  for (int i = 0; i < absl::GetFlag(FLAGS_customers); ++i) {
    grpc::ClientContext context;
    AddTenant(context);
    v1::CreateCustomerRequest request;
    *request.mutable_customer() = NewCustomer(i);
    v1::CreateCustomerResponse response;
    const grpc::Status status = contacts->CreateCustomer(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "seeding failed: %s\n", status.error_message().c_str());
      return 1;
    }
    ids.push_back(response.customer().customer_id());
  }

  const CallFn check = [&](std::function<void(bool)> done) {
    auto* call =
        new Call<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>();
    health->async()->Check(&call->context, &call->request, &call->response,
                           [call, done](grpc::Status s) {
                             delete call;
                             done(s.ok());
                           });
  };
  const CallFn get = [&](std::function<void(bool)> done) {
    auto* call = new Call<v1::GetCustomerRequest, v1::GetCustomerResponse>();
    AddTenant(call->context);
    call->request.set_customer_id(ids[counter.fetch_add(1) % ids.size()]);
    contacts->async()->GetCustomer(&call->context, &call->request, &call->response,
                                   [call, done](grpc::Status s) {
                                     delete call;
                                     done(s.ok());
                                   });
  };
  const CallFn create = [&](std::function<void(bool)> done) {
    auto* call = new Call<v1::CreateCustomerRequest, v1::CreateCustomerResponse>();
    AddTenant(call->context);
    const long n = counter.fetch_add(1);
    *call->request.mutable_customer() = NewCustomer(n);
    call->request.set_request_id(run + "-" + std::to_string(n));
    contacts->async()->CreateCustomer(&call->context, &call->request, &call->response,
                                      [call, done](grpc::Status s) {
                                        delete call;
                                        done(s.ok());
                                      });
  };

  std::printf("%-16s %8s %10s %9s %9s %8s %10s\n", "rpc", "inflight", "qps", "p50_ms", "p99_ms",
              "errors", "vs_health");
  for (const int level : levels) {
    const Row base = RunClosedLoop(check, level, warmup, duration);
    std::printf("%-16s %8d %10.0f %9.3f %9.3f %8ld %9.0f%%\n", "HealthCheck", level, base.qps,
                base.p50_ms, base.p99_ms, base.errors, 100.0);
    for (const auto& [name, fn] : {std::pair<const char*, const CallFn*>{"GetCustomer", &get},
                                   {"CreateCustomer", &create}}) {
      if (!absl::StrContains(absl::GetFlag(FLAGS_rpcs), name)) continue;
      const Row row = RunClosedLoop(*fn, level, warmup, duration);
      std::printf("%-16s %8d %10.0f %9.3f %9.3f %8ld %9.0f%%\n", name, level, row.qps, row.p50_ms,
                  row.p99_ms, row.errors, 100.0 * row.qps / base.qps);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return touchline::bench::Main();
}
