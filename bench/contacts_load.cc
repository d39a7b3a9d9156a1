// contacts_load: a closed-loop load generator on the gRPC callback client API.
//
// For each concurrency level it keeps that many calls in flight for --duration and prints
// QPS, p50 and p99 for: the health Check RPC (the baseline: a gRPC round trip with no work
// behind it), GetCustomer on customers it creates first, and CreateCustomer (each with its
// own request_id, as typed clients send them). Output: one row per (rpc, concurrency) and
// the ratio of its QPS to the health check's at the same concurrency. Only successful calls
// count towards QPS and latency; failures are counted in the errors column.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/closed_loop.h"
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
  const std::vector<int> levels = ParseLevels(absl::GetFlag(FLAGS_concurrency));
  if (levels.empty()) return 2;
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

  const CallFn check = HealthCheck(health.get());
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

  PrintHeader();
  for (const int level : levels) {
    const Row base = RunClosedLoop(check, level, warmup, duration);
    PrintRow("HealthCheck", level, base, base.qps);
    for (const auto& [name, fn] : {std::pair<const char*, const CallFn*>{"GetCustomer", &get},
                                   {"CreateCustomer", &create}}) {
      if (!absl::StrContains(absl::GetFlag(FLAGS_rpcs), name)) continue;
      PrintRow(name, level, RunClosedLoop(*fn, level, warmup, duration), base.qps);
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
