#include "services/touchpoints/testing/in_memory_touchpoint_store.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/macros.h"
#include "services/touchpoints/touchpoint_events.h"
#include "services/touchpoints/touchpoint_row.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::touchpoints::testing {
namespace {

using ::google::protobuf::util::TimeUtil;
namespace cv1 = ::touchline::contacts::v1;

absl::Status TouchpointNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("touchpoint ", std::string(id), " not found"));
}

CustomerState StateOf(const cv1::Customer& c) {
  CustomerState state;
  state.state = c.state();
  state.merged_into = c.merged_into_customer_id();
  for (const cv1::ContactPerson& p : c.contact_persons()) state.person_ids.push_back(p.person_id());
  state.attributes.customer_id = c.customer_id();
  state.attributes.owner_id = c.owner_id();
  state.attributes.region = c.region();
  state.attributes.level = c.level();
  return state;
}

int64_t VersionOf(const cv1::Customer& c) { return c.etag().empty() ? 0 : std::stoll(c.etag()); }

template <typename Values, typename Value>
bool Contains(const Values& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Whether `t` passes the filter, as the PostgreSQL store's conditions decide.
bool Matches(const v1::TouchpointFilter& f, const v1::Touchpoint& t) {
  if (!f.channels().empty() && !Contains(f.channels(), t.channel())) return false;
  if (!f.categories().empty() && !Contains(f.categories(), t.category())) return false;
  if (!f.outcomes().empty() && !Contains(f.outcomes(), t.outcome())) return false;
  if (!f.sentiments().empty() && !Contains(f.sentiments(), t.sentiment())) return false;
  if (!f.tag().empty() && !Contains(t.tags(), f.tag())) return false;
  if (!f.participant_id().empty() &&
      std::none_of(t.participants().begin(), t.participants().end(),
                   [&](const v1::Participant& p) { return p.user_id() == f.participant_id(); })) {
    return false;
  }
  if (f.has_concerns() && t.concerns().empty()) return false;
  const absl::Time at = FromProtoTime(t.occur_time());
  if (f.has_occur_time_start() && at < FromProtoTime(f.occur_time_start())) return false;
  if (f.has_occur_time_end() && at >= FromProtoTime(f.occur_time_end())) return false;
  return true;
}

}  // namespace

void InMemoryTouchpointStore::PutCustomer(const std::string& tenant_id,
                                          const cv1::Customer& customer) {
  absl::MutexLock lock(&mu_);
  customers_[{tenant_id, customer.customer_id()}] = {StateOf(customer), VersionOf(customer)};
}

void InMemoryTouchpointStore::ShareCustomer(const std::string& tenant_id,
                                            const std::string& customer_id, std::string grantee,
                                            bool edit) {
  absl::MutexLock lock(&mu_);
  customers_[{tenant_id, customer_id}].state.attributes.shares.push_back(
      {std::move(grantee), edit});
}

std::vector<events::v1::EventEnvelope> InMemoryTouchpointStore::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

size_t InMemoryTouchpointStore::size() const {
  absl::MutexLock lock(&mu_);
  return rows_.size();
}

CustomerStates InMemoryTouchpointStore::LoadCustomers(const std::string& tenant,
                                                      std::vector<std::string> ids) const {
  CustomerStates found;
  for (int hop = 0; hop <= kMaxMergeHops && !ids.empty(); ++hop) {
    std::vector<std::string> next;
    for (const std::string& id : ids) {
      const auto it = customers_.find({tenant, id});
      if (it == customers_.end() || found.contains(id)) continue;
      const CustomerState& c = it->second.state;
      if (!c.merged_into.empty() && !found.contains(c.merged_into)) next.push_back(c.merged_into);
      found.emplace(id, c);
    }
    ids = std::move(next);
  }
  return found;
}

auth::CustomerAttributes InMemoryTouchpointStore::AttributesOf(
    const std::string& tenant, const std::string& customer_id) const {
  const auto it = customers_.find({tenant, customer_id});
  if (it != customers_.end()) return it->second.state.attributes;
  auth::CustomerAttributes unknown;
  unknown.customer_id = customer_id;
  return unknown;
}

absl::Status InMemoryTouchpointStore::RequireVisibleCustomer(const auth::Scope& scope,
                                                             const std::string& tenant,
                                                             const std::string& customer_id) const {
  if (!customers_.contains({tenant, customer_id}) ||
      !scope.Allows(auth::Access::kRead, AttributesOf(tenant, customer_id))) {
    return absl::NotFoundError(absl::StrCat("customer ", customer_id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> InMemoryTouchpointStore::RecordMany(
    const std::vector<NewTouchpoint>& input) {
  absl::MutexLock lock(&mu_);
  std::vector<absl::StatusOr<Recorded>> results(input.size(), absl::UnknownError("not written"));
  std::vector<v1::Touchpoint> touchpoints;
  std::vector<bool> live(input.size(), false);
  std::vector<KeyClaims> keys(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const NewTouchpoint& n = input[i];
    touchpoints.push_back(n.touchpoint);
    const absl::Status resolved =
        ResolveCustomer(LoadCustomers(n.context.caller.tenant_id, {n.touchpoint.customer_id()}),
                        *n.context.caller.scope, touchpoints[i], n.field_prefix);
    if (!resolved.ok()) {
      results[i] = resolved;
      continue;
    }
    live[i] = true;
    keys[i] = KeysOf(n);
  }
  // Claimed one by one, as idempotency::ClaimKeys and INSERT ... ON CONFLICT DO NOTHING do.
  for (KeyClaims& c : keys) {
    if (c.request) {
      const idempotency::Key& key = c.request->key;
      const auto [it, added] = requests_.try_emplace(
          {key.tenant_id, key.request_id},
          idempotency::StoredRequest{key.method, key.fingerprint, c.request->result});
      c.request_claim.decision = added
                                     ? idempotency::Decision::kNew
                                     : idempotency::Decide(it->second, key.method, key.fingerprint);
      if (c.request_claim.decision != idempotency::Decision::kConflict) {
        c.request_claim.result = it->second.result;
      }
    }
    if (c.source) {
      c.source_won =
          sources_
              .try_emplace({c.source->tenant_id, c.source->key},
                           StoredSourceKey{c.source->touchpoint_id, c.source->fingerprint})
              .second;
    }
  }
  const ClaimDecision claims = DecideClaims(keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (claims.give_back_request[i]) {
      requests_.erase({keys[i].request->key.tenant_id, keys[i].request->key.request_id});
    }
    if (claims.give_back_source[i])
      sources_.erase({keys[i].source->tenant_id, keys[i].source->key});
  }

  const uint64_t change = ++last_change_;  // One transaction.
  absl::flat_hash_set<std::string> not_recorded;
  for (size_t i = 0; i < input.size(); ++i) {
    if (!live[i] || !claims.is_new[i]) {
      not_recorded.insert(touchpoints[i].touchpoint_id());
      continue;
    }
    rows_[{input[i].context.caller.tenant_id, touchpoints[i].touchpoint_id()}] =
        Row{touchpoints[i], input[i].touchpoint.customer_id(), change};
    WriteEvents written = RecordedEvents(input[i], touchpoints[i]);
    events_.push_back(std::move(written.change));
    events_.push_back(std::move(written.audit));
    results[i] = Recorded{touchpoints[i], false};
  }
  for (size_t i = 0; i < input.size(); ++i) {
    if (!live[i] || claims.is_new[i]) continue;
    std::optional<StoredSourceKey> source;
    if (keys[i].source) {
      const auto it = sources_.find({keys[i].source->tenant_id, keys[i].source->key});
      if (it != sources_.end()) source = it->second;
    }
    const absl::StatusOr<std::string> prior = DecideReplay(input[i], keys[i], source, not_recorded);
    if (!prior.ok()) {
      results[i] = prior.status();
      continue;
    }
    const auto row = rows_.find({input[i].context.caller.tenant_id, *prior});
    if (row == rows_.end()) return TouchpointNotFound(*prior);
    results[i] = Recorded{row->second.touchpoint, true};
  }
  return results;
}

absl::StatusOr<v1::Touchpoint> InMemoryTouchpointStore::Get(const auth::Scope& scope,
                                                            std::string_view tenant_id,
                                                            std::string_view touchpoint_id) {
  absl::MutexLock lock(&mu_);
  const std::string tenant(tenant_id);
  const auto it = rows_.find({tenant, std::string(touchpoint_id)});
  if (it == rows_.end() ||
      !scope.Allows(auth::Access::kRead,
                    AttributesOf(tenant, it->second.touchpoint.customer_id()))) {
    return TouchpointNotFound(touchpoint_id);
  }
  return it->second.touchpoint;
}

absl::StatusOr<v1::Touchpoint> InMemoryTouchpointStore::Mutate(const WriteContext& context,
                                                               std::string_view touchpoint_id,
                                                               std::string_view field_prefix,
                                                               const Mutation& mutate) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = context.caller.tenant_id;
  const auto it = rows_.find({tenant, std::string(touchpoint_id)});
  if (it == rows_.end()) return TouchpointNotFound(touchpoint_id);
  v1::Touchpoint t = it->second.touchpoint;
  TL_ASSIGN_OR_RETURN(const Mutated mutated,
                      ApplyMutation(
                          context, AttributesOf(tenant, t.customer_id()), field_prefix, mutate,
                          [&](const std::string& customer_id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                            return LoadCustomers(tenant, {customer_id});
                          },
                          TouchpointNotFound(touchpoint_id), t));
  it->second.touchpoint = t;
  if (!mutated.named_customer.empty()) it->second.origin_customer_id = mutated.named_customer;
  it->second.change = ++last_change_;
  WriteEvents written = ChangedEvents(context, t, mutated.change);
  events_.push_back(std::move(written.change));
  events_.push_back(std::move(written.audit));
  return t;
}

absl::StatusOr<TouchpointPage> InMemoryTouchpointStore::List(
    const auth::Scope& scope, std::string_view tenant_id, std::string_view customer_id,
    const v1::TouchpointFilter& filter, int page_size, const std::optional<TimeCursor>& after) {
  absl::MutexLock lock(&mu_);
  const std::string tenant(tenant_id);
  TL_RETURN_IF_ERROR(RequireVisibleCustomer(scope, tenant, std::string(customer_id)));
  // Newest first: (occurred_at, touchpoint_id) descending.
  std::vector<std::pair<TimeCursor, const v1::Touchpoint*>> timeline;
  for (const auto& [id, row] : rows_) {
    const v1::Touchpoint& t = row.touchpoint;
    if (id.first != tenant || t.customer_id() != customer_id || t.has_delete_time() ||
        !Matches(filter, t)) {
      continue;
    }
    const TimeCursor at{FromProtoTime(t.occur_time()), t.touchpoint_id()};
    if (after && std::tie(at.occurred_at, at.touchpoint_id) >=
                     std::tie(after->occurred_at, after->touchpoint_id)) {
      continue;
    }
    timeline.emplace_back(at, &t);
  }
  std::sort(timeline.begin(), timeline.end(), [](const auto& a, const auto& b) {
    return std::tie(b.first.occurred_at, b.first.touchpoint_id) <
           std::tie(a.first.occurred_at, a.first.touchpoint_id);
  });
  TouchpointPage page;
  for (const auto& [at, t] : timeline) {
    if (static_cast<int>(page.touchpoints.size()) == page_size) {
      page.more = true;
      const v1::Touchpoint& last = page.touchpoints.back();
      page.next = TimeCursor{FromProtoTime(last.occur_time()), last.touchpoint_id()};
      break;
    }
    page.touchpoints.push_back(*t);
  }
  return page;
}

absl::StatusOr<TouchpointPage> InMemoryTouchpointStore::Search(const auth::Scope&, std::string_view,
                                                               const SearchSpec&) {
  return absl::UnimplementedError("full-text search needs PostgreSQL (touchpoints_*_pgtest)");
}

absl::StatusOr<v1::GetTouchpointStatsResponse> InMemoryTouchpointStore::Stats(
    const auth::Scope& scope, std::string_view tenant_id, std::string_view customer_id,
    const v1::TouchpointFilter& filter, absl::Time start, absl::Time end,
    std::string_view time_zone) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(time_zone), &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone ", std::string(time_zone)));
  }
  v1::TouchpointFilter untimed = filter;  // The range is [start, end).
  untimed.clear_occur_time_start();
  untimed.clear_occur_time_end();
  absl::MutexLock lock(&mu_);
  std::vector<const v1::Touchpoint*> counted;
  for (const auto& [id, row] : rows_) {
    const v1::Touchpoint& t = row.touchpoint;
    const absl::Time at = FromProtoTime(t.occur_time());
    if (id.first == tenant_id && !t.has_delete_time() && at >= start && at < end &&
        (customer_id.empty() || t.customer_id() == customer_id) && Matches(untimed, t) &&
        scope.Allows(auth::Access::kRead, AttributesOf(id.first, t.customer_id()))) {
      counted.push_back(&t);
    }
  }
  v1::GetTouchpointStatsResponse stats;
  stats.set_total_count(static_cast<int64_t>(counted.size()));
  std::set<std::string> customers;
  std::map<int, int64_t> channels, outcomes, categories;
  std::map<std::pair<int, int>, int64_t> heat;  // (ISO day of week, hour) in `zone`.
  std::vector<int64_t> filled(kCompletenessFields.size()), delays;
  // The outcomes that count as a successful contact (the PostgreSQL store's heat map).
  const std::set<int> successful = {1, 4, 7, 8, 9, 10, 12};
  for (const v1::Touchpoint* t : counted) {
    customers.insert(t->customer_id());
    ++channels[t->channel()];
    ++outcomes[t->outcome()];
    ++categories[t->category()];
    const int bits = CompletenessBits(*t);
    for (size_t i = 0; i < filled.size(); ++i) filled[i] += (bits >> i) & 1;
    delays.push_back(absl::ToUnixMicros(FromProtoTime(t->record_time())) -
                     absl::ToUnixMicros(FromProtoTime(t->occur_time())));
    if (successful.contains(t->outcome())) {
      const absl::CivilSecond local = absl::ToCivilSecond(FromProtoTime(t->occur_time()), zone);
      const int weekday = static_cast<int>(absl::GetWeekday(local));  // Monday = 0.
      ++heat[{weekday + 1, local.hour()}];
    }
  }
  stats.set_customer_count(static_cast<int64_t>(customers.size()));
  // Largest count first, then by value.
  const auto ordered = [](const std::map<int, int64_t>& counts) {
    std::vector<std::pair<int, int64_t>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return sorted;
  };
  for (const auto& [channel, count] : ordered(channels)) {
    v1::ChannelCount* c = stats.add_by_channel();
    c->set_channel(static_cast<v1::Channel>(channel));
    c->set_count(count);
  }
  for (const auto& [outcome, count] : ordered(outcomes)) {
    v1::OutcomeCount* c = stats.add_by_outcome();
    c->set_outcome(static_cast<v1::Outcome>(outcome));
    c->set_count(count);
  }
  for (const auto& [category, count] : ordered(categories)) {
    v1::CategoryCount* c = stats.add_by_category();
    c->set_category(static_cast<v1::Category>(category));
    c->set_count(count);
  }
  for (const auto& [cell, count] : heat) {
    v1::HeatMapCell* c = stats.add_heat_map();
    c->set_day_of_week(cell.first);
    c->set_hour(cell.second);
    c->set_count(count);
  }
  for (size_t i = 0; i < filled.size(); ++i) {
    v1::FieldCompleteness* c = stats.add_completeness();
    c->set_field(kCompletenessFields[i]);
    c->set_filled(filled[i]);
    c->set_ratio(
        counted.empty() ? 0 : static_cast<double>(filled[i]) / static_cast<double>(counted.size()));
  }
  // The median as percentile_cont(0.5): the middle one, or halfway between the middle two.
  std::sort(delays.begin(), delays.end());
  const size_t n = delays.size();
  const int64_t median = n == 0       ? 0
                         : n % 2 == 1 ? delays[n / 2]
                                      : (delays[n / 2 - 1] + delays[n / 2]) / 2;
  *stats.mutable_median_entry_delay() = TimeUtil::MicrosecondsToDuration(median);
  return stats;
}

absl::StatusOr<ChangesPage> InMemoryTouchpointStore::Changes(const auth::Scope& scope,
                                                             std::string_view tenant_id,
                                                             std::string_view customer_id,
                                                             const ChangeCursor& after,
                                                             int page_size) {
  absl::MutexLock lock(&mu_);
  const std::string tenant(tenant_id);
  if (!customer_id.empty()) {
    TL_RETURN_IF_ERROR(RequireVisibleCustomer(scope, tenant, std::string(customer_id)));
  }
  std::vector<std::pair<ChangeCursor, const v1::Touchpoint*>> changed;
  for (const auto& [id, row] : rows_) {
    const ChangeCursor at{row.change, row.touchpoint.touchpoint_id()};
    if (id.first != tenant ||
        (!customer_id.empty() && row.touchpoint.customer_id() != customer_id) ||
        std::tie(at.xid, at.touchpoint_id) <= std::tie(after.xid, after.touchpoint_id)) {
      continue;
    }
    changed.emplace_back(at, &row.touchpoint);
  }
  std::sort(changed.begin(), changed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.xid, a.first.touchpoint_id) <
           std::tie(b.first.xid, b.first.touchpoint_id);
  });
  ChangesPage page{{}, after, static_cast<int>(changed.size()) <= page_size};
  for (int i = 0; i < std::min(static_cast<int>(changed.size()), page_size); ++i) {
    const auto& [at, t] = changed[i];
    page.next = at;
    // Passed over but not returned when the scope does not see its customer.
    if (scope.Allows(auth::Access::kRead, AttributesOf(tenant, t->customer_id()))) {
      page.touchpoints.push_back(*t);
    }
  }
  return page;
}

absl::Status InMemoryTouchpointStore::LearnCustomer(std::string_view tenant_id,
                                                    const cv1::Customer& customer) {
  absl::MutexLock lock(&mu_);
  // One version below the owner's, as the PostgreSQL store does: that version's event applies.
  const int64_t version = VersionOf(customer) - 1;
  const Id id{std::string(tenant_id), customer.customer_id()};
  const auto known = customers_.find(id);
  if (known == customers_.end() || known->second.version < version) {
    customers_[id] = {StateOf(customer), version};
  }
  return absl::OkStatus();
}

}  // namespace touchline::touchpoints::testing
