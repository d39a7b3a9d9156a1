#include "gateway/customer360.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/blocking_counter.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/auth/scope_authenticator.h"
#include "common/disclosure/disclosure.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "common/status/macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "grpcpp/client_context.h"

namespace touchline::gateway {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace jv1 = ::touchline::journeys::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr char kServiceKeyPrefix[] = "tlk_";
// Audit entries of a list name at most this many ids in detail, as the services' do.
constexpr size_t kMaxAuditedIds = 20;

// The tenant a service key names ("tlk_<tenant>_<secret>"), or "" for a malformed key.
std::string TenantOfKey(std::string_view key) {
  if (!key.starts_with(kServiceKeyPrefix)) return "";
  key.remove_prefix(std::string_view(kServiceKeyPrefix).size());
  const size_t end = key.find('_');
  if (end == std::string_view::npos || end + 1 >= key.size()) return "";
  const std::string tenant(key.substr(0, end));
  return auth::IsValidTenantId(tenant) ? tenant : "";
}

void Prepare(grpc::ClientContext& context, const Headers& headers, absl::Duration timeout) {
  for (const auto& [name, value] : headers) context.AddMetadata(name, value);
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// Reads a stored entry straight into `view` and `shares`: the customer, the shares, the
// first `count` touchpoints, the journeys and the open tasks; the other touchpoints are
// skipped, not parsed
// (a hit needs 10 of 20). Every field of the entry is a message, so anything else means the
// bytes are not an entry.
absl::Status ParseView(std::string_view bytes, int count, gateway::v1::GetCustomer360Response& view,
                       google::protobuf::RepeatedPtrField<pv1::CustomerShare>& shares) {
  using Entry = Customer360Cache::Entry;
  constexpr uint32_t kLengthDelimited = 2;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  const absl::Status corrupt = absl::DataLossError("a cached 360 entry does not parse");
  while (const uint32_t tag = in.ReadTag()) {
    uint32_t length = 0;
    if ((tag & 7) != kLengthDelimited || !in.ReadVarint32(&length)) return corrupt;
    const int field = static_cast<int>(tag >> 3);
    google::protobuf::Message* target = nullptr;
    if (field == Entry::kCustomerFieldNumber) {
      target = view.mutable_customer();
    } else if (field == Entry::kSharesFieldNumber) {
      target = shares.Add();
    } else if (field == Entry::kTouchpointsFieldNumber && view.recent_touchpoints_size() < count) {
      target = view.add_recent_touchpoints();
    } else if (field == Entry::kJourneysFieldNumber) {
      target = view.add_journeys();
    } else if (field == Entry::kOpenTasksFieldNumber) {
      target = view.add_open_tasks();
    }
    if (target == nullptr) {
      if (!in.Skip(static_cast<int>(length))) return corrupt;
      continue;
    }
    const auto limit = in.PushLimit(static_cast<int>(length));
    if (!target->MergePartialFromCodedStream(&in) || !in.ConsumedEntireMessage()) return corrupt;
    in.PopLimit(limit);
  }
  return in.ConsumedEntireMessage() ? absl::OkStatus() : corrupt;
}

// Moves the customer, the first `count` touchpoints, the journeys and the open tasks of
// `entry` into `view`.
void MoveIntoView(Customer360Cache::Entry& entry, int count,
                  gateway::v1::GetCustomer360Response& view) {
  *view.mutable_customer() = std::move(*entry.mutable_customer());
  for (tv1::Touchpoint& t : *entry.mutable_touchpoints()) {
    if (view.recent_touchpoints_size() == count) break;
    *view.add_recent_touchpoints() = std::move(t);
  }
  *view.mutable_journeys() = std::move(*entry.mutable_journeys());
  *view.mutable_open_tasks() = std::move(*entry.mutable_open_tasks());
}

// Whether the answer of a service whose part a view is served without (journeys, open tasks)
// may be stored: OK, or NOT_FOUND (its read model has not heard of the customer yet, so it has
// nothing of it yet either). `failing` remembers an outage, so that it is logged when it
// starts and when it ends, not on every view.
bool PartAnswered(const grpc::Status& answer, std::atomic<bool>& failing, const char* part) {
  if (!answer.ok() && answer.error_code() != grpc::StatusCode::NOT_FOUND) {
    if (!failing.exchange(true)) {
      log::Warning(
          absl::StrCat(part, " unavailable; 360 views are served without ", part, ", uncached"),
          {{"error", status::FromGrpcStatus(answer).ToString()}});
    }
    return false;
  }
  if (failing.exchange(false)) {
    log::Info(absl::StrCat(part, " answering again; 360 views hold ", part), {});
  }
  return true;
}

}  // namespace

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParseServiceKeys(
    std::string_view text) {
  absl::flat_hash_map<std::string, std::string> keys;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string key(line);
    const std::string tenant = TenantOfKey(key);
    if (tenant.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": not an API key (tlk_<tenant>_<secret>)"));
    }
    if (!keys.emplace(tenant, key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": a second key for tenant ", tenant));
    }
  }
  return keys;
}

ServiceLoader::ServiceLoader(Options options, const auth::Authenticator* authenticator)
    : options_(std::move(options)),
      authenticator_(authenticator),
      contacts_(cv1::ContactsService::NewStub(options_.contacts)),
      touchpoints_(tv1::TouchpointsService::NewStub(options_.touchpoints)),
      permissions_(pv1::PermissionsService::NewStub(options_.permissions)),
      journeys_(options_.journeys ? jv1::JourneysService::NewStub(options_.journeys) : nullptr),
      automation_(options_.automation ? av1::AutomationService::NewStub(options_.automation)
                                      : nullptr) {}

bool ServiceLoader::HasServiceKey(const std::string& tenant) {
  const auto key = options_.service_keys.find(tenant);
  if (key == options_.service_keys.end()) return false;
  // The scope is cached by the authenticator: this costs a lookup, not a round trip.
  const grpc::string_ref name(auth::kApiKeyHeader);
  const grpc::string_ref value(key->second);
  const absl::StatusOr<auth::RequestContext> service =
      authenticator_->Authenticate({{name, value}});
  std::string problem;
  if (!service.ok()) {
    problem = service.status().ToString();
  } else {
    const auth::Scope& scope = *service->scope;
    if (!scope.proto().all_customers() || !scope.proto().vip_visible() ||
        scope.HasFieldRules(auth::kCustomerResource) ||
        scope.HasFieldRules(auth::kTouchpointResource)) {
      problem = "its role must see every customer (tenant scope, rank >= 30) and every field";
    }
  }
  if (problem.empty()) {
    // Every view asks: the usual answer takes only a shared lock.
    {
      absl::ReaderMutexLock read(&mu_);
      if (!reported_.contains(tenant)) return true;
    }
    absl::MutexLock lock(&mu_);
    reported_.erase(tenant);
    return true;
  }
  absl::MutexLock lock(&mu_);
  // Unfit keys are refused rather than trusted: a cache filled through a narrower view would
  // show every caller less than they may see, or keep fields a policy now hides.
  if (reported_.insert(tenant).second) {
    log::Error("service key not used; 360 views of the tenant are not cached",
               {{"tenant", tenant}, {"problem", problem}});
  }
  return false;
}

Headers ServiceLoader::ServiceKeyHeaders(const std::string& tenant) {
  return {{auth::kApiKeyHeader, options_.service_keys.at(tenant)}};
}

absl::StatusOr<Customer360Cache::Loaded> ServiceLoader::Load(const Headers& headers,
                                                             const std::string& customer_id,
                                                             bool with_shares) {
  // The reads run at once; the view takes as long as the slowest.
  cv1::GetCustomerRequest customer_request;
  customer_request.set_customer_id(customer_id);
  cv1::GetCustomerResponse customer;
  tv1::ListTouchpointsRequest touchpoints_request;
  touchpoints_request.set_customer_id(customer_id);
  touchpoints_request.set_page_size(kMaxRecentTouchpoints);
  tv1::ListTouchpointsResponse touchpoints;
  pv1::ListCustomerSharesRequest shares_request;
  shares_request.set_customer_id(customer_id);
  pv1::ListCustomerSharesResponse shares;
  jv1::GetCustomerJourneysRequest journeys_request;
  journeys_request.set_customer_id(customer_id);
  jv1::GetCustomerJourneysResponse journeys;
  av1::ListTasksRequest tasks_request;
  tasks_request.set_customer_id(customer_id);
  tasks_request.set_state(av1::TASK_STATE_OPEN);
  tasks_request.set_page_size(kMaxOpenTasks);
  av1::ListTasksResponse tasks;

  grpc::ClientContext customer_context, touchpoints_context, shares_context, journeys_context,
      tasks_context;
  grpc::Status customer_status, touchpoints_status, shares_status, journeys_status, tasks_status;
  absl::BlockingCounter pending(2 + (with_shares ? 1 : 0) + (journeys_ != nullptr ? 1 : 0) +
                                (automation_ != nullptr ? 1 : 0));
  const auto answered = [&pending](grpc::Status& status) {
    return [&pending, &status](grpc::Status s) {
      status = std::move(s);
      pending.DecrementCount();
    };
  };
  Prepare(customer_context, headers, options_.timeout);
  contacts_->async()->GetCustomer(&customer_context, &customer_request, &customer,
                                  answered(customer_status));
  Prepare(touchpoints_context, headers, options_.timeout);
  touchpoints_->async()->ListTouchpoints(&touchpoints_context, &touchpoints_request, &touchpoints,
                                         answered(touchpoints_status));
  if (with_shares) {
    Prepare(shares_context, headers, options_.timeout);
    permissions_->async()->ListCustomerShares(&shares_context, &shares_request, &shares,
                                              answered(shares_status));
  }
  if (journeys_ != nullptr) {
    Prepare(journeys_context, headers, options_.timeout);
    journeys_->async()->GetCustomerJourneys(&journeys_context, &journeys_request, &journeys,
                                            answered(journeys_status));
  }
  if (automation_ != nullptr) {
    Prepare(tasks_context, headers, options_.timeout);
    automation_->async()->ListTasks(&tasks_context, &tasks_request, &tasks, answered(tasks_status));
  }
  pending.Wait();

  if (!customer_status.ok()) return status::FromGrpcStatus(customer_status);
  // NOT_FOUND from these two (and from journeys and automation, below): their read models have
  // not heard of the customer yet, so it has no touchpoints, shares, journeys or tasks there
  // yet either.
  for (const grpc::Status* part : {&touchpoints_status, &shares_status}) {
    if (!part->ok() && part->error_code() != grpc::StatusCode::NOT_FOUND) {
      return status::FromGrpcStatus(*part);
    }
  }
  Customer360Cache::Loaded loaded;
  Customer360Cache::Entry& entry = loaded.entry;
  *entry.mutable_customer() = std::move(*customer.mutable_customer());
  *entry.mutable_touchpoints() = std::move(*touchpoints.mutable_touchpoints());
  *entry.mutable_shares() = std::move(*shares.mutable_shares());
  *entry.mutable_journeys() = std::move(*journeys.mutable_journeys());
  *entry.mutable_open_tasks() = std::move(*tasks.mutable_tasks());
  // The journeys and the open tasks are the parts a view is served without: the customer and
  // its touchpoints matter more than where it stands on a journey or what is to be done next,
  // and journeys and automation are the newest services, not ones the 360 may go down with.
  // Such a view is not stored, or it would lack them until the customer's next event or the
  // TTL; each view is read again until both answer.
  if (journeys_ != nullptr && !PartAnswered(journeys_status, journeys_failing_, "journeys")) {
    entry.clear_journeys();
    loaded.storable = false;
  }
  if (automation_ != nullptr && !PartAnswered(tasks_status, tasks_failing_, "open tasks")) {
    entry.clear_open_tasks();
    loaded.storable = false;
  }
  return loaded;
}

Customer360Service::Customer360Service(Customer360Loader* loader, Customer360Cache* cache,
                                       audit::AuditPublisher* audit, server::Executor* executor)
    : loader_(loader),
      cache_(cache),
      audit_(audit),
      executor_(executor),
      encoder_(ViewEncoder::ForGeneratedRoute()) {}

absl::StatusOr<Customer360Service::Query> Customer360Service::QueryOf(
    const gateway::v1::GetCustomer360Request& request) {
  if (!ids::IsUuid(request.customer_id())) {
    return status::InvalidArgument("customer_id", "must be a UUID");
  }
  if (request.touchpoint_count() < 0 || request.touchpoint_count() > kMaxRecentTouchpoints) {
    return status::InvalidArgument("touchpoint_count",
                                   absl::StrCat("must be 0 to ", kMaxRecentTouchpoints));
  }
  return Query{.customer_id = absl::AsciiStrToLower(request.customer_id()),
               .count = request.touchpoint_count() == 0 ? kDefaultRecentTouchpoints
                                                        : request.touchpoint_count()};
}

void Customer360Service::GetAsync(const auth::RequestContext& caller, Headers credential,
                                  gateway::v1::GetCustomer360Request request, Done done) {
  absl::StatusOr<Query> query = QueryOf(request);
  if (!query.ok()) {
    done(query.status());
    return;
  }
  auto blocking = [this, caller, credential = std::move(credential), request, done]() {
    if (executor_ == nullptr) {
      done(Get(caller, credential, request));
      return;
    }
    const absl::Status queued =
        executor_->Submit([=, this] { done(Get(caller, credential, request)); });
    if (!queued.ok()) done(queued);
  };
  if (cache_ == nullptr || !loader_->HasServiceKey(caller.tenant_id)) {
    blocking();
    return;
  }
  cache_->Lookup(caller.tenant_id, query->customer_id,
                 [this, caller, count = query->count, blocking = std::move(blocking),
                  done](absl::StatusOr<std::optional<std::string>> found) {
                   if (!found.ok() || !found->has_value()) {
                     blocking();
                     return;
                   }
                   Served served{.response = {}, .outcome = CacheOutcome::kHit};
                   google::protobuf::RepeatedPtrField<pv1::CustomerShare> shares;
                   absl::Status status = ParseView(**found, count, served.response, shares);
                   if (status.ok()) status = Enforce(caller, shares, served.response);
                   if (!status.ok()) {
                     done(status);
                     return;
                   }
                   done(std::move(served));
                 });
}

absl::StatusOr<Customer360Service::Served> Customer360Service::Get(
    const auth::RequestContext& caller, const Headers& credential,
    const gateway::v1::GetCustomer360Request& request) {
  TL_ASSIGN_OR_RETURN(const Query query, QueryOf(request));
  const int count = query.count;
  const std::string& customer_id = query.customer_id;

  Served served;
  if (!loader_->HasServiceKey(caller.tenant_id)) {
    // Read as the caller: the services enforce and audit, and nothing is cached.
    TL_ASSIGN_OR_RETURN(Customer360Cache::Loaded loaded,
                        loader_->Load(credential, customer_id, /*with_shares=*/false));
    MoveIntoView(loaded.entry, count, served.response);
    served.outcome = CacheOutcome::kBypass;
    return served;
  }
  const Headers service_key = loader_->ServiceKeyHeaders(caller.tenant_id);
  const Customer360Cache::LoadFn load = [&] {
    return loader_->Load(service_key, customer_id, /*with_shares=*/true);
  };
  Customer360Cache::Result cached;
  if (cache_ != nullptr) {
    TL_ASSIGN_OR_RETURN(cached, cache_->GetOrLoad(caller.tenant_id, customer_id, load));
  } else {
    TL_ASSIGN_OR_RETURN(Customer360Cache::Loaded loaded, load());
    cached.entry = std::move(loaded.entry);
    cached.outcome = CacheOutcome::kBypass;
  }
  MoveIntoView(cached.entry, count, served.response);
  TL_RETURN_IF_ERROR(Enforce(caller, cached.entry.shares(), served.response));
  served.outcome = cached.outcome;
  return served;
}

absl::Status Customer360Service::Enforce(
    const auth::RequestContext& caller,
    const google::protobuf::RepeatedPtrField<pv1::CustomerShare>& shares,
    gateway::v1::GetCustomer360Response& view) const {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  if (!scope->Allows(auth::Access::kRead, AttributesOf(view.customer(), shares))) {
    // Word for word what contacts says of a customer that does not exist.
    return absl::NotFoundError(
        absl::StrCat("customer ", view.customer().customer_id(), " not found"));
  }
  // The journeys and the open tasks are left as they are: no field policy names their fields
  // and none is sensitive, so whoever may see the customer sees them (as journeys and
  // automation themselves answer).
  const std::vector<std::string> customer_fields =
      scope->Redact(auth::kCustomerResource, *view.mutable_customer());
  std::vector<std::vector<std::string>> touchpoint_fields;
  touchpoint_fields.reserve(static_cast<size_t>(view.recent_touchpoints_size()));
  for (tv1::Touchpoint& shown : *view.mutable_recent_touchpoints()) {
    touchpoint_fields.push_back(scope->Redact(auth::kTouchpointResource, shown));
  }
  const auto read_of = [](std::string_view id, const std::vector<std::string>& fields) {
    return SensitiveRead{.id = id, .fields = {fields.begin(), fields.end()}};
  };
  std::vector<SensitiveRead> touchpoint_reads;
  touchpoint_reads.reserve(touchpoint_fields.size());
  std::vector<const SensitiveRead*> touchpoints;
  for (size_t i = 0; i < touchpoint_fields.size(); ++i) {
    touchpoint_reads.push_back(read_of(view.recent_touchpoints(static_cast<int>(i)).touchpoint_id(),
                                       touchpoint_fields[i]));
    touchpoints.push_back(&touchpoint_reads.back());
  }
  AuditReads(caller, view.customer().customer_id(), read_of("", customer_fields), touchpoints);
  return absl::OkStatus();
}

void Customer360Service::AuditReads(const auth::RequestContext& caller,
                                    std::string_view customer_id, const SensitiveRead& customer,
                                    const std::vector<const SensitiveRead*>& touchpoints) const {
  if (audit_ == nullptr) return;
  // The views were redacted when they were prepared; the entries are those contacts and
  // touchpoints write for the same reads.
  disclosure::Disclosure customer_read(caller, auth::kCustomerResource);
  customer_read.Note(customer.fields, customer_id);
  customer_read.Report(audit_);
  disclosure::Disclosure touchpoint_reads(caller, auth::kTouchpointResource,
                                          {.max_listed_ids = kMaxAuditedIds, .detail_prefix = ""});
  for (const SensitiveRead* read : touchpoints) touchpoint_reads.Note(read->fields, read->id);
  touchpoint_reads.Report(audit_);
}

// One GetEncodedAsync call, shared by the steps it goes through (one allocation for all).
struct Customer360Service::EncodedCall {
  auth::RequestContext caller;
  Headers credential;
  gateway::v1::GetCustomer360Request request;
  Encoding encoding;
  Query query;
  // The prepared view's field in the entry's hash.
  std::string field;
  EncodedDone done;
};

void Customer360Service::GetEncodedAsync(const auth::RequestContext& caller, Headers credential,
                                         gateway::v1::GetCustomer360Request request,
                                         Encoding encoding, EncodedDone done) {
  if (!encoder_.ok()) {
    done(encoder_.status());
    return;
  }
  absl::StatusOr<Query> query = QueryOf(request);
  if (!query.ok()) {
    done(query.status());
    return;
  }
  const absl::StatusOr<const auth::Scope*> scope = auth::ScopeOf(caller);
  if (!scope.ok()) {
    done(scope.status());
    return;
  }
  auto call = std::make_shared<EncodedCall>(
      EncodedCall{.caller = caller,
                  .credential = std::move(credential),
                  .request = std::move(request),
                  .encoding = encoding,
                  .query = *std::move(query),
                  .field = PreparedField((*scope)->FieldProfile(), encoding),
                  .done = std::move(done)});
  if (cache_ == nullptr || !loader_->HasServiceKey(call->caller.tenant_id)) {
    GetEncodedBlocking(std::move(call));
    return;
  }
  const std::string& tenant_id = call->caller.tenant_id;
  const std::string& customer_id = call->query.customer_id;
  const std::string& field = call->field;
  cache_->LookupPrepared(
      tenant_id, customer_id, field,
      [this, call = std::move(call)](absl::StatusOr<Customer360Cache::PreparedLookup> found) {
        if (!found.ok() || (!found->prepared && !found->entry)) {
          GetEncodedBlocking(call);
          return;
        }
        if (found->prepared) {
          call->done(
              ServePrepared(call->caller, *found->prepared, call->query.count, call->encoding));
          return;
        }
        // Once per entry and field profile: made where blocking is allowed.
        Run([this, call, found = *std::move(found)] { PrepareAndServe(call, found); }, call);
      });
}

void Customer360Service::Run(std::function<void()> work, const std::shared_ptr<EncodedCall>& call) {
  if (executor_ == nullptr) {
    work();
    return;
  }
  const absl::Status queued = executor_->Submit(std::move(work));
  if (!queued.ok()) call->done(queued);
}

void Customer360Service::GetEncodedBlocking(std::shared_ptr<EncodedCall> call) {
  Run(
      [this, call] {
        absl::StatusOr<Served> served = Get(call->caller, call->credential, call->request);
        if (!served.ok()) {
          call->done(served.status());
          return;
        }
        absl::StatusOr<std::string> bytes = encoder_->Encode(served->response, call->encoding);
        if (!bytes.ok()) {
          call->done(bytes.status());
          return;
        }
        call->done(Encoded{.bytes = *std::move(bytes), .outcome = served->outcome});
      },
      call);
}

void Customer360Service::PrepareAndServe(const std::shared_ptr<EncodedCall>& call,
                                         const Customer360Cache::PreparedLookup& found) {
  Customer360Cache::Entry entry;
  if (!entry.ParseFromString(*found.entry)) {
    // Written by another version of the gateway, say: GetOrLoad loads it again.
    GetEncodedBlocking(call);
    return;
  }
  absl::StatusOr<std::string> prepared =
      encoder_->Prepare(*call->caller.scope, entry, call->encoding);
  if (!prepared.ok()) {
    call->done(prepared.status());
    return;
  }
  // A failed write is logged by the cache and costs only the next hit a prepare.
  (void)cache_->StorePrepared(call->caller.tenant_id, call->query.customer_id, call->field,
                              *prepared, *found.entry, found.version);
  call->done(ServePrepared(call->caller, *prepared, call->query.count, call->encoding));
}

absl::StatusOr<Customer360Service::Encoded> Customer360Service::ServePrepared(
    const auth::RequestContext& caller, std::string_view prepared, int count,
    Encoding encoding) const {
  TL_ASSIGN_OR_RETURN(const PreparedView view, ReadPreparedView(prepared, count));
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  if (!scope->Allows(auth::Access::kRead, view.row)) {
    // Word for word what contacts says of a customer that does not exist.
    return absl::NotFoundError(absl::StrCat("customer ", view.row.customer_id, " not found"));
  }
  std::vector<const SensitiveRead*> touchpoints;
  touchpoints.reserve(view.touchpoints.size());
  for (const PreparedView::Part& part : view.touchpoints) touchpoints.push_back(&part.read);
  AuditReads(caller, view.row.customer_id, view.customer.read, touchpoints);
  return Encoded{.bytes = encoder_->Assemble(view, count, encoding), .outcome = CacheOutcome::kHit};
}

}  // namespace touchline::gateway
