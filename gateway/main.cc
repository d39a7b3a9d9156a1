// The gateway: flags -> validated config -> dependencies -> serve gRPC and HTTP until SIGTERM.
#include <sys/resource.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit.h"
#include "common/auth/scope_authenticator.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/enforcement/enforcement.h"
#include "common/enforcement/scope_invalidation.h"
#include "common/log/log.h"
#include "common/ratelimit/rate_limiter.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "gateway/backends.h"
#include "gateway/cache/cache_invalidation.h"
#include "gateway/cache/customer360_cache.h"
#include "gateway/customer360.h"
#include "gateway/edge.h"
#include "gateway/gateway_service.h"
#include "gateway/grpc_forwarder.h"
#include "gateway/http/route_table.h"
#include "gateway/http_front.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/journeys/v1/journeys_service.pb.h"

ABSL_FLAG(std::string, contacts_addr, "", "gRPC target of the contacts service (required)");
ABSL_FLAG(std::string, touchpoints_addr, "", "gRPC target of the touchpoints service (required)");
ABSL_FLAG(std::string, journeys_addr, "",
          "gRPC target of the journeys service; empty: its routes are not served");
ABSL_FLAG(std::string, automation_addr, "",
          "gRPC target of the automation service; empty: its routes are not served and 360 "
          "views hold no open tasks");
ABSL_FLAG(std::string, http_address, "127.0.0.1:0",
          "host:port of the HTTP/JSON front; port 0 picks a free port; empty turns it off");
ABSL_FLAG(int, http_threads, 2, "Event-loop threads of the HTTP front");
ABSL_FLAG(absl::Duration, http_request_timeout, absl::Seconds(10),
          "Longest an HTTP request may take to arrive from its first byte (and a response to be "
          "taken); slower clients are disconnected");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "Longest an HTTP connection may wait for its next request");
ABSL_FLAG(int64_t, http_max_connections, 20000,
          "HTTP connections held open at once; more are answered 503");
ABSL_FLAG(int64_t, http_max_connections_per_address, 5000,
          "HTTP connections held open at once from one client address; more are answered 503");
ABSL_FLAG(int64_t, max_request_bytes, 1 << 20, "Largest HTTP request body; larger ones get 413");
ABSL_FLAG(std::string, cors_allowed_origins, "",
          "Comma-separated origins whose browsers may call the HTTP front (\"*\" for any)");
ABSL_FLAG(absl::Duration, backend_timeout, absl::Seconds(10),
          "Deadline of a forwarded call whose caller set none (every HTTP call)");
ABSL_FLAG(std::string, service_api_keys_file, "",
          "File of the tenants' gateway service keys, one per line (touchline-permissions "
          "--bootstrap_gateway_key_file writes one); tenants without one are not cached");
ABSL_FLAG(bool, cache, true, "Cache customer 360 views in Redis");
ABSL_FLAG(absl::Duration, cache_ttl, absl::Minutes(5), "How long a 360 view stays cached");
ABSL_FLAG(double, cache_ttl_jitter, 0.1, "Each TTL is multiplied by 1 +- this, at random");
ABSL_FLAG(absl::Duration, cache_load_timeout, absl::Seconds(3),
          "Longest a 360 load may take; callers waiting for another's load give up after it");
ABSL_FLAG(std::string, rate_limit_per_api_key, "",
          "Requests per API key, e.g. 50/s:100 (50 per second, bursts of 100) or 600/m; empty "
          "for none");
ABSL_FLAG(std::string, rate_limit_per_partner, "",
          "Requests per partner organisation (all its users and keys), as above");

namespace touchline::gateway {
namespace {

using config::Fatal;
using config::OkOrDie;
using config::OrDie;

constexpr char kServiceName[] = "touchline.gateway.v1.GatewayService";

// Lifts the soft limit on open files to the hard one: every HTTP connection, idle or not,
// holds a descriptor, and the default soft limit (often 1024) is far below what the front
// is meant to hold.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    log::Warning("could not raise the open file limit", {});
  }
}

int Run() {
  const std::string contacts_addr = absl::GetFlag(FLAGS_contacts_addr);
  const std::string touchpoints_addr = absl::GetFlag(FLAGS_touchpoints_addr);
  if (contacts_addr.empty()) Fatal("--contacts_addr is required");
  if (touchpoints_addr.empty()) Fatal("--touchpoints_addr is required");
  enforcement::EnforcementConfig enforcement = enforcement::EnforcementConfigFromFlags("gateway");
  const RateLimitPolicy limits{
      .per_api_key = OrDie(ratelimit::ParseRateLimit(absl::GetFlag(FLAGS_rate_limit_per_api_key)),
                           "--rate_limit_per_api_key"),
      .per_partner = OrDie(ratelimit::ParseRateLimit(absl::GetFlag(FLAGS_rate_limit_per_partner)),
                           "--rate_limit_per_partner")};
  absl::flat_hash_map<std::string, std::string> service_keys;
  if (const std::string file = absl::GetFlag(FLAGS_service_api_keys_file); !file.empty()) {
    service_keys = OrDie(ParseServiceKeys(config::ReadFileOrDie("service_api_keys_file", file)),
                         "--service_api_keys_file");
  }
  const size_t cached_tenants = service_keys.size();
  if (absl::GetFlag(FLAGS_max_request_bytes) < 1) Fatal("--max_request_bytes must be positive");
  if (absl::GetFlag(FLAGS_http_threads) < 1) Fatal("--http_threads must be at least 1");
  if (absl::GetFlag(FLAGS_http_request_timeout) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_http_idle_timeout) <= absl::ZeroDuration()) {
    Fatal("--http_request_timeout and --http_idle_timeout must be positive");
  }
  if (absl::GetFlag(FLAGS_http_max_connections) < 1 ||
      absl::GetFlag(FLAGS_http_max_connections_per_address) < 1) {
    Fatal("--http_max_connections and --http_max_connections_per_address must be positive");
  }
  RaiseOpenFileLimit();
  if (absl::GetFlag(FLAGS_redis_pool_size) < 1) Fatal("--redis_pool_size must be at least 1");
  const double jitter = absl::GetFlag(FLAGS_cache_ttl_jitter);
  if (jitter < 0 || jitter >= 1) Fatal("--cache_ttl_jitter must be at least 0 and below 1");
  if (absl::GetFlag(FLAGS_cache_ttl) <= absl::ZeroDuration()) Fatal("--cache_ttl must be positive");

  const int max_message_bytes = server::ServerOptions().max_message_bytes;
  std::vector<Backends::Target> targets = {
      {"touchline.contacts.v1.ContactsService", contacts_addr},
      {"touchline.touchpoints.v1.TouchpointsService", touchpoints_addr},
      {"touchline.permissions.v1.PermissionsService", enforcement.options.permissions_addr}};
  // Naming the service's descriptor links its contract in, for the routes to find it.
  const std::string journeys_service =
      journeys::v1::GetCustomerJourneysRequest::descriptor()->file()->service(0)->full_name();
  const std::string journeys_addr = absl::GetFlag(FLAGS_journeys_addr);
  if (!journeys_addr.empty()) targets.push_back({journeys_service, journeys_addr});
  const std::string automation_service =
      automation::v1::ListTasksRequest::descriptor()->file()->service(0)->full_name();
  const std::string automation_addr = absl::GetFlag(FLAGS_automation_addr);
  if (!automation_addr.empty()) targets.push_back({automation_service, automation_addr});
  const auto backends =
      OrDie(Backends::Create(targets, max_message_bytes), "connecting to the services");
  std::vector<std::string> routed = {kServiceName};
  for (const Backends::Target& target : targets) routed.push_back(target.service);
  const http::RouteTable routes = OrDie(http::RouteTable::Build(routed), "reading the HTTP routes");

  auto redis_options =
      OrDie(redis::ParseRedisAddress(absl::GetFlag(FLAGS_redis_addr)), "--redis_addr");
  redis_options.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  const auto redis = OrDie(redis::Pool::Create(redis_options), "setting up Redis");
  const std::string stream_prefix = absl::GetFlag(FLAGS_events_stream_prefix);

  // Callers: tokens verified here, scopes from the permissions service, dropped on change.
  auth::ScopeAuthenticator authenticator(std::move(enforcement.verifier),
                                         auth::MakeGrpcScopeSource(backends->ChannelOf(
                                             "touchline.permissions.v1.PermissionsService")));
  enforcement::ScopeInvalidationListener invalidation(redis.get(), stream_prefix, &authenticator);
  invalidation.Start();
  ratelimit::RateLimiter limiter(redis.get(), {.key_prefix = stream_prefix, .clock = nullptr});
  const std::optional<auth::EdgeAddressSigner> addresses =
      enforcement::EdgeAddressSignerFromFlags();
  const EdgeGuard edge(&authenticator, &limiter, limits, addresses ? &*addresses : nullptr);

  audit::AuditPublisherOptions audit_options;
  audit_options.stream_prefix = stream_prefix;
  const auto audit =
      OrDie(audit::AuditPublisher::Create(audit_options, redis.get()), "setting up the audit log");
  audit->Start();

  ServiceLoader loader(
      {.contacts = backends->ChannelOf("touchline.contacts.v1.ContactsService"),
       .touchpoints = backends->ChannelOf("touchline.touchpoints.v1.TouchpointsService"),
       .permissions = backends->ChannelOf("touchline.permissions.v1.PermissionsService"),
       // Views hold the journeys only where the gateway forwards to a journeys service.
       .journeys = journeys_addr.empty() ? nullptr : backends->ChannelOf(journeys_service),
       // And the open tasks only where it forwards to an automation service.
       .automation = automation_addr.empty() ? nullptr : backends->ChannelOf(automation_service),
       .service_keys = std::move(service_keys),
       .timeout = absl::GetFlag(FLAGS_cache_load_timeout)},
      &authenticator);
  std::unique_ptr<Customer360Cache> cache;
  std::unique_ptr<CacheInvalidation> cache_invalidation;
  if (absl::GetFlag(FLAGS_cache)) {
    cache = std::make_unique<Customer360Cache>(
        redis.get(),
        Customer360CacheOptions{.key_prefix = stream_prefix,
                                .ttl = absl::GetFlag(FLAGS_cache_ttl),
                                .ttl_jitter = jitter,
                                .load_timeout = absl::GetFlag(FLAGS_cache_load_timeout)});
    cache_invalidation =
        std::make_unique<CacheInvalidation>(redis.get(), cache.get(), stream_prefix);
    cache_invalidation->Start();
  }
  const bool access_log = absl::GetFlag(FLAGS_access_log);
  server::Executor executor(absl::GetFlag(FLAGS_worker_threads),
                            absl::GetFlag(FLAGS_max_queued_calls));
  Customer360Service views(&loader, cache.get(), audit.get(), &executor);
  server::UnaryRunner runner(kServiceName, &executor, &authenticator, access_log);
  GatewayService service(&runner, &executor, &edge, &views);
  GrpcForwarder forwarder(backends.get(), &edge, &executor, absl::GetFlag(FLAGS_backend_timeout),
                          access_log);
  const auto grpc_server =
      OrDie(server::Server::Start({.listen_address = absl::GetFlag(FLAGS_listen_address),
                                   .metrics_address = absl::GetFlag(FLAGS_metrics_address),
                                   .drain_timeout = absl::GetFlag(FLAGS_drain_timeout),
                                   .max_message_bytes = max_message_bytes},
                                  {{kServiceName, &service}}, &forwarder),
            "starting the gRPC server");

  std::unique_ptr<HttpFront> http_front;
  if (const std::string http_address = absl::GetFlag(FLAGS_http_address); !http_address.empty()) {
    std::vector<std::string> origins;
    for (absl::string_view origin :
         absl::StrSplit(absl::GetFlag(FLAGS_cors_allowed_origins), ',', absl::SkipWhitespace())) {
      origins.emplace_back(origin);
    }
    http_front = OrDie(
        HttpFront::Start(
            {.address = http_address,
             .threads = absl::GetFlag(FLAGS_http_threads),
             .max_request_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_request_bytes)),
             .cors_allowed_origins = std::move(origins),
             .timeout = absl::GetFlag(FLAGS_backend_timeout),
             .request_timeout = absl::GetFlag(FLAGS_http_request_timeout),
             .idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout),
             .max_connections = static_cast<size_t>(absl::GetFlag(FLAGS_http_max_connections)),
             .max_connections_per_address =
                 static_cast<size_t>(absl::GetFlag(FLAGS_http_max_connections_per_address)),
             .access_log = access_log},
            &routes, backends.get(), &edge, &views, &executor),
        "starting the HTTP front");
  }
  log::Info("gateway serving", {{"grpc_port", std::to_string(grpc_server->port())},
                                {"http_port", std::to_string(http_front ? http_front->port() : 0)},
                                {"metrics_port", std::to_string(grpc_server->metrics_port())},
                                {"tenants_with_service_key", std::to_string(cached_tenants)}});

  const int signal = server::WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", std::to_string(signal)}});
  // Calls first (both fronts), then what they feed, then what feeds them.
  if (http_front) http_front->Shutdown();
  grpc_server->Shutdown();
  executor.Shutdown();
  if (cache_invalidation) cache_invalidation->Stop();
  audit->Stop();
  invalidation.Stop();
  return 0;
}

}  // namespace
}  // namespace touchline::gateway

int main(int argc, char** argv) {
  touchline::server::BlockTerminationSignals();
  touchline::config::ParseFlags(
      argc, argv, "Touchline gateway: gRPC and HTTP/JSON front with the customer 360 cache");
  touchline::config::ApplyCommonFlags();
  return touchline::gateway::Run();
}
