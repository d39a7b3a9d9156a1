// GatewayService.GetCustomer360: everything about one customer in one call, from a cache
// shared by every caller of the tenant, with each caller's row and field policies applied
// after the cache by the same engine (auth::Scope) every service uses.
#ifndef TOUCHLINE_GATEWAY_CUSTOMER360_H_
#define TOUCHLINE_GATEWAY_CUSTOMER360_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/server/executor.h"
#include "gateway/cache/customer360_cache.h"
#include "gateway/edge.h"
#include "gateway/prepared_view.h"
#include "grpcpp/channel.h"
#include "touchline/automation/v1/automation_service.grpc.pb.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/gateway/v1/gateway_service.pb.h"
#include "touchline/journeys/v1/journeys_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline::gateway {

// Most touchpoints a view holds, and how many a request gets when it asks for none.
inline constexpr int kMaxRecentTouchpoints = 20;
inline constexpr int kDefaultRecentTouchpoints = 10;
// Most open tasks a view holds (the soonest due).
inline constexpr int kMaxOpenTasks = 20;

// Reads the parts of a view from the services. An interface: tests replace the services.
class Customer360Loader {
 public:
  virtual ~Customer360Loader() = default;

  // Whether `tenant` has a service key fit for the shared cache: one that sees every customer
  // and every field in clear. Without one the tenant's views are read with each caller's own
  // credential and not cached.
  virtual bool HasServiceKey(const std::string& tenant) = 0;

  // The customer, every share, the latest kMaxRecentTouchpoints touchpoints, every journey
  // the customer is on and its kMaxOpenTasks open tasks due soonest, read with `headers`.
  // NOT_FOUND when the customer does not exist (or the credential cannot see it); other
  // errors of the services as they answered. A customer that touchpoints, permissions,
  // journeys or automation do not know yet (their read models follow contacts) has no
  // touchpoints, shares, journeys or tasks. Journeys or tasks that cannot be read do not fail
  // the load: the entry comes without them and not storable.
  virtual absl::StatusOr<Customer360Cache::Loaded> Load(const Headers& headers,
                                                        const std::string& customer_id,
                                                        bool with_shares) = 0;

  // The headers that carry `tenant`'s service key. Precondition: HasServiceKey(tenant).
  virtual Headers ServiceKeyHeaders(const std::string& tenant) = 0;
};

// The loader over the real services.
class ServiceLoader final : public Customer360Loader {
 public:
  struct Options {
    std::shared_ptr<grpc::Channel> contacts;
    std::shared_ptr<grpc::Channel> touchpoints;
    std::shared_ptr<grpc::Channel> permissions;
    // Null when the gateway has no journeys service: the views then hold no journeys.
    std::shared_ptr<grpc::Channel> journeys;
    // Null when the gateway has no automation service: the views then hold no open tasks.
    std::shared_ptr<grpc::Channel> automation;
    // Service keys ("tlk_<tenant>_..."), by the tenant named in each.
    absl::flat_hash_map<std::string, std::string> service_keys;
    // Deadline of each call to a service.
    absl::Duration timeout = absl::Seconds(2);
  };

  // `authenticator` resolves service keys to scopes (to check that each sees everything); it
  // must outlive the loader.
  ServiceLoader(Options options, const auth::Authenticator* authenticator);

  bool HasServiceKey(const std::string& tenant) override;
  absl::StatusOr<Customer360Cache::Loaded> Load(const Headers& headers,
                                                const std::string& customer_id,
                                                bool with_shares) override;
  Headers ServiceKeyHeaders(const std::string& tenant) override;

 private:
  const Options options_;
  const auth::Authenticator* const authenticator_;
  const std::unique_ptr<contacts::v1::ContactsService::Stub> contacts_;
  const std::unique_ptr<touchpoints::v1::TouchpointsService::Stub> touchpoints_;
  const std::unique_ptr<permissions::v1::PermissionsService::Stub> permissions_;
  // Null without a journeys channel.
  const std::unique_ptr<journeys::v1::JourneysService::Stub> journeys_;
  // Null without an automation channel.
  const std::unique_ptr<automation::v1::AutomationService::Stub> automation_;
  // Whether the last read of journeys (of the open tasks) failed, so that an outage is logged
  // once, not on every view.
  std::atomic<bool> journeys_failing_{false};
  std::atomic<bool> tasks_failing_{false};
  absl::Mutex mu_;
  // Tenants whose key was found unfit, so that it is logged once, not on every call.
  absl::flat_hash_set<std::string> reported_ ABSL_GUARDED_BY(mu_);
};

// The service keys in `text`: one per line ("tlk_<tenant>_<secret>"), blank lines and lines
// starting with # ignored. INVALID_ARGUMENT naming the line of a malformed key or of a second
// key for one tenant.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParseServiceKeys(
    std::string_view text);

// Thread-safe.
class Customer360Service {
 public:
  // `loader` must outlive this; `cache` (null: no caching), `audit` (null: reads are not
  // audited, for tests) and `executor` (null: GetAsync blocks the calling thread) too.
  Customer360Service(Customer360Loader* loader, Customer360Cache* cache,
                     audit::AuditPublisher* audit, server::Executor* executor = nullptr);

  struct Served {
    gateway::v1::GetCustomer360Response response;
    CacheOutcome outcome;
  };

  // The view of request.customer_id as `caller` may see it. `credential` is the caller's own
  // credential header, used only for tenants without a service key. INVALID_ARGUMENT for a
  // customer_id that is not a UUID or a touchpoint_count outside 0..20; NOT_FOUND "customer
  // <id> not found" for a customer that does not exist or that the caller may not see (the
  // same words, as contacts answers); UNAVAILABLE and the like when the services cannot
  // answer, except journeys and automation: without them the view is served with no
  // journeys (no open tasks), and not cached. Reads of sensitive fields are reported to the
  // audit log.
  absl::StatusOr<Served> Get(const auth::RequestContext& caller, const Headers& credential,
                             const gateway::v1::GetCustomer360Request& request);

  // As Get, without blocking the calling thread (a gRPC thread): a cache hit is served from
  // the cache's batched lookup, on its thread; everything that may block (a miss, a tenant
  // without service key, Redis trouble) runs Get on the executor. Calls `done` exactly once;
  // RESOURCE_EXHAUSTED or UNAVAILABLE when the executor refuses the work.
  using Done = std::function<void(absl::StatusOr<Served>)>;
  void GetAsync(const auth::RequestContext& caller, Headers credential,
                gateway::v1::GetCustomer360Request request, Done done);

  // How GetEncodedAsync encodes the view: kProto, the serialized GetCustomer360Response (map
  // entries in key order); kJson, the JSON the HTTP front prints for it
  // (http::ResponseToJson on GetCustomer360's route).
  using Encoding = ViewEncoding;
  struct Encoded {
    std::string bytes;
    CacheOutcome outcome;
  };
  using EncodedDone = std::function<void(absl::StatusOr<Encoded>)>;

  // As GetAsync, answering the view's bytes as the front sends them. A hit is served from the
  // view prepared for the caller's field profile (auth::Scope::FieldProfile), which the
  // cache's batched lookup brings instead of the entry: the row decision, the audit and a
  // concatenation of stored bytes, on the lookup thread. When the entry is cached but not yet
  // prepared for the profile, the view is prepared from it on the executor, stored beside it
  // (unless it was invalidated meanwhile) and served, still a hit. Everything else runs Get
  // on the executor and encodes its answer. Errors and audit entries as for Get; calls `done`
  // exactly once.
  void GetEncodedAsync(const auth::RequestContext& caller, Headers credential,
                       gateway::v1::GetCustomer360Request request, Encoding encoding,
                       EncodedDone done);

 private:
  // The customer id (lower case) and the number of touchpoints a request asks for;
  // INVALID_ARGUMENT naming the bad field.
  struct Query {
    std::string customer_id;
    int count;
  };
  static absl::StatusOr<Query> QueryOf(const gateway::v1::GetCustomer360Request& request);

  // Applies `caller`'s scope to a view read with the service key, in place: the row
  // decision (by the customer and its `shares`), then the field policies, then the audit of
  // what sensitive fields it shows.
  absl::Status Enforce(
      const auth::RequestContext& caller,
      const google::protobuf::RepeatedPtrField<permissions::v1::CustomerShare>& shares,
      gateway::v1::GetCustomer360Response& view) const;

  struct EncodedCall;
  // Runs `work` on the executor (at once without one); `call` gets the executor's refusal.
  void Run(std::function<void()> work, const std::shared_ptr<EncodedCall>& call);
  // Get on the executor, its answer encoded.
  void GetEncodedBlocking(std::shared_ptr<EncodedCall> call);
  // Prepares the view of the entry `found` for the caller's profile, stores it unless the
  // entry changed meanwhile, and serves it. Blocks.
  void PrepareAndServe(const std::shared_ptr<EncodedCall>& call,
                       const Customer360Cache::PreparedLookup& found);

  // Serves a hit from a prepared view: the row decision, the audit, the bytes.
  absl::StatusOr<Encoded> ServePrepared(const auth::RequestContext& caller,
                                        std::string_view prepared, int count,
                                        Encoding encoding) const;

  // Reports the sensitive fields a caller was shown, as contacts and touchpoints report
  // their reads: one entry for the customer's fields, one for the touchpoints'.
  void AuditReads(const auth::RequestContext& caller, std::string_view customer_id,
                  const SensitiveRead& customer,
                  const std::vector<const SensitiveRead*>& touchpoints) const;

  Customer360Loader* const loader_;
  Customer360Cache* const cache_;
  audit::AuditPublisher* const audit_;
  server::Executor* const executor_;
  const absl::StatusOr<ViewEncoder> encoder_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_CUSTOMER360_H_
