// touchpoints_load: a closed-loop load generator for the touchpoints service on the gRPC
// callback client API.
//
// For each RPC of --rpcs and each level of --concurrency it keeps that many calls in flight
// for --duration (after --warmup) and prints one row: calls/s, items/s (touchpoints recorded
// for batch and record, touchpoints or hits returned for timeline and search), p50/p90/p99/
// max latency of the successful calls, and the errors. Only successful calls count towards
// calls/s and latency; every failed call is counted, and the first message of each distinct
// status code is printed under the row. A row with failed calls, or with refused items in a
// batch, is flagged "ERRORS", one whose calls returned nothing at all "EMPTY" (the data is
// not there: wrong tenant or customers); the exit code is then 3.
//
// RPCs:
//   health            grpc.health.v1 Check: a gRPC round trip with no work (the baseline)
//   record            RecordTouchpoint of a fresh realistic touchpoint of a random customer
//                     (occur_time a few minutes ago), each with its own request_id
//   batch             BatchRecordTouchpoints of --batch_size such touchpoints
//   timeline          ListTouchpoints, first page of 20, of the hot customer
//   search            SearchTouchpoints(--query, OCCUR_TIME_DESC, page_size 20), tenant-wide
//   search_relevance  the same in RELEVANCE order
// Customers are the ones touchpoints_gen made (bench_ids.h).
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_ids.h"
#include "bench/touchpoints_fake.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Address of the touchpoints service");
ABSL_FLAG(std::string, tenant, "bench", "Tenant (x-touchline-tenant metadata)");
ABSL_FLAG(std::string, token, "", "Access token sent as 'authorization: Bearer <token>'");
ABSL_FLAG(int64_t, customers, 10000, "Customers touchpoints_gen made (ids from bench_ids.h)");
ABSL_FLAG(int64_t, hot_customer, 0, "Index of the customer whose timeline is read");
ABSL_FLAG(std::string, concurrency, "1,16,64", "Calls in flight, comma-separated levels");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Measured time per row");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before each row");
ABSL_FLAG(std::string, rpcs, "health,record,batch,timeline,search,search_relevance",
          "RPCs to measure, comma-separated, in this order per concurrency level");
ABSL_FLAG(int, batch_size, 1000, "Touchpoints per BatchRecordTouchpoints call");
ABSL_FLAG(std::string, query, "投诉", "SearchTouchpoints query");
ABSL_FLAG(int, page_size, 20, "page_size of ListTouchpoints and SearchTouchpoints");
ABSL_FLAG(uint64_t, seed, 7, "Random seed of the touchpoints sent");
ABSL_FLAG(absl::Duration, occurred_min_ago, absl::Seconds(60),
          "A recorded touchpoint happened at least this long before it is sent");
ABSL_FLAG(absl::Duration, occurred_max_ago, absl::Seconds(600),
          "... and at most this long (uniformly in between)");
ABSL_FLAG(int, late_percent, 0,
          "Percent of recorded touchpoints synced late instead: happened up to --late_by ago");
ABSL_FLAG(absl::Duration, late_by, absl::Hours(24 * 30), "How late a late touchpoint may be");

namespace touchline::bench {
namespace {

namespace v1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::TimeUtil;
using grpc::health::v1::Health;

// What one call reports: its status, the items it carried (recorded, returned), and the
// items a batch refused (each with its google.rpc.Status code and message).
struct Result {
  grpc::Status status;
  long items = 0;
  long item_errors = 0;
  int item_error_code = 0;
  std::string item_error_message;
};

// Issues one call and invokes `done` when it completes (on a gRPC thread).
using CallFn = std::function<void(std::function<void(Result)> done)>;

struct Row {
  double calls_per_s = 0;
  double items_per_s = 0;
  double items_per_call = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  long errors = 0;
  long item_errors = 0;
  // Per distinct code ("UNAVAILABLE", "item INVALID_ARGUMENT"): count and first message.
  std::map<std::string, std::pair<long, std::string>> error_kinds;
};

std::string CodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",         "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",  "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  if (code >= 0 && code < 17) return kNames[code];
  return "CODE_" + std::to_string(code);
}

// Keeps `in_flight` calls going: each completion starts the next until the deadline.
Row RunClosedLoop(const CallFn& call, int in_flight, absl::Duration warmup,
                  absl::Duration duration) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(1 << 20);
  Row row;
  long items = 0;
  int active = in_flight;
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + warmup;
  const absl::Time stop_at = measure_from + duration;

  std::function<void()> launch;
  launch = [&] {
    const absl::Time sent = absl::Now();
    call([&, sent](Result result) {
      const absl::Time now = absl::Now();
      {
        std::lock_guard<std::mutex> lock(mu);
        // Calls that complete within the measured window count (also one sent during the
        // warm-up): with calls of a second (a batch of 1,000), counting only calls sent
        // within the window would miss up to one call per window and in flight.
        if (now >= measure_from && now <= stop_at) {
          if (result.status.ok()) {
            latencies_ms.push_back(absl::ToDoubleMilliseconds(now - sent));
            items += result.items;
          } else {
            ++row.errors;
            auto& kind = row.error_kinds[CodeName(result.status.error_code())];
            if (kind.first++ == 0) kind.second = result.status.error_message();
          }
          if (result.item_errors > 0) {
            row.item_errors += result.item_errors;
            auto& kind = row.error_kinds["item " + CodeName(result.item_error_code)];
            if (kind.first == 0) kind.second = result.item_error_message;
            kind.first += result.item_errors;
          }
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

  if (latencies_ms.empty()) return row;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto at = [&](double q) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(latencies_ms.size() * q))];
  };
  const double seconds = absl::ToDoubleSeconds(duration);
  row.calls_per_s = static_cast<double>(latencies_ms.size()) / seconds;
  row.items_per_s = static_cast<double>(items) / seconds;
  row.items_per_call = static_cast<double>(items) / static_cast<double>(latencies_ms.size());
  row.p50_ms = at(0.50);
  row.p90_ms = at(0.90);
  row.p99_ms = at(0.99);
  row.max_ms = latencies_ms.back();
  return row;
}

// Owns the request, response and context of one asynchronous call.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Touchpoints made once up front (making one costs the client ~20 us, which would compete
// with the service for the two cores); each call copies some and makes them fresh: a random
// customer, occur_time a few minutes ago, a unique request_id.
class Touchpoints {
 public:
  Touchpoints(int64_t customers, uint64_t seed) : customers_(customers), faker_(seed) {
    const absl::Time now = absl::Now();
    for (int i = 0; i < 4096; ++i) {
      pool_.push_back(faker_.Make(i % customers_, now - absl::Minutes(5)));
    }
    run_ = std::to_string(absl::ToUnixMicros(now));
  }

  void Fill(v1::RecordTouchpointRequest& request) {
    const uint64_t n = counter_.fetch_add(1);
    thread_local std::mt19937_64 rng(std::random_device{}());
    v1::Touchpoint& t = *request.mutable_touchpoint();
    t = pool_[n % pool_.size()];
    const int64_t customer = std::uniform_int_distribution<int64_t>(0, customers_ - 1)(rng);
    const bool had_persons = t.contact_person_ids_size() > 0;
    t.set_customer_id(CustomerId(customer));
    t.clear_contact_person_ids();
    if (had_persons && PersonCount(customer) > 0) t.add_contact_person_ids(PersonId(customer, 0));
    const bool late =
        std::uniform_int_distribution<int>(0, 99)(rng) < absl::GetFlag(FLAGS_late_percent);
    const auto ago = [&](absl::Duration min, absl::Duration max) {
      return absl::Microseconds(std::uniform_int_distribution<int64_t>(
          absl::ToInt64Microseconds(min), absl::ToInt64Microseconds(max))(rng));
    };
    const absl::Time occur =
        absl::Now() - (late ? ago(absl::Seconds(1), absl::GetFlag(FLAGS_late_by))
                            : ago(absl::GetFlag(FLAGS_occurred_min_ago),
                                  absl::GetFlag(FLAGS_occurred_max_ago)));
    *t.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(occur));
    if (t.has_next_action()) {
      *t.mutable_next_action()->mutable_due_time() =
          TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(occur + absl::Hours(72)));
    }
    request.set_request_id("bench-" + run_ + "-" + std::to_string(n));
  }

 private:
  const int64_t customers_;
  TouchpointFaker faker_;
  std::vector<v1::Touchpoint> pool_;
  std::string run_;
  std::atomic<uint64_t> counter_{0};
};

void AddMetadata(grpc::ClientContext& context, absl::Time deadline) {
  context.AddMetadata("x-touchline-tenant", absl::GetFlag(FLAGS_tenant));
  context.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_token));
  context.set_deadline(absl::ToChronoTime(deadline));
}

int Main() {
  // A service that restarts or is still starting refuses connects; short reconnect backoff
  // keeps the channel from waiting a second or more between attempts.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  channel_args.SetMaxSendMessageSize(64 << 20);
  const auto channel = grpc::CreateCustomChannel(
      absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), channel_args);
  const auto health = Health::NewStub(channel);
  const auto service = v1::TouchpointsService::NewStub(channel);

  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int level = 0;
    if (!absl::SimpleAtoi(part, &level) || level <= 0) {
      std::fprintf(stderr, "bad --concurrency\n");
      return 2;
    }
    levels.push_back(level);
  }
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  const int page_size = absl::GetFlag(FLAGS_page_size);
  if (customers < 1 || batch_size < 1 || absl::GetFlag(FLAGS_hot_customer) < 0 ||
      absl::GetFlag(FLAGS_hot_customer) >= customers) {
    std::fprintf(stderr, "need --customers >= 1, 0 <= --hot_customer < --customers, "
                         "--batch_size >= 1\n");
    return 2;
  }
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  // A call still running this long after its row ended fails with DEADLINE_EXCEEDED rather
  // than hanging the tool.
  const absl::Duration call_timeout = warmup + duration + absl::Seconds(30);
  const std::string hot_customer = CustomerId(absl::GetFlag(FLAGS_hot_customer));
  const std::string query = absl::GetFlag(FLAGS_query);
  Touchpoints touchpoints(customers, absl::GetFlag(FLAGS_seed));

  const CallFn check = [&](std::function<void(Result)> done) {
    auto* call =
        new Call<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout));
    health->async()->Check(&call->context, &call->request, &call->response,
                           [call, done](grpc::Status s) {
                             Result r{.status = s, .items = 0, .item_errors = 0,
                                      .item_error_code = 0, .item_error_message = ""};
                             if (s.ok() && call->response.status() !=
                                               grpc::health::v1::HealthCheckResponse::SERVING) {
                               r.status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                       "health status is not SERVING");
                             }
                             delete call;
                             done(std::move(r));
                           });
  };
  const CallFn record = [&](std::function<void(Result)> done) {
    auto* call = new Call<v1::RecordTouchpointRequest, v1::RecordTouchpointResponse>();
    AddMetadata(call->context, absl::Now() + call_timeout);
    touchpoints.Fill(call->request);
    service->async()->RecordTouchpoint(
        &call->context, &call->request, &call->response, [call, done](grpc::Status s) {
          Result r{.status = s, .items = 0, .item_errors = 0, .item_error_code = 0,
                   .item_error_message = ""};
          if (s.ok()) {
            if (call->response.touchpoint().touchpoint_id().empty()) {
              r.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                      "response has no touchpoint_id");
            } else if (call->response.replayed()) {
              r.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                      "a fresh request_id was reported as a replay");
            } else {
              r.items = 1;
            }
          }
          delete call;
          done(std::move(r));
        });
  };
  const CallFn batch = [&](std::function<void(Result)> done) {
    auto* call =
        new Call<v1::BatchRecordTouchpointsRequest, v1::BatchRecordTouchpointsResponse>();
    AddMetadata(call->context, absl::Now() + call_timeout);
    for (int i = 0; i < batch_size; ++i) touchpoints.Fill(*call->request.add_requests());
    service->async()->BatchRecordTouchpoints(
        &call->context, &call->request, &call->response,
        [call, done, batch_size](grpc::Status s) {
          Result r{.status = s, .items = 0, .item_errors = 0, .item_error_code = 0,
                   .item_error_message = ""};
          if (s.ok()) {
            const auto& response = call->response;
            if (response.results_size() != batch_size) {
              r.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                      "got " + std::to_string(response.results_size()) +
                                          " results for " + std::to_string(batch_size) +
                                          " requests");
            }
            for (const v1::BatchRecordResult& result : response.results()) {
              if (result.has_error()) {
                if (r.item_errors++ == 0) {
                  r.item_error_code = result.error().code();
                  r.item_error_message = result.error().message();
                }
              } else if (result.has_touchpoint() && !result.replayed()) {
                ++r.items;
              }
            }
            if (r.items != response.recorded_count() && r.status.ok()) {
              r.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                      "recorded_count " +
                                          std::to_string(response.recorded_count()) +
                                          " but " + std::to_string(r.items) +
                                          " touchpoints in the results");
            }
          }
          delete call;
          done(std::move(r));
        });
  };
  const CallFn timeline = [&](std::function<void(Result)> done) {
    auto* call = new Call<v1::ListTouchpointsRequest, v1::ListTouchpointsResponse>();
    AddMetadata(call->context, absl::Now() + call_timeout);
    call->request.set_customer_id(hot_customer);
    call->request.set_page_size(page_size);
    service->async()->ListTouchpoints(
        &call->context, &call->request, &call->response, [call, done](grpc::Status s) {
          Result r{.status = s, .items = call->response.touchpoints_size(), .item_errors = 0,
                   .item_error_code = 0, .item_error_message = ""};
          delete call;
          done(std::move(r));
        });
  };
  const auto search = [&](v1::SearchOrder order) -> CallFn {
    return [&, order](std::function<void(Result)> done) {
      auto* call = new Call<v1::SearchTouchpointsRequest, v1::SearchTouchpointsResponse>();
      AddMetadata(call->context, absl::Now() + call_timeout);
      call->request.set_query(query);
      call->request.set_order(order);
      call->request.set_page_size(page_size);
      service->async()->SearchTouchpoints(
          &call->context, &call->request, &call->response, [call, done](grpc::Status s) {
            Result r{.status = s, .items = call->response.hits_size(), .item_errors = 0,
                     .item_error_code = 0, .item_error_message = ""};
            delete call;
            done(std::move(r));
          });
    };
  };
  const CallFn search_time = search(v1::SEARCH_ORDER_OCCUR_TIME_DESC);
  const CallFn search_relevance = search(v1::SEARCH_ORDER_RELEVANCE);
  const std::map<std::string, const CallFn*> by_name = {
      {"health", &check},          {"record", &record},
      {"batch", &batch},           {"timeline", &timeline},
      {"search", &search_time},    {"search_relevance", &search_relevance}};
  std::vector<std::pair<std::string, const CallFn*>> rpcs;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_rpcs), ',')) {
    const auto it = by_name.find(std::string(part));
    if (it == by_name.end()) {
      std::fprintf(stderr, "unknown rpc in --rpcs: %s (known: health, record, batch, timeline, "
                           "search, search_relevance)\n", std::string(part).c_str());
      return 2;
    }
    rpcs.emplace_back(it->first, it->second);
  }

  std::printf("%-16s %8s %10s %10s %9s %9s %9s %9s %9s %8s %8s  %s\n", "rpc", "inflight",
              "calls/s", "items/s", "items/call", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors",
              "item_err", "flag");
  bool any_errors = false;
  for (const int level : levels) {
    for (const auto& [name, fn] : rpcs) {
      const Row row = RunClosedLoop(*fn, level, warmup, duration);
      const bool bad = row.errors > 0 || row.item_errors > 0 || row.calls_per_s == 0;
      // A read that finds nothing measures nothing (wrong tenant, no data loaded).
      const bool empty = !bad && name != "health" && row.items_per_s == 0;
      any_errors = any_errors || bad || empty;
      std::printf("%-16s %8d %10.1f %10.0f %9.1f %9.3f %9.3f %9.3f %9.3f %8ld %8ld  %s\n",
                  name.c_str(), level, row.calls_per_s, row.items_per_s, row.items_per_call,
                  row.p50_ms, row.p90_ms, row.p99_ms, row.max_ms, row.errors, row.item_errors,
                  bad ? "ERRORS" : empty ? "EMPTY" : "ok");
      for (const auto& [code, kind] : row.error_kinds) {
        std::printf("    %s x%ld: %s\n", code.c_str(), kind.first, kind.second.c_str());
      }
      std::fflush(stdout);
    }
  }
  return any_errors ? 3 : 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return touchline::bench::Main();
}
