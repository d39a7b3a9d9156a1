#include "services/contacts/customer_manager.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/service_credential.h"
#include "common/disclosure/disclosure.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"
#include "services/contacts/customer_access.h"
#include "services/contacts/customer_json.h"
#include "services/contacts/customer_merge.h"
#include "services/contacts/customer_proto.h"
#include "services/contacts/customer_update.h"

namespace touchline::contacts {

using text::CodePointCount;
using text::TrimSpace;
namespace {

using nlohmann::json;
using permissions::v1::PERMISSION_CUSTOMERS_MERGE;
using permissions::v1::PERMISSION_CUSTOMERS_WRITE;

absl::Status ToStatus(const std::vector<FieldViolation>& violations) {
  status::FieldViolations out;
  for (const FieldViolation& v : violations) out.Add(v.field, v.description);
  return out.ToStatus();
}

// Customer ids are UUIDs, stored and returned in lower case.
absl::StatusOr<std::string> CheckCustomerId(std::string_view id, std::string_view field) {
  if (id.empty()) return status::InvalidArgument(std::string(field), "is required");
  if (!ids::IsUuid(id)) return status::InvalidArgument(std::string(field), "must be a UUID");
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

absl::Status CheckEtag(const Customer& c, std::string_view etag) {
  if (etag.empty() || etag == std::to_string(c.version)) return absl::OkStatus();
  return status::WithErrorInfo(
      absl::AbortedError(absl::StrCat("customer ", c.customer_id,
                                      " was changed by someone else (etag ", std::string(etag),
                                      " is stale); read it again and retry")),
      "ETAG_MISMATCH", {{"customer_id", c.customer_id}});
}

absl::Status RequireState(const Customer& c, CustomerState state, std::string_view action) {
  if (c.state == state) return absl::OkStatus();
  const char* now = c.state == CustomerState::kDeleted  ? "deleted"
                    : c.state == CustomerState::kMerged ? "merged into another customer"
                                                        : "active";
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", std::string(action), " customer ", c.customer_id, ": it is ", now));
}

absl::Status CheckPageSize(int page_size, std::string_view field) {
  status::FieldViolations violations;
  if (page_size < 0 || page_size > kMaxPageSize) {
    validation::FieldChecker(violations)
        .Add(field, absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  return violations.ToStatus();
}

// A snapshot page token: the web-safe base64 of "<tenant_id>/<customer_id>" of the last
// customer returned. Tenant ids have no '/'. Readable, and that is fine: only services read
// the feed, and they see every customer anyway.
std::string SnapshotToken(const CustomerSnapshot& last) {
  return absl::WebSafeBase64Escape(absl::StrCat(last.tenant_id, "/", last.customer_id));
}

absl::StatusOr<std::optional<SnapshotPosition>> SnapshotPositionOf(std::string_view token) {
  if (token.empty()) return std::nullopt;
  std::string decoded;
  if (absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &decoded)) {
    const size_t slash = decoded.find('/');
    if (slash != std::string::npos) {
      SnapshotPosition position{.tenant_id = decoded.substr(0, slash),
                                .customer_id = decoded.substr(slash + 1)};
      if (auth::IsValidTenantId(position.tenant_id) && ids::IsUuid(position.customer_id)) {
        return position;
      }
    }
  }
  status::FieldViolations violations;
  validation::FieldChecker(violations).Add("page_token", "is not a token this feed returned");
  return violations.ToStatus();
}

json QueryJson(const CustomerQuery& q) {
  json statuses = json::array();
  for (const auto s : q.lifecycle_statuses) statuses.push_back(static_cast<int>(s));
  json levels = json::array();
  for (const auto l : q.levels) levels.push_back(static_cast<int>(l));
  return json{{"s", statuses},
              {"l", levels},
              {"r", q.region},
              {"o", q.owner_id},
              {"t", q.tag},
              {"u", q.updated_since ? absl::ToUnixMicros(*q.updated_since) : -1},
              {"p", q.display_name_prefix},
              {"d", q.show_deleted},
              {"ord", static_cast<int>(q.order)}};
}

absl::Status CheckQuery(const CustomerQuery& q) {
  status::FieldViolations violations;
  const auto check_text = [&](std::string_view field, const std::string& value, size_t max) {
    if (const char* problem = text::EncodingProblem(value)) {
      violations.Add(std::string(field), problem);
    } else if (CodePointCount(value) > max) {
      violations.Add(std::string(field), absl::StrCat("must be at most ", max, " characters"));
    }
  };
  check_text("region", q.region, 128);
  check_text("owner_id", q.owner_id, 128);
  check_text("tag", q.tag, 64);
  check_text("display_name_prefix", q.display_name_prefix, 256);
  return violations.ToStatus();
}

// PERMISSION_DENIED naming the first field of `paths` the caller's field policies keep them
// from writing.
absl::Status CheckFieldsWritable(const auth::Scope& scope, const std::vector<std::string>& paths) {
  return scope.CheckWritable(auth::kCustomerResource, paths);
}

// What creating `customer` (as the request has it) takes: the role's write permission and
// every field it sets writable.
absl::Status CheckCreate(const auth::Scope& scope, const Customer& customer) {
  TL_RETURN_IF_ERROR(scope.Require(PERMISSION_CUSTOMERS_WRITE));
  return CheckFieldsWritable(scope, ChangedFieldPaths(Customer{}, customer));
}

// Merging and unmerging change customers: both permissions are needed.
absl::Status CheckMergePermissions(const auth::Scope& scope) {
  TL_RETURN_IF_ERROR(scope.Require(PERMISSION_CUSTOMERS_WRITE));
  return scope.Require(PERMISSION_CUSTOMERS_MERGE);
}

// The disclosure of one read response: one entry naming the customer, or listing them.
disclosure::Disclosure ReadDisclosure(const auth::RequestContext& caller) {
  return disclosure::Disclosure(caller, auth::kCustomerResource,
                                {.max_listed_ids = kMaxAuditedIds, .detail_prefix = "customers "});
}

// Shows the value of `match` of the pair `ids` as the caller's field policies show the field
// it matched on: the phone, email or name is placed where it lives in a customer, so the same
// rules apply to it as to that field (hidden: the value is left empty).
void DiscloseMatch(disclosure::Disclosure& disclosed, DuplicateMatch& match,
                   const std::vector<std::string>& ids) {
  v1::Customer probe;
  switch (match.reason) {
    case DedupeReason::kPhone:
      probe.add_contact_persons()->add_phones()->set_number(match.value);
      break;
    case DedupeReason::kEmail:
      probe.add_contact_persons()->add_emails()->set_address(match.value);
      break;
    default:
      probe.set_display_name(match.value);
      break;
  }
  disclosed.Apply(probe, ids);
  const v1::ContactPerson* person =
      probe.contact_persons().empty() ? nullptr : &probe.contact_persons(0);
  switch (match.reason) {
    case DedupeReason::kPhone:
      match.value =
          person != nullptr && !person->phones().empty() ? person->phones(0).number() : "";
      break;
    case DedupeReason::kEmail:
      match.value =
          person != nullptr && !person->emails().empty() ? person->emails(0).address() : "";
      break;
    default:
      match.value = probe.display_name();
      break;
  }
}

}  // namespace

CustomerManager::CustomerManager(CustomerStore* store, audit::AuditPublisher* audit,
                                 CustomerValidator validator, paging::PageTokens page_tokens,
                                 Clock clock, BatchOptions batching)
    : store_(store),
      audit_(audit),
      validator_(std::move(validator)),
      page_tokens_(std::move(page_tokens)),
      clock_(std::move(clock)),
      loader_(batching.read_threads, batching.max_batch, batching.max_queue,
              [this](std::vector<PendingGet>& batch) { LoadBatch(batch); }),
      writer_(batching.write_threads, batching.max_batch, batching.max_queue,
              [this](std::vector<PendingCreate>& batch) { CreateBatch(batch); }) {}

WriteContext CustomerManager::NewWriteContext(const auth::RequestContext& caller) const {
  // PostgreSQL keeps microseconds: truncate so what we return equals what we stored.
  return WriteContext{.caller = caller, .now = TruncateToMicros(clock_())};
}

v1::Customer CustomerManager::DiscloseOne(const auth::RequestContext& caller,
                                          const Customer& customer) const {
  std::vector<v1::Customer> shown = Disclose(caller, {customer});
  return std::move(shown.front());
}

std::vector<v1::Customer> CustomerManager::Disclose(const auth::RequestContext& caller,
                                                    const std::vector<Customer>& customers) const {
  disclosure::Disclosure disclosed = ReadDisclosure(caller);
  std::vector<v1::Customer> shown(customers.size());
  for (size_t i = 0; i < customers.size(); ++i) {
    ToProto(customers[i], &shown[i]);
    disclosed.Apply(shown[i], {customers[i].customer_id});
  }
  disclosed.Report(audit_);
  return shown;
}

v1::Customer CustomerManager::Shown(const auth::RequestContext& caller, const Customer& customer) {
  v1::Customer shown;
  ToProto(customer, &shown);
  caller.scope->Redact(auth::kCustomerResource, shown);
  return shown;
}

absl::StatusOr<v1::Customer> CustomerManager::Shown(const auth::RequestContext& caller,
                                                    const absl::StatusOr<Customer>& customer) {
  if (!customer.ok()) return customer.status();
  return Shown(caller, *customer);
}

void CustomerManager::Create(const auth::RequestContext& caller, Customer customer,
                             const std::optional<IdempotencyKey>& key, CustomerCallback done) {
  const absl::StatusOr<const auth::Scope*> scope = auth::ScopeOf(caller);
  if (!scope.ok()) return done(scope.status());
  if (absl::Status allowed = CheckCreate(**scope, customer); !allowed.ok()) return done(allowed);
  const WriteContext context = NewWriteContext(caller);
  // Person ids are output only on create.
  for (ContactPerson& person : customer.contact_persons) person.person_id.clear();
  // An employee's new customer is their own unless they say whose.
  if (customer.owner_id.empty() &&
      (*scope)->proto().principal_kind() != permissions::v1::PRINCIPAL_KIND_PARTNER_USER) {
    customer.owner_id = (*scope)->user_id();
  }
  if (absl::Status valid = ToStatus(validator_.Normalize(customer, /*for_create=*/true));
      !valid.ok()) {
    return done(valid);
  }
  if (absl::Status reachable = CheckStaysWritable(**scope, customer, /*shares=*/{});
      !reachable.ok()) {
    return done(reachable);
  }
  AssignPersonIds(customer);
  customer.tenant_id = context.caller.tenant_id;
  customer.customer_id = ids::NewUuid(context.now);
  customer.state = CustomerState::kActive;
  customer.merged_into_customer_id.clear();
  customer.create_time = context.now;
  customer.update_time = context.now;
  customer.delete_time.reset();
  customer.version = 1;
  PendingCreate pending{
      .customer = {.context = context, .customer = std::move(customer), .key = key},
      .done = std::move(done)};
  if (!writer_.Add(pending)) pending.done(absl::ResourceExhaustedError("server overloaded"));
}

void CustomerManager::CreateBatch(std::vector<PendingCreate>& batch) {
  std::vector<NewCustomer> customers;
  customers.reserve(batch.size());
  for (PendingCreate& pending : batch) customers.push_back(std::move(pending.customer));
  std::vector<absl::StatusOr<Customer>> results =
      server::CommitTogetherOrAlone<NewCustomer, Customer>(
          customers, [this](const std::vector<NewCustomer>& group) {
            return store_->CreateMany(group);
          });
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(Shown(customers[i].context.caller, results[i]));
  }
}

void CustomerManager::Get(const auth::RequestContext& caller, std::string_view customer_id,
                          CustomerCallback done) {
  if (absl::StatusOr<const auth::Scope*> scope = auth::ScopeOf(caller); !scope.ok()) {
    return done(scope.status());
  }
  absl::StatusOr<std::string> id = CheckCustomerId(customer_id, "customer_id");
  if (!id.ok()) return done(id.status());
  PendingGet pending{.caller = caller, .customer_id = *std::move(id), .done = std::move(done)};
  if (!loader_.Add(pending)) pending.done(absl::ResourceExhaustedError("server overloaded"));
}

void CustomerManager::LoadBatch(std::vector<PendingGet>& batch) {
  // One query per tenant and scope in the batch: scopes are shared by every call of one
  // credential, so a busy caller's gets still go together.
  std::map<std::pair<std::string, const auth::Scope*>, std::vector<PendingGet*>> by_viewer;
  for (PendingGet& pending : batch) {
    by_viewer[{pending.caller.tenant_id, pending.caller.scope.get()}].push_back(&pending);
  }
  for (auto& [viewer, pendings] : by_viewer) {
    const auto& [tenant, scope] = viewer;
    std::vector<std::string> ids;
    ids.reserve(pendings.size());
    for (const PendingGet* pending : pendings) ids.push_back(pending->customer_id);
    absl::StatusOr<std::vector<Customer>> found = store_->BatchGet(tenant, *scope, ids);
    for (PendingGet* pending : pendings) {
      if (!found.ok()) {
        pending->done(found.status());
        continue;
      }
      const auto it = std::find_if(found->begin(), found->end(), [&](const Customer& c) {
        return c.customer_id == pending->customer_id;
      });
      if (it == found->end()) {
        pending->done(CustomerNotFound(pending->customer_id));
      } else {
        pending->done(DiscloseOne(pending->caller, *it));
      }
    }
  }
}

absl::StatusOr<std::vector<v1::Customer>> CustomerManager::BatchGet(
    const auth::RequestContext& caller, const std::vector<std::string>& customer_ids) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  if (customer_ids.empty()) return status::InvalidArgument("customer_ids", "is required");
  if (customer_ids.size() > static_cast<size_t>(kMaxBatchGet)) {
    return status::InvalidArgument("customer_ids",
                                   absl::StrCat("must have at most ", kMaxBatchGet, " ids"));
  }
  std::vector<std::string> ids;
  ids.reserve(customer_ids.size());
  for (size_t i = 0; i < customer_ids.size(); ++i) {
    TL_ASSIGN_OR_RETURN(std::string id,
                        CheckCustomerId(customer_ids[i], absl::StrCat("customer_ids[", i, "]")));
    ids.push_back(std::move(id));
  }
  TL_ASSIGN_OR_RETURN(std::vector<Customer> found, store_->BatchGet(caller.tenant_id, *scope, ids));
  std::vector<Customer> ordered;
  ordered.reserve(ids.size());
  for (const std::string& id : ids) {
    const auto it = std::find_if(found.begin(), found.end(),
                                 [&id](const Customer& c) { return c.customer_id == id; });
    if (it == found.end()) return CustomerNotFound(id);
    ordered.push_back(*it);
  }
  return Disclose(caller, ordered);
}

absl::StatusOr<ListResult> CustomerManager::List(const auth::RequestContext& caller,
                                                 CustomerQuery query, std::string_view page_token) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(CheckPageSize(query.page_size, "page_size"));
  TL_RETURN_IF_ERROR(CheckQuery(query));
  if (query.page_size == 0) query.page_size = kDefaultCustomerPageSize;
  const std::string query_hash = paging::QueryHash(QueryJson(query).dump());
  std::optional<CustomerCursor> after;
  if (!page_token.empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_.Decode(page_token, query_hash));
    after = CustomerCursor{.time = absl::FromUnixMicros(cursor.value("t", std::int64_t{0})),
                           .display_name = cursor.value("n", ""),
                           .customer_id = cursor.value("i", "")};
    if (!ids::IsUuid(after->customer_id)) {
      return status::InvalidArgument("page_token", "is not a token this query returned");
    }
  }
  TL_ASSIGN_OR_RETURN(CustomerPage page, store_->List(caller.tenant_id, *scope, query, after));
  ListResult result{.customers = Disclose(caller, page.customers), .next_page_token = {}};
  if (page.next) {
    result.next_page_token = page_tokens_.Encode({{"t", absl::ToUnixMicros(page.next->time)},
                                                  {"n", page.next->display_name},
                                                  {"i", page.next->customer_id}},
                                                 query_hash);
  }
  return result;
}

absl::StatusOr<v1::Customer> CustomerManager::Update(const auth::RequestContext& caller,
                                                     const Customer& patch, std::string_view etag,
                                                     const std::vector<std::string>& paths,
                                                     const std::optional<IdempotencyKey>& key) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::string id,
                      CheckCustomerId(patch.customer_id, "customer.customer_id"));
  if (paths.empty()) {
    return status::InvalidArgument("update_mask", "must name at least one field");
  }
  TL_RETURN_IF_ERROR(scope->Require(PERMISSION_CUSTOMERS_WRITE));
  TL_RETURN_IF_ERROR(CheckFieldsWritable(*scope, WrittenFieldPaths(paths)));
  const absl::StatusOr<Customer> updated = store_->Mutate(
      NewWriteContext(caller), id,
      [&](Customer& customer) -> absl::StatusOr<Change> {
        TL_RETURN_IF_ERROR(CheckEtag(customer, etag));
        TL_RETURN_IF_ERROR(RequireState(customer, CustomerState::kActive, "update"));
        TL_RETURN_IF_ERROR(ToStatus(ApplyUpdateMask(patch, paths, customer)));
        TL_RETURN_IF_ERROR(ToStatus(validator_.Normalize(customer, /*for_create=*/false)));
        AssignPersonIds(customer);
        return Change{.kind = ChangeKind::kUpdated, .fields = paths};
      },
      key);
  return Shown(caller, updated);
}

absl::StatusOr<v1::Customer> CustomerManager::Delete(const auth::RequestContext& caller,
                                                     std::string_view customer_id,
                                                     std::string_view etag) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::string id, CheckCustomerId(customer_id, "customer_id"));
  TL_RETURN_IF_ERROR(scope->Require(PERMISSION_CUSTOMERS_WRITE));
  const WriteContext context = NewWriteContext(caller);
  const absl::StatusOr<Customer> deleted = store_->Mutate(
      context, id,
      [&](Customer& customer) -> absl::StatusOr<Change> {
        TL_RETURN_IF_ERROR(CheckEtag(customer, etag));
        TL_RETURN_IF_ERROR(RequireState(customer, CustomerState::kActive, "delete"));
        customer.state = CustomerState::kDeleted;
        customer.delete_time = context.now;
        return Change{.kind = ChangeKind::kDeleted, .fields = {}};
      },
      std::nullopt);
  return Shown(caller, deleted);
}

absl::StatusOr<v1::Customer> CustomerManager::Undelete(const auth::RequestContext& caller,
                                                       std::string_view customer_id,
                                                       std::string_view etag) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::string id, CheckCustomerId(customer_id, "customer_id"));
  TL_RETURN_IF_ERROR(scope->Require(PERMISSION_CUSTOMERS_WRITE));
  const absl::StatusOr<Customer> restored = store_->Mutate(
      NewWriteContext(caller), id,
      [&](Customer& customer) -> absl::StatusOr<Change> {
        TL_RETURN_IF_ERROR(CheckEtag(customer, etag));
        TL_RETURN_IF_ERROR(RequireState(customer, CustomerState::kDeleted, "undelete"));
        customer.state = CustomerState::kActive;
        customer.delete_time.reset();
        return Change{.kind = ChangeKind::kUndeleted, .fields = {}};
      },
      std::nullopt);
  return Shown(caller, restored);
}

absl::StatusOr<DuplicatesResult> CustomerManager::FindDuplicates(const auth::RequestContext& caller,
                                                                 std::string_view customer_id,
                                                                 int page_size,
                                                                 std::string_view page_token) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  std::string id;
  if (!customer_id.empty()) {
    TL_ASSIGN_OR_RETURN(id, CheckCustomerId(customer_id, "customer_id"));
  }
  TL_RETURN_IF_ERROR(CheckPageSize(page_size, "page_size"));
  if (page_size == 0) page_size = kDefaultDuplicatePageSize;
  const std::string query_hash = paging::QueryHash(json{{"dup", id}}.dump());
  std::optional<DuplicateCursor> after;
  if (!page_token.empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_.Decode(page_token, query_hash));
    after = DuplicateCursor{.strength = cursor.value("s", 0),
                            .customer_id = cursor.value("a", ""),
                            .duplicate_customer_id = cursor.value("b", "")};
    if (!ids::IsUuid(after->customer_id) || !ids::IsUuid(after->duplicate_customer_id)) {
      return status::InvalidArgument("page_token", "is not a token this query returned");
    }
  }
  TL_ASSIGN_OR_RETURN(DuplicatePage page,
                      store_->FindDuplicates(caller.tenant_id, *scope, id, page_size, after));
  DuplicatesResult result{.pairs = std::move(page.pairs), .next_page_token = {}};
  disclosure::Disclosure disclosed = ReadDisclosure(caller);
  for (DuplicatePair& pair : result.pairs) {
    for (DuplicateMatch& match : pair.matches) {
      DiscloseMatch(disclosed, match, {pair.customer_id, pair.duplicate_customer_id});
    }
  }
  disclosed.Report(audit_);
  if (page.next) {
    result.next_page_token = page_tokens_.Encode({{"s", page.next->strength},
                                                  {"a", page.next->customer_id},
                                                  {"b", page.next->duplicate_customer_id}},
                                                 query_hash);
  }
  return result;
}

absl::StatusOr<SnapshotPage> CustomerManager::ListSnapshots(const auth::RequestContext& caller,
                                                            int page_size,
                                                            std::string_view page_token) {
  if (!caller.caller_id.starts_with(auth::kServiceCallerPrefix)) {
    return absl::PermissionDeniedError("only a Touchline service may read the customer feed");
  }
  TL_RETURN_IF_ERROR(CheckPageSize(page_size, "page_size"));
  if (page_size == 0) page_size = kDefaultSnapshotPageSize;
  TL_ASSIGN_OR_RETURN(const std::optional<SnapshotPosition> after, SnapshotPositionOf(page_token));
  // One more than the page, to know whether another follows.
  TL_ASSIGN_OR_RETURN(std::vector<CustomerSnapshot> snapshots,
                      store_->ListSnapshots(after, page_size + 1));
  SnapshotPage page;
  if (snapshots.size() > static_cast<size_t>(page_size)) {
    snapshots.resize(static_cast<size_t>(page_size));
    page.next_page_token = SnapshotToken(snapshots.back());
  }
  page.snapshots = std::move(snapshots);
  return page;
}

absl::StatusOr<MergeResult> CustomerManager::Merge(const auth::RequestContext& caller,
                                                   std::string_view survivor_id,
                                                   std::string_view merged_id,
                                                   std::string_view survivor_etag,
                                                   std::string_view merged_etag,
                                                   const std::optional<IdempotencyKey>& key) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(CheckMergePermissions(*scope));
  TL_ASSIGN_OR_RETURN(const std::string survivor,
                      CheckCustomerId(survivor_id, "survivor_customer_id"));
  TL_ASSIGN_OR_RETURN(const std::string merged, CheckCustomerId(merged_id, "merged_customer_id"));
  if (survivor == merged) {
    return status::InvalidArgument("merged_customer_id", "must differ from the survivor");
  }
  const auto fold = [&](const Customer& s, const Customer& m) -> absl::StatusOr<Customer> {
    TL_RETURN_IF_ERROR(CheckEtag(s, survivor_etag));
    TL_RETURN_IF_ERROR(CheckEtag(m, merged_etag));
    TL_RETURN_IF_ERROR(RequireState(s, CustomerState::kActive, "merge into"));
    TL_RETURN_IF_ERROR(RequireState(m, CustomerState::kActive, "merge"));
    Customer folded = FoldInto(s, m);
    // The fold only unites valid values within their caps; a violation here is our bug.
    if (const auto violations = validator_.Normalize(folded, /*for_create=*/false);
        !violations.empty()) {
      return absl::InternalError(
          absl::StrCat("merge produced an invalid customer: ", violations.front().field, " ",
                       violations.front().description));
    }
    AssignPersonIds(folded);
    // What the fold changes on the survivor, the caller writes.
    TL_RETURN_IF_ERROR(CheckFieldsWritable(*scope, ChangedFieldPaths(s, folded)));
    return folded;
  };
  TL_ASSIGN_OR_RETURN(const MergeOutcome outcome,
                      store_->Merge(NewWriteContext(caller), survivor, merged, fold, key));
  return MergeResult{.survivor = Shown(caller, outcome.survivor),
                     .merged = Shown(caller, outcome.merged),
                     .merge = outcome.merge};
}

absl::StatusOr<MergeResult> CustomerManager::Unmerge(const auth::RequestContext& caller,
                                                     std::string_view merge_id) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(CheckMergePermissions(*scope));
  if (merge_id.empty()) return status::InvalidArgument("merge_id", "is required");
  if (!ids::IsUuid(merge_id)) return status::InvalidArgument("merge_id", "must be a UUID");
  // Restoring a customer writes every field it changes back.
  const auto vet = [scope](const Customer& now, const Customer& restored) {
    return CheckFieldsWritable(*scope, ChangedFieldPaths(now, restored));
  };
  TL_ASSIGN_OR_RETURN(
      const MergeOutcome outcome,
      store_->Unmerge(NewWriteContext(caller),
                      absl::AsciiStrToLower(absl::string_view(merge_id.data(), merge_id.size())),
                      vet));
  return MergeResult{.survivor = Shown(caller, outcome.survivor),
                     .merged = Shown(caller, outcome.merged),
                     .merge = outcome.merge};
}

}  // namespace touchline::contacts
