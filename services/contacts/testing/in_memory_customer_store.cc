#include "services/contacts/testing/in_memory_customer_store.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "services/contacts/name_key.h"

namespace touchline::contacts::testing {
namespace {

using Key = std::pair<std::string, std::string>;

Key KeyOf(std::string_view tenant_id, std::string_view id) {
  return {std::string(tenant_id), std::string(id)};
}

absl::Status MergeNotFound(std::string_view merge_id) {
  return absl::NotFoundError(absl::StrCat("merge ", std::string(merge_id), " not found"));
}

bool Matches(const CustomerQuery& query, const Customer& c) {
  const auto in = [](const auto& allowed, auto value) {
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  };
  return (query.show_deleted || c.state == CustomerState::kActive) &&
         in(query.lifecycle_statuses, c.lifecycle_status) && in(query.levels, c.level) &&
         (query.region.empty() || c.region == query.region) &&
         (query.owner_id.empty() || c.owner_id == query.owner_id) &&
         (query.tag.empty() ||
          std::find(c.tags.begin(), c.tags.end(), query.tag) != c.tags.end()) &&
         (!query.updated_since || c.update_time >= *query.updated_since) &&
         absl::StartsWith(c.display_name, query.display_name_prefix);
}

// Whether `a` comes before `b` in the query's order, and whether `c` comes after `after`.
bool Before(CustomerOrder order, const Customer& a, const Customer& b) {
  switch (order) {
    case CustomerOrder::kCreateTimeDesc:
      return std::tie(b.create_time, b.customer_id) < std::tie(a.create_time, a.customer_id);
    case CustomerOrder::kDisplayName:
      return std::tie(a.display_name, a.customer_id) < std::tie(b.display_name, b.customer_id);
    case CustomerOrder::kUpdateTimeDesc:
      break;
  }
  return std::tie(b.update_time, b.customer_id) < std::tie(a.update_time, a.customer_id);
}

bool After(CustomerOrder order, const Customer& c, const CustomerCursor& after) {
  Customer last;
  last.customer_id = after.customer_id;
  last.display_name = after.display_name;
  last.create_time = after.time;
  last.update_time = after.time;
  return Before(order, last, c);
}

}  // namespace

void InMemoryCustomerStore::SetShares(const std::string& tenant_id, const std::string& customer_id,
                                      Shares shares) {
  absl::MutexLock lock(&mu_);
  shares_[KeyOf(tenant_id, customer_id)] = std::move(shares);
}

std::optional<Customer> InMemoryCustomerStore::Find(const std::string& tenant_id,
                                                    const std::string& customer_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = customers_.find(KeyOf(tenant_id, customer_id));
  if (it == customers_.end()) return std::nullopt;
  return it->second;
}

Shares InMemoryCustomerStore::SharesOf(const Key& key) const {
  const auto it = shares_.find(key);
  return it == shares_.end() ? Shares() : it->second;
}

bool InMemoryCustomerStore::Sees(const auth::Scope& scope, const Customer& customer) const {
  return scope.Allows(
      auth::Access::kRead,
      AttributesOf(customer, SharesOf(KeyOf(customer.tenant_id, customer.customer_id))));
}

absl::StatusOr<Customer> InMemoryCustomerStore::WithAccess(const WriteContext& context,
                                                           std::string_view customer_id,
                                                           auth::Access access) const {
  const Key key = KeyOf(context.caller.tenant_id, customer_id);
  const auto it = customers_.find(key);
  if (it == customers_.end()) return CustomerNotFound(customer_id);
  TL_RETURN_IF_ERROR(CheckRowAccess(*context.caller.scope, access, it->second, SharesOf(key)));
  return it->second;
}

absl::StatusOr<std::optional<std::string>> InMemoryCustomerStore::Claim(
    const std::string& tenant_id, const IdempotencyKey& key, const std::string& resource_id) {
  const auto [it, claimed] =
      requests_.try_emplace(KeyOf(tenant_id, key.request_id),
                            Request{.fingerprint = key.fingerprint, .resource_id = resource_id});
  if (claimed) return std::nullopt;
  if (it->second.fingerprint != key.fingerprint) {
    return idempotency::RequestIdReused(key.request_id);
  }
  return it->second.resource_id;
}

absl::StatusOr<std::vector<absl::StatusOr<Customer>>> InMemoryCustomerStore::CreateMany(
    const std::vector<NewCustomer>& customers) {
  absl::MutexLock lock(&mu_);
  std::vector<absl::StatusOr<Customer>> results;
  for (const NewCustomer& n : customers) {
    const std::string& tenant_id = n.context.caller.tenant_id;
    if (n.key) {
      absl::StatusOr<std::optional<std::string>> prior =
          Claim(tenant_id, *n.key, n.customer.customer_id);
      if (!prior.ok()) {
        results.push_back(prior.status());
        continue;
      }
      if (*prior) {
        results.push_back(WithAccess(n.context, **prior, auth::Access::kRead));
        continue;
      }
    }
    customers_[KeyOf(tenant_id, n.customer.customer_id)] = n.customer;
    results.push_back(n.customer);
  }
  return results;
}

absl::StatusOr<std::vector<Customer>> InMemoryCustomerStore::BatchGet(
    std::string_view tenant_id, const auth::Scope& scope,
    const std::vector<std::string>& customer_ids) {
  absl::MutexLock lock(&mu_);
  std::vector<Customer> found;
  for (const std::string& id : std::set<std::string>(customer_ids.begin(), customer_ids.end())) {
    const auto it = customers_.find(KeyOf(tenant_id, id));
    if (it != customers_.end() && Sees(scope, it->second)) found.push_back(it->second);
  }
  return found;
}

absl::StatusOr<CustomerPage> InMemoryCustomerStore::List(
    std::string_view tenant_id, const auth::Scope& scope, const CustomerQuery& query,
    const std::optional<CustomerCursor>& after) {
  absl::MutexLock lock(&mu_);
  std::vector<Customer> matching;
  for (const auto& [key, customer] : customers_) {
    if (key.first != tenant_id || !Matches(query, customer) || !Sees(scope, customer)) continue;
    if (after && !After(query.order, customer, *after)) continue;
    matching.push_back(customer);
  }
  std::sort(matching.begin(), matching.end(),
            [&query](const Customer& a, const Customer& b) { return Before(query.order, a, b); });
  CustomerPage page;
  if (matching.size() > static_cast<size_t>(query.page_size)) {
    matching.resize(query.page_size);
    const Customer& last = matching.back();
    page.next = CustomerCursor{
        .time = query.order == CustomerOrder::kCreateTimeDesc ? last.create_time : last.update_time,
        .display_name = last.display_name,
        .customer_id = last.customer_id};
  }
  page.customers = std::move(matching);
  return page;
}

absl::StatusOr<Customer> InMemoryCustomerStore::Mutate(
    const WriteContext& context, std::string_view customer_id, const Mutation& mutate,
    const std::optional<IdempotencyKey>& request) {
  absl::MutexLock lock(&mu_);
  if (request) {
    // Claimed only once the change is made, as the transaction of the PostgreSQL store does.
    const auto prior = requests_.find(KeyOf(context.caller.tenant_id, request->request_id));
    if (prior != requests_.end()) {
      if (prior->second.fingerprint != request->fingerprint) {
        return idempotency::RequestIdReused(request->request_id);
      }
      return WithAccess(context, customer_id, auth::Access::kRead);
    }
  }
  TL_ASSIGN_OR_RETURN(const Customer current,
                      WithAccess(context, customer_id, auth::Access::kWrite));
  const Key key = KeyOf(context.caller.tenant_id, customer_id);
  Customer next = current;
  TL_RETURN_IF_ERROR(mutate(next).status());
  TL_RETURN_IF_ERROR(CheckStaysWritable(*context.caller.scope, next, SharesOf(key)));
  next.version = current.version + 1;
  next.update_time = context.now;
  customers_[key] = next;
  if (request) {
    TL_RETURN_IF_ERROR(
        Claim(context.caller.tenant_id, *request, std::string(customer_id)).status());
  }
  return next;
}

absl::StatusOr<MergeOutcome> InMemoryCustomerStore::Merge(
    const WriteContext& context, std::string_view survivor_id, std::string_view merged_id,
    const Fold& fold, const std::optional<IdempotencyKey>& key) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant_id = context.caller.tenant_id;
  const std::string merge_id = ids::NewUuid(context.now);
  if (key) {
    TL_ASSIGN_OR_RETURN(const std::optional<std::string> prior, Claim(tenant_id, *key, merge_id));
    if (prior) {
      MergeOutcome replay;
      replay.merge = merges_.at(KeyOf(tenant_id, *prior));
      TL_ASSIGN_OR_RETURN(replay.survivor, WithAccess(context, replay.merge.survivor_customer_id,
                                                      auth::Access::kRead));
      TL_ASSIGN_OR_RETURN(
          replay.merged, WithAccess(context, replay.merge.merged_customer_id, auth::Access::kRead));
      return replay;
    }
  }
  // PostgreSQL rolls the claim back with a refused merge; so does this.
  const auto unclaim = [&] {
    if (key) requests_.erase(KeyOf(tenant_id, key->request_id));
  };
  absl::StatusOr<MergeOutcome> outcome = [&]() -> absl::StatusOr<MergeOutcome> {
    TL_ASSIGN_OR_RETURN(const Customer survivor,
                        WithAccess(context, survivor_id, auth::Access::kWrite));
    TL_ASSIGN_OR_RETURN(const Customer merged,
                        WithAccess(context, merged_id, auth::Access::kWrite));
    TL_ASSIGN_OR_RETURN(Customer folded, fold(survivor, merged));
    TL_RETURN_IF_ERROR(
        CheckStaysWritable(*context.caller.scope, folded, SharesOf(KeyOf(tenant_id, survivor_id))));
    return MergeOf(survivor, merged, std::move(folded), merge_id, context.now);
  }();
  if (!outcome.ok()) {
    unclaim();
    return outcome.status();
  }
  customers_[KeyOf(tenant_id, survivor_id)] = outcome->survivor;
  customers_[KeyOf(tenant_id, merged_id)] = outcome->merged;
  merges_[KeyOf(tenant_id, merge_id)] = outcome->merge;
  return outcome;
}

absl::StatusOr<MergeOutcome> InMemoryCustomerStore::Unmerge(const WriteContext& context,
                                                            std::string_view merge_id,
                                                            const Vet& vet) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant_id = context.caller.tenant_id;
  const auth::Scope& scope = *context.caller.scope;
  const auto found = merges_.find(KeyOf(tenant_id, merge_id));
  if (found == merges_.end()) return MergeNotFound(merge_id);
  const Customer survivor_now = customers_.at(KeyOf(tenant_id, found->second.survivor_customer_id));
  const Customer merged_now = customers_.at(KeyOf(tenant_id, found->second.merged_customer_id));
  // A merge of customers the caller cannot both see does not exist for them.
  if (!Sees(scope, survivor_now) || !Sees(scope, merged_now)) return MergeNotFound(merge_id);
  TL_RETURN_IF_ERROR(CheckNotUnmerged(found->second));
  TL_RETURN_IF_ERROR(WithAccess(context, survivor_now.customer_id, auth::Access::kWrite).status());
  TL_RETURN_IF_ERROR(WithAccess(context, merged_now.customer_id, auth::Access::kWrite).status());
  TL_ASSIGN_OR_RETURN(const MergeOutcome outcome,
                      UnmergeOf(found->second, survivor_now, merged_now, context.now));
  TL_RETURN_IF_ERROR(vet(survivor_now, outcome.survivor));
  TL_RETURN_IF_ERROR(vet(merged_now, outcome.merged));
  found->second = outcome.merge;
  customers_[KeyOf(tenant_id, survivor_now.customer_id)] = outcome.survivor;
  customers_[KeyOf(tenant_id, merged_now.customer_id)] = outcome.merged;
  return outcome;
}

absl::StatusOr<DuplicatePage> InMemoryCustomerStore::FindDuplicates(
    std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
    int page_size, const std::optional<DuplicateCursor>& after) {
  absl::MutexLock lock(&mu_);
  // Key -> the active customers that have it, in id order.
  std::map<std::pair<DedupeReason, std::string>, std::vector<std::string>> holders;
  for (const auto& [key, customer] : customers_) {
    if (key.first != tenant_id || customer.state != CustomerState::kActive) continue;
    for (auto& dedupe_key : DedupeKeys(customer)) {
      holders[std::move(dedupe_key)].push_back(customer.customer_id);
    }
  }
  // (a, b) -> their shared keys, in (reason, key) order.
  std::map<std::pair<std::string, std::string>, std::vector<DuplicateMatch>> pairs;
  for (const auto& [dedupe_key, ids] : holders) {
    if (ids.size() < 2 || ids.size() > static_cast<size_t>(kMaxCustomersPerKey)) continue;
    for (size_t a = 0; a < ids.size(); ++a) {
      for (size_t b = a + 1; b < ids.size(); ++b) {
        if (!customer_id.empty() && ids[a] != customer_id && ids[b] != customer_id) continue;
        pairs[{ids[a], ids[b]}].push_back(
            DuplicateMatch{.reason = dedupe_key.first, .value = dedupe_key.second});
      }
    }
  }
  std::vector<DuplicatePair> found;
  for (auto& [ids, matches] : pairs) {
    if (!Sees(scope, customers_.at(KeyOf(tenant_id, ids.first))) ||
        !Sees(scope, customers_.at(KeyOf(tenant_id, ids.second)))) {
      continue;
    }
    const int strength = static_cast<int>(matches.size());
    if (after && !(strength < after->strength ||
                   (strength == after->strength &&
                    std::tie(ids.first, ids.second) >
                        std::tie(after->customer_id, after->duplicate_customer_id)))) {
      continue;
    }
    found.push_back(DuplicatePair{
        .customer_id = ids.first, .duplicate_customer_id = ids.second, .matches = matches});
  }
  std::stable_sort(found.begin(), found.end(), [](const DuplicatePair& a, const DuplicatePair& b) {
    return a.matches.size() > b.matches.size();
  });
  DuplicatePage page;
  if (found.size() > static_cast<size_t>(page_size)) {
    found.resize(page_size);
    const DuplicatePair& last = found.back();
    page.next = DuplicateCursor{.strength = static_cast<int>(last.matches.size()),
                                .customer_id = last.customer_id,
                                .duplicate_customer_id = last.duplicate_customer_id};
  }
  page.pairs = std::move(found);
  return page;
}

absl::StatusOr<std::vector<CustomerSnapshot>> InMemoryCustomerStore::ListSnapshots(
    const std::optional<SnapshotPosition>& after, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<CustomerSnapshot> snapshots;
  auto it = after ? customers_.upper_bound(KeyOf(after->tenant_id, after->customer_id))
                  : customers_.begin();
  for (; it != customers_.end() && snapshots.size() < static_cast<size_t>(limit); ++it) {
    const Customer& c = it->second;
    CustomerSnapshot& s = snapshots.emplace_back();
    s.tenant_id = it->first.first;
    s.customer_id = it->first.second;
    s.state = c.state;
    s.merged_into_customer_id = c.merged_into_customer_id;
    for (const ContactPerson& person : c.contact_persons) s.person_ids.push_back(person.person_id);
    s.owner_id = c.owner_id;
    s.region = c.region;
    s.level = c.level;
    s.version = c.version;
    s.lifecycle_status = c.lifecycle_status;
    s.tags = c.tags;
    if (c.state != CustomerState::kMerged) continue;
    for (const auto& [key, merge] : merges_) {
      if (key.first == s.tenant_id && merge.merged_customer_id == c.customer_id &&
          !merge.unmerge_time) {
        s.merge_id = merge.merge_id;
        s.folded_persons = FoldedPersons(merge.survivor_before, merge.merged_before);
      }
    }
  }
  return snapshots;
}

}  // namespace touchline::contacts::testing
