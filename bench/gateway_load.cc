// gateway_load: the gateway under a closed loop of gRPC calls.
//
// Seeds through the gateway itself (as --seed_token's user): --hot customers with
// --hot_touchpoints touchpoints each, and --cold customers with --cold_touchpoints each,
// shared with --share_partner_org when given (so a partner's --token can read them). Then,
// once every consumer of the event streams has caught up (with --redis_addr), for each
// concurrency level it prints QPS, p50 and p99 of: the gateway's own health Check
// (the baseline: a gRPC round trip with nothing behind it), GetCustomer360 over the hot
// customers after one warming read each (every call a cache hit), and GetCustomer360 over the
// cold customers, each read once (every call a cache miss). A 360 call whose
// x-touchline-cache header is not the one its row measures counts as an error, so a row
// reports only what it claims to. The hot customers' ids go to --ids_file for wrk.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/closed_loop.h"
#include "common/redis/pool.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gRPC address of the gateway");
ABSL_FLAG(std::string, token, "", "Access token of the reader of the 360 views");
ABSL_FLAG(std::string, seed_token, "", "Access token of who seeds (default: --token)");
ABSL_FLAG(std::string, owner_id, "", "Owner of the seeded customers: --seed_token's user");
ABSL_FLAG(std::string, share_partner_org, "",
          "Share every seeded customer with this partner organisation (needs --share_token)");
ABSL_FLAG(std::string, share_token, "", "Access token of an administrator, for the shares");
ABSL_FLAG(std::string, redis_addr, "",
          "Redis of the suite: before each row, wait until every consumer group of every event "
          "stream has caught up, so that no backlog (the audit log's above all) competes");
ABSL_FLAG(std::string, label, "", "Prefix of the row names, e.g. the reader's role");
ABSL_FLAG(std::string, concurrency, "16,64", "Calls in flight, comma-separated levels");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time per row");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before each row");
ABSL_FLAG(int, hot, 100, "Customers read over and over (cache hits)");
ABSL_FLAG(int, hot_touchpoints, 20, "Touchpoints of each hot customer");
ABSL_FLAG(int, cold, 8000, "Customers read once each (cache misses)");
ABSL_FLAG(int, cold_touchpoints, 2, "Touchpoints of each cold customer");
ABSL_FLAG(absl::Duration, miss_duration, absl::Seconds(3),
          "Measured time of each miss row (the cold customers must last it)");
ABSL_FLAG(std::string, rpcs, "hit,miss", "Rows to measure after the health Check, comma-separated");
ABSL_FLAG(std::string, ids_file, "", "Where to write the hot customers' ids, one per line");

namespace touchline::bench {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace gv1 = ::touchline::gateway::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using grpc::health::v1::Health;

template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

void Authorize(grpc::ClientContext& context,
               const std::string& token = absl::GetFlag(FLAGS_token)) {
  context.AddMetadata("authorization", "Bearer " + token);
}

std::string SeedToken() {
  const std::string seed = absl::GetFlag(FLAGS_seed_token);
  return seed.empty() ? absl::GetFlag(FLAGS_token) : seed;
}

// Waits until every consumer group of every "<prefix>:{<topic>}:events" stream has
// acknowledged all it was given and has nothing left to read. False after `timeout`.
bool WaitForQuietStreams(redis::Pool& redis, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    bool quiet = true;
    absl::StatusOr<redis::Reply> keys = redis.Command({"KEYS", "*:events"});
    if (!keys.ok()) return false;
    for (size_t k = 0; quiet && k < keys->size(); ++k) {
      absl::StatusOr<redis::Reply> groups =
          redis.Command({"XINFO", "GROUPS", std::string((*keys)[k].str())});
      if (!groups.ok() || groups->is_error()) continue;
      for (size_t g = 0; quiet && g < groups->size(); ++g) {
        const redis::ReplyView group = (*groups)[g];
        for (size_t f = 0; f + 1 < group.size(); f += 2) {
          const std::string_view field = group[f].str();
          if ((field == "pending" || field == "lag") && group[f + 1].integer() != 0) quiet = false;
        }
      }
    }
    if (quiet) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

// The header value that says how a 360 call was served.
std::string CacheOutcome(const grpc::ClientContext& context) {
  const auto& metadata = context.GetServerInitialMetadata();
  const auto it = metadata.find("x-touchline-cache");
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

// Runs call(0) .. call(count - 1) with up to 32 in flight; false if any failed.
using SeedFn = std::function<void(int index, std::function<void(bool ok)> done)>;
bool Seed(int count, const SeedFn& call) {
  std::mutex mu;
  std::condition_variable cv;
  int next = 0;
  int running = 0;
  bool ok = true;
  std::function<void()> launch = [&] {
    int i = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (next >= count || !ok) return;
      i = next++;
      ++running;
    }
    call(i, [&](bool success) {
      launch();  // before this call stops counting, so the waiter cannot leave early
      std::lock_guard<std::mutex> lock(mu);
      --running;
      ok = ok && success;
      cv.notify_all();
    });
  };
  for (int k = 0; k < 32; ++k) launch();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return running == 0; });
  return ok;
}

int Main() {
  const std::vector<int> levels = ParseLevels(absl::GetFlag(FLAGS_concurrency));
  if (levels.empty()) return 2;
  const auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  const auto health = Health::NewStub(channel);
  const auto contacts = cv1::ContactsService::NewStub(channel);
  const auto touchpoints = tv1::TouchpointsService::NewStub(channel);
  const auto gateway = gv1::GatewayService::NewStub(channel);
  const auto permissions = pv1::PermissionsService::NewStub(channel);
  const int hot = absl::GetFlag(FLAGS_hot);
  const int cold = absl::GetFlag(FLAGS_cold);
  const std::string run = std::to_string(absl::ToUnixMicros(absl::Now()));

  // Customers: hot ones first, then cold ones.
  std::vector<std::string> ids(hot + cold);
  const bool created = Seed(hot + cold, [&](int i, std::function<void(bool)> done) {
    auto* call = new Call<cv1::CreateCustomerRequest, cv1::CreateCustomerResponse>();
    Authorize(call->context, SeedToken());
    cv1::Customer* c = call->request.mutable_customer();
    c->set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
    c->set_display_name("压测客户" + std::to_string(i) + "有限公司");
    c->set_region("华东");
    c->set_level(cv1::CUSTOMER_LEVEL_KEY);
    c->set_owner_id(absl::GetFlag(FLAGS_owner_id));
    c->add_tags("压测");
    cv1::ContactPerson* person = c->add_contact_persons();
    person->mutable_name()->set_family_name("王");
    person->mutable_name()->set_given_name("伟" + std::to_string(i));
    person->add_phones()->set_number("+86138" + std::to_string(10000000 + i));
    person->add_emails()->set_address("buyer" + std::to_string(i) + "@example.com");
    person->set_note("采购负责人，偏好微信沟通");
    call->request.set_request_id(run + "-c" + std::to_string(i));
    contacts->async()->CreateCustomer(
        &call->context, &call->request, &call->response, [call, &ids, i, done](grpc::Status s) {
          if (s.ok())
            ids[i] = call->response.customer().customer_id();
          else
            std::fprintf(stderr, "create: %s\n", s.error_message().c_str());
          delete call;
          done(s.ok());
        });
  });
  if (!created) return 1;

  // Touchpoints, one batch per customer. The touchpoints service learns of customers through
  // events: wait until it knows each.
  for (const std::string& id : ids) {
    for (int tries = 0;; ++tries) {
      grpc::ClientContext context;
      Authorize(context, SeedToken());
      tv1::ListTouchpointsRequest request;
      request.set_customer_id(id);
      request.set_page_size(1);
      tv1::ListTouchpointsResponse response;
      if (touchpoints->ListTouchpoints(&context, request, &response).ok()) break;
      if (tries == 600) {
        std::fprintf(stderr, "the touchpoints service never learned of customer %s\n", id.c_str());
        return 1;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  const bool recorded = Seed(hot + cold, [&](int i, std::function<void(bool)> done) {
    auto* call =
        new Call<tv1::BatchRecordTouchpointsRequest, tv1::BatchRecordTouchpointsResponse>();
    Authorize(call->context, SeedToken());
    const int count =
        i < hot ? absl::GetFlag(FLAGS_hot_touchpoints) : absl::GetFlag(FLAGS_cold_touchpoints);
    for (int k = 0; k < count; ++k) {
      tv1::RecordTouchpointRequest* r = call->request.add_requests();
      r->set_request_id(run + "-t" + std::to_string(i) + "-" + std::to_string(k));
      tv1::Touchpoint* t = r->mutable_touchpoint();
      t->set_customer_id(ids[i]);
      t->mutable_occur_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 3600 * (k + 1));
      t->set_channel(k % 2 == 0 ? tv1::CHANNEL_PHONE : tv1::CHANNEL_WECOM);
      t->set_category(tv1::CATEGORY_SALES);
      t->set_subject("第" + std::to_string(k + 1) + "次跟进：报价与交付周期");
      t->set_summary("客户关注交付周期和售后响应，对价格有异议，约定下周再谈。");
      t->set_content("通话记录：客户表示竞品报价更低，希望我们给出阶梯价格。【异议】价格偏高。");
    }
    touchpoints->async()->BatchRecordTouchpoints(
        &call->context, &call->request, &call->response, [call, done](grpc::Status s) {
          const bool ok = s.ok() && call->response.failed_count() == 0;
          if (!ok) {
            std::fprintf(stderr, "record: %s %s\n", s.error_message().c_str(),
                         call->response.results_size() > 0
                             ? call->response.results(0).error().message().c_str()
                             : "");
          }
          delete call;
          done(ok);
        });
  });
  if (!recorded) return 1;

  // Shares: the permissions service learns of customers through events, so a share of a
  // customer it does not know yet is retried.
  if (const std::string org = absl::GetFlag(FLAGS_share_partner_org); !org.empty()) {
    const bool shared = Seed(hot + cold, [&](int i, std::function<void(bool)> done) {
      auto attempt = std::make_shared<std::function<void(int)>>();
      *attempt = [&, i, done, attempt, org](int tries) {
        auto* call = new Call<pv1::ShareCustomerRequest, pv1::ShareCustomerResponse>();
        Authorize(call->context, absl::GetFlag(FLAGS_share_token));
        call->request.mutable_share()->set_customer_id(ids[i]);
        call->request.mutable_share()->set_partner_org_id(org);
        call->request.mutable_share()->set_access(pv1::SHARE_ACCESS_READ);
        permissions->async()->ShareCustomer(
            &call->context, &call->request, &call->response,
            [call, done, attempt, tries](grpc::Status s) {
              delete call;
              if (s.error_code() == grpc::StatusCode::NOT_FOUND && tries < 100) {
                absl::SleepFor(absl::Milliseconds(100));
                (*attempt)(tries + 1);
                return;
              }
              if (!s.ok()) std::fprintf(stderr, "share: %s\n", s.error_message().c_str());
              done(s.ok());
            });
      };
      (*attempt)(0);
    });
    if (!shared) return 1;
  }
  std::unique_ptr<redis::Pool> redis;
  if (const std::string addr = absl::GetFlag(FLAGS_redis_addr); !addr.empty()) {
    absl::StatusOr<redis::RedisOptions> options = redis::ParseRedisAddress(addr);
    absl::StatusOr<std::unique_ptr<redis::Pool>> pool =
        options.ok() ? redis::Pool::Create(*options)
                     : absl::StatusOr<std::unique_ptr<redis::Pool>>(options.status());
    if (!pool.ok()) {
      std::fprintf(stderr, "--redis_addr: %s\n", pool.status().ToString().c_str());
      return 2;
    }
    redis = *std::move(pool);
  }
  // Before a row: the suite's consumers (the audit log's above all) have caught up.
  const auto settle = [&] {
    if (redis != nullptr && !WaitForQuietStreams(*redis, absl::Minutes(5))) {
      std::fprintf(stderr, "the event streams did not settle within 5 minutes\n");
    }
  };

  if (const std::string file = absl::GetFlag(FLAGS_ids_file); !file.empty()) {
    std::ofstream out(file);
    for (int i = 0; i < hot; ++i) out << ids[i] << "\n";
  }

  std::atomic<long> next_hot{0};
  std::atomic<long> next_cold{hot};
  const auto view = [&](const std::string& id, const char* want, std::function<void(bool)> done) {
    auto* call = new Call<gv1::GetCustomer360Request, gv1::GetCustomer360Response>();
    Authorize(call->context);
    call->request.set_customer_id(id);
    gateway->async()->GetCustomer360(
        &call->context, &call->request, &call->response, [call, want, done](grpc::Status s) {
          const bool ok = s.ok() && CacheOutcome(call->context) == want &&
                          call->response.recent_touchpoints_size() > 0;
          delete call;
          done(ok);
        });
  };
  // One read of each hot customer first, so the hit rows see only hits.
  for (int i = 0; i < hot; ++i) {
    grpc::ClientContext context;
    Authorize(context);
    gv1::GetCustomer360Request request;
    request.set_customer_id(ids[i]);
    gv1::GetCustomer360Response response;
    const grpc::Status s = gateway->GetCustomer360(&context, request, &response);
    if (!s.ok()) {
      std::fprintf(stderr, "warming: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  const CallFn check = HealthCheck(health.get());
  const CallFn hit = [&](std::function<void(bool)> done) {
    view(ids[next_hot.fetch_add(1) % hot], "hit", std::move(done));
  };
  const CallFn miss = [&](std::function<void(bool)> done) {
    const long i = next_cold.fetch_add(1);
    // Out of cold customers: counted as an error rather than measured as a hit.
    if (i >= static_cast<long>(ids.size())) {
      done(false);
      return;
    }
    view(ids[i], "miss", std::move(done));
  };

  const std::string rows = absl::GetFlag(FLAGS_rpcs);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const std::string label = absl::GetFlag(FLAGS_label);
  PrintHeader();
  for (const int level : levels) {
    settle();
    const Row base = RunClosedLoop(check, level, warmup, absl::GetFlag(FLAGS_duration));
    PrintRow("HealthCheck", level, base, base.qps);
    if (absl::StrContains(rows, "hit")) {
      settle();
      PrintRow(label + "360 hit", level,
               RunClosedLoop(hit, level, warmup, absl::GetFlag(FLAGS_duration)), base.qps);
    }
    if (absl::StrContains(rows, "miss")) {
      settle();
      // No warm-up: it would only use up cold customers.
      PrintRow(label + "360 miss", level,
               RunClosedLoop(miss, level, absl::ZeroDuration(), absl::GetFlag(FLAGS_miss_duration)),
               base.qps);
    }
  }
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return touchline::bench::Main();
}
