#include "services/touchpoints/pg_touchpoint_store.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/log/log.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "services/touchpoints/customer_events.h"
#include "services/touchpoints/record_decision.h"
#include "services/touchpoints/search_text.h"
#include "services/touchpoints/sql.h"
#include "services/touchpoints/touchpoint_events.h"
#include "services/touchpoints/touchpoint_row.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::TimeUtil;
namespace cv1 = ::touchline::contacts::v1;

// Params of a statement built on the fly: param("x") appends x and returns "$n".
class Params {
 public:
  std::string Add(std::string value) {
    values_.push_back(std::move(value));
    return absl::StrCat("$", values_.size());
  }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

template <typename Txn>
pqxx::result Exec(Txn& txn, const std::string& sql, const Params& params) {
  return txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()));
}

template <typename Enums>
std::string IntArray(const Enums& values) {
  std::vector<std::string> text;
  for (const int v : values) text.push_back(std::to_string(v));
  return absl::StrCat("{", absl::StrJoin(text, ","), "}");
}

// The filter's conditions, as " AND ..." clauses.
std::string FilterSql(const v1::TouchpointFilter& f, bool with_time, Params& p) {
  std::string sql;
  if (f.channels_size() > 0) {
    absl::StrAppend(&sql, " AND channel = ANY(", p.Add(IntArray(f.channels())), "::smallint[])");
  }
  if (f.categories_size() > 0) {
    absl::StrAppend(&sql, " AND category = ANY(", p.Add(IntArray(f.categories())),
                    "::smallint[])");
  }
  if (f.outcomes_size() > 0) {
    absl::StrAppend(&sql, " AND outcome = ANY(", p.Add(IntArray(f.outcomes())), "::smallint[])");
  }
  if (f.sentiments_size() > 0) {
    absl::StrAppend(&sql, " AND sentiment = ANY(", p.Add(IntArray(f.sentiments())),
                    "::smallint[])");
  }
  if (!f.tag().empty()) absl::StrAppend(&sql, " AND tags @> ARRAY[", p.Add(f.tag()), "]");
  if (!f.participant_id().empty()) {
    absl::StrAppend(&sql, " AND participant_ids @> ARRAY[", p.Add(f.participant_id()), "]");
  }
  if (f.has_concerns()) {
    absl::StrAppend(&sql, " AND search @@ ", p.Add(absl::StrCat("'", kConcernsLexeme, "'")),
                    "::tsquery");
  }
  if (with_time && f.has_occur_time_start()) {
    absl::StrAppend(&sql, " AND occurred_at >= ",
                    p.Add(PgTime(FromProtoTime(f.occur_time_start()))), "::timestamptz");
  }
  if (with_time && f.has_occur_time_end()) {
    absl::StrAppend(&sql, " AND occurred_at < ", p.Add(PgTime(FromProtoTime(f.occur_time_end()))),
                    "::timestamptz");
  }
  return sql;
}

std::string AfterSql(const std::optional<TimeCursor>& after, Params& p) {
  if (!after) return "";
  return absl::StrCat(" AND (occurred_at, touchpoint_id) < (",
                      p.Add(PgTime(after->occurred_at)), "::timestamptz, ",
                      p.Add(after->touchpoint_id), "::uuid)");
}

// The attributes of `customer_id` read from sql::AttributeColumns() at column `first` of `row`. A
// customer missing from the read model (NULLs) has none, so only a scope that sees every
// customer sees it.
auth::CustomerAttributes AttributesFromRow(const pqxx::row& row, int first,
                                           std::string customer_id) {
  auth::CustomerAttributes customer;
  customer.customer_id = std::move(customer_id);
  if (row[first].is_null()) return customer;
  customer.owner_id = row[first].c_str();
  customer.region = row[first + 1].c_str();
  customer.level = row[first + 2].as<int>();
  for (const std::string& share : pg::ParseTextArray(row[first + 3])) {
    customer.shares.push_back({share.substr(1), share[0] == 'e'});
  }
  return customer;
}

// Whether the row of `touchpoints` in the query belongs to a customer `scope` sees, as a SQL
// boolean over the read model with its parameters added to `p`; "TRUE" when the scope sees
// every customer (nothing to join).
std::string VisibleSql(const auth::Scope& scope, Params& p) {
  auth::SqlCondition condition = scope.SqlVisibility(
      auth::Access::kRead, "c", enforcement::kSharesTable, static_cast<int>(p.values().size()) + 1);
  if (condition.sql == "TRUE") return condition.sql;
  for (std::string& value : condition.params) p.Add(std::move(value));
  return absl::StrCat(
      "EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = touchpoints.tenant_id AND "
      "c.customer_id = touchpoints.customer_id AND (",
      condition.sql, "))");
}

// VisibleSql as an " AND ..." clause; empty when the scope sees every customer.
std::string VisibleClause(const auth::Scope& scope, Params& p) {
  const std::string visible = VisibleSql(scope, p);
  return visible == "TRUE" ? "" : absl::StrCat(" AND ", visible);
}

absl::Status TouchpointNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("touchpoint ", std::string(id), " not found"));
}

// NOT_FOUND, worded as for a customer the read model does not have, unless `scope` reads
// `customer_id`.
absl::Status RequireVisibleCustomer(pqxx::nontransaction& txn, const auth::Scope& scope,
                                    std::string_view tenant_id, std::string_view customer_id) {
  const pqxx::result customer =
      txn.exec_prepared(sql::kCustomerAttributes, std::string(tenant_id), std::string(customer_id));
  if (customer.empty() ||
      !scope.Allows(auth::Access::kRead,
                    AttributesFromRow(customer[0], 0, std::string(customer_id)))) {
    return absl::NotFoundError(absl::StrCat("customer ", std::string(customer_id), " not found"));
  }
  return absl::OkStatus();
}

// Loads the customers `ids` of `tenant` and, transitively, the survivors they were merged
// into, with their visibility attributes, locking each row against a concurrent merge until
// the transaction ends.
CustomerStates LoadCustomers(pqxx::work& txn, const std::string& tenant,
                             std::vector<std::string> ids) {
  CustomerStates found;
  for (int hop = 0; hop <= kMaxMergeHops && !ids.empty(); ++hop) {
    const pqxx::result rows =
        txn.exec_params(sql::LoadCustomersSql(), tenant, pg::TextArrayLiteral(ids));
    ids.clear();
    for (const auto& row : rows) {
      CustomerState c{row[1].as<int>(), row[2].c_str(), pg::ParseTextArray(row[3]),
                      pg::ParseTextArray(row[4]), AttributesFromRow(row, 5, row[0].c_str())};
      if (!c.merged_into.empty() && !found.contains(c.merged_into)) ids.push_back(c.merged_into);
      found.emplace(row[0].c_str(), std::move(c));
    }
  }
  return found;
}

struct StoredTouchpoint {
  v1::Touchpoint touchpoint;
  auth::CustomerAttributes customer;
};

absl::StatusOr<StoredTouchpoint> SelectOne(pqxx::transaction_base& txn, std::string_view tenant,
                                           std::string_view id, bool lock) {
  const pqxx::result rows =
      lock ? txn.exec_params(absl::StrCat(sql::SelectOneSql(), " FOR UPDATE OF touchpoints"),
                             std::string(tenant), std::string(id))
           : txn.exec_prepared(sql::kGetTouchpoint, std::string(tenant), std::string(id));
  if (rows.empty()) return TouchpointNotFound(id);
  TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(rows[0]));
  auth::CustomerAttributes customer =
      AttributesFromRow(rows[0], kSelectColumnCount, t.customer_id());
  return StoredTouchpoint{std::move(t), std::move(customer)};
}

// The page of touchpoints in `parts` (rows selected with kSelectColumns, in order): the
// first page_size, and a cursor when there are more.
absl::StatusOr<TouchpointPage> ReadPage(const std::vector<pqxx::result>& parts, int page_size) {
  TouchpointPage page;
  for (const pqxx::result& rows : parts) {
    for (const auto& row : rows) {
      if (static_cast<int>(page.touchpoints.size()) == page_size) {
        page.more = true;
        const v1::Touchpoint& last = page.touchpoints.back();
        page.next = TimeCursor{FromProtoTime(last.occur_time()), last.touchpoint_id()};
        return page;
      }
      TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(row));
      page.touchpoints.push_back(std::move(t));
    }
  }
  return page;
}

// Claims the request ids and the source keys of `claims` (filled in by KeysOf).
absl::Status ClaimKeys(pqxx::work& txn, std::vector<KeyClaims>& claims) {
  std::vector<idempotency::KeyClaim> requests;
  std::vector<std::string> tenants, kinds, names, ids, times, fingerprints;
  for (const KeyClaims& c : claims) {
    if (c.request) requests.push_back(*c.request);
    if (!c.source) continue;
    tenants.push_back(c.source->tenant_id);
    kinds.push_back(std::to_string(kSourceKey));
    names.push_back(c.source->key);
    ids.push_back(c.source->touchpoint_id);
    times.push_back(PgTime(c.source->occurred_at));
    fingerprints.push_back(c.source->fingerprint);
  }
  TL_ASSIGN_OR_RETURN(const std::vector<idempotency::Claim> decided,
                      idempotency::ClaimKeys(txn, requests));
  // (tenant, key, touchpoint): a key named twice in one write is inserted for one of them.
  absl::flat_hash_set<std::tuple<std::string, std::string, std::string>> inserted;
  if (!names.empty()) {
    for (const auto& row : txn.exec_params(sql::kClaimKeys, pg::TextArrayLiteral(tenants),
                                           pg::TextArrayLiteral(kinds), pg::TextArrayLiteral(names),
                                           pg::TextArrayLiteral(ids), pg::TextArrayLiteral(times),
                                           pg::TextArrayLiteral(fingerprints))) {
      inserted.emplace(row[0].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>());
    }
  }
  size_t r = 0;
  for (KeyClaims& c : claims) {
    if (c.request) c.request_claim = decided[r++];
    if (c.source) {
      c.source_won =
          inserted.contains({c.source->tenant_id, c.source->key, c.source->touchpoint_id});
    }
  }
  return absl::OkStatus();
}

// Gives back the keys ClaimDecision says to.
void GiveBackKeys(pqxx::work& txn, const std::vector<KeyClaims>& claims,
                  const ClaimDecision& decision) {
  std::vector<idempotency::KeyClaim> requests;
  std::vector<std::string> tenants, kinds, names, ids;
  for (size_t i = 0; i < claims.size(); ++i) {
    if (decision.give_back_request[i]) requests.push_back(*claims[i].request);
    if (!decision.give_back_source[i]) continue;
    tenants.push_back(claims[i].source->tenant_id);
    kinds.push_back(std::to_string(kSourceKey));
    names.push_back(claims[i].source->key);
    ids.push_back(claims[i].source->touchpoint_id);
  }
  if (!requests.empty()) idempotency::ReleaseKeys(txn, requests);
  if (ids.empty()) return;
  txn.exec_params(sql::kGiveBackKeys, pg::TextArrayLiteral(tenants), pg::TextArrayLiteral(kinds),
                  pg::TextArrayLiteral(names), pg::TextArrayLiteral(ids));
}

// The stored row of the source key of `claims`, if it has one and one is stored.
std::optional<StoredSourceKey> StoredSource(pqxx::work& txn, const KeyClaims& claims) {
  if (!claims.source) return std::nullopt;
  const pqxx::result rows =
      txn.exec_params(sql::kStoredSourceKey, claims.source->tenant_id, claims.source->key);
  if (rows.empty()) return std::nullopt;
  return StoredSourceKey{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
}

int64_t MonthIndex(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  return c.year() * 12 + c.month() - 1;
}

}  // namespace

PgTouchpointStore::PgTouchpointStore(pg::Pool* pool, std::function<void()> events_written)
    : pool_(pool), events_written_(std::move(events_written)) {}

std::vector<std::pair<std::string, std::string>> PgTouchpointStore::PreparedStatements() {
  return {{sql::kGetTouchpoint, sql::SelectOneSql()},
          {sql::kCustomerAttributes, sql::CustomerAttributesSql()},
          {sql::kTimelineFirst, sql::TimelineSql(/*after=*/false)},
          {sql::kTimelineAfter, sql::TimelineSql(/*after=*/true)}};
}

absl::Status PgTouchpointStore::EnsurePartitions(absl::Time first, absl::Time last) {
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(sql::kEnsurePartitions, PgTime(first), PgTime(last));
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&months_mu_);
  for (int64_t m = MonthIndex(first); m <= MonthIndex(last); ++m) months_.insert(m);
  return absl::OkStatus();
}

absl::Status PgTouchpointStore::EnsurePartitionsAhead(int months) {
  const absl::Time now = absl::Now();
  return EnsurePartitions(now, now + absl::Hours(24 * 31 * months));
}

absl::Status PgTouchpointStore::EnsureMonths(const std::vector<absl::Time>& times) {
  std::optional<absl::Time> first, last;
  {
    absl::MutexLock lock(&months_mu_);
    for (const absl::Time t : times) {
      if (months_.contains(MonthIndex(t))) continue;
      first = std::min(first.value_or(t), t);
      last = std::max(last.value_or(t), t);
    }
  }
  // One call for the span: the months before the archive's end are the archive's, and the
  // rest lie between it and now plus the clock skew, so the span creates a bounded number.
  if (!first) return absl::OkStatus();
  return EnsurePartitions(*first, *last);
}

absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> PgTouchpointStore::RecordMany(
    const std::vector<NewTouchpoint>& input) {
  std::vector<absl::Time> times;
  for (const NewTouchpoint& n : input) times.push_back(FromProtoTime(n.touchpoint.occur_time()));
  TL_RETURN_IF_ERROR(EnsureMonths(times));

  std::vector<absl::StatusOr<Recorded>> results;
  bool inserted_any = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    results.assign(input.size(), absl::UnknownError("not written"));
    std::vector<v1::Touchpoint> touchpoints;
    touchpoints.reserve(input.size());
    for (const NewTouchpoint& n : input) touchpoints.push_back(n.touchpoint);

    // 1. The customers, per tenant, locked against a concurrent merge.
    std::map<std::string, std::vector<std::string>> ids_by_tenant;
    for (const NewTouchpoint& n : input) {
      ids_by_tenant[n.context.caller.tenant_id].push_back(n.touchpoint.customer_id());
    }
    std::map<std::string, CustomerStates> customers;
    for (auto& [tenant, ids] : ids_by_tenant) {
      customers[tenant] = LoadCustomers(txn, tenant, std::move(ids));
    }
    std::vector<bool> live(input.size(), false);
    std::vector<KeyClaims> keys(input.size());
    for (size_t i = 0; i < input.size(); ++i) {
      const NewTouchpoint& n = input[i];
      const absl::Status resolved =
          ResolveCustomer(customers[n.context.caller.tenant_id], *n.context.caller.scope,
                          touchpoints[i], n.field_prefix);
      if (!resolved.ok()) {
        results[i] = resolved;
        continue;
      }
      live[i] = true;
      keys[i] = KeysOf(n);
    }

    // 2. The idempotency keys: a touchpoint is new when it claims all of its keys.
    TL_RETURN_IF_ERROR(ClaimKeys(txn, keys));
    const ClaimDecision claims = DecideClaims(keys);
    GiveBackKeys(txn, keys, claims);

    // 3. The new touchpoints and their events.
    std::vector<TouchpointRow> rows;
    std::vector<events::v1::EventEnvelope> recorded_events, audit_events;
    absl::flat_hash_set<std::string> not_recorded;
    for (size_t i = 0; i < input.size(); ++i) {
      if (!live[i] || !claims.is_new[i]) {
        not_recorded.insert(touchpoints[i].touchpoint_id());
        continue;
      }
      rows.push_back(ToRow(input[i].context.caller.tenant_id, touchpoints[i]));
      // Recorded for a merged customer: unmerge moves it back by the customer it named.
      rows.back().origin_customer_id = input[i].touchpoint.customer_id();
      WriteEvents written = RecordedEvents(input[i], touchpoints[i]);
      recorded_events.push_back(std::move(written.change));
      audit_events.push_back(std::move(written.audit));
      results[i] = Recorded{touchpoints[i], false};
    }
    inserted_any = !rows.empty();
    if (inserted_any) {
      CopyRows(txn, rows);
      events::AppendToOutbox(txn, kTouchpointsTopic, recorded_events);
      events::AppendToOutbox(txn, events::kAuditTopic, audit_events);
    }

    // 4. The others: the touchpoint an earlier request recorded, if it was the same request.
    for (size_t i = 0; i < input.size(); ++i) {
      if (!live[i] || claims.is_new[i]) continue;
      const absl::StatusOr<std::string> prior =
          DecideReplay(input[i], keys[i], StoredSource(txn, keys[i]), not_recorded);
      if (!prior.ok()) {
        results[i] = prior.status();
        continue;
      }
      TL_ASSIGN_OR_RETURN(StoredTouchpoint original,
                          SelectOne(txn, input[i].context.caller.tenant_id, *prior, false));
      results[i] = Recorded{std::move(original.touchpoint), true};
    }
    return absl::OkStatus();
  }));
  if (inserted_any && events_written_) events_written_();
  return results;
}

absl::StatusOr<int64_t> PgTouchpointStore::IndexListsOfOlderRows(
    int batch, const std::function<bool()>& stop) {
  int64_t total = 0;
  for (int64_t done = batch; done == batch && !stop();) {
    TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      std::vector<std::string> tenants, ids, times, vectors;
      for (const auto& row : txn.exec_params(sql::OlderRowsToIndexSql(), batch)) {
        TL_ASSIGN_OR_RETURN(const v1::Touchpoint t, FromRow(row, 1));
        tenants.push_back(row[0].c_str());
        ids.push_back(t.touchpoint_id());
        times.push_back(PgTime(FromProtoTime(t.occur_time())));
        vectors.push_back(BuildSearchVector(t));
      }
      done = static_cast<int64_t>(ids.size());
      if (ids.empty()) return absl::OkStatus();
      txn.exec_params(sql::kStoreSearchVectors, pg::TextArrayLiteral(tenants),
                      pg::TextArrayLiteral(ids), pg::TextArrayLiteral(times),
                      pg::TextArrayLiteral(vectors));
      return absl::OkStatus();
    }));
    total += done;
  }
  if (total > 0)
    log::Info("indexed needs, concerns and interests", {{"touchpoints", absl::StrCat(total)}});
  return total;
}

absl::StatusOr<v1::Touchpoint> PgTouchpointStore::Get(const auth::Scope& scope,
                                                      std::string_view tenant_id,
                                                      std::string_view touchpoint_id) {
  absl::StatusOr<StoredTouchpoint> stored;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    stored = SelectOne(txn, tenant_id, touchpoint_id, false);
    return absl::OkStatus();
  }));
  if (!stored.ok()) return stored.status();
  if (!scope.Allows(auth::Access::kRead, stored->customer)) {
    return TouchpointNotFound(touchpoint_id);
  }
  return std::move(stored->touchpoint);
}

absl::StatusOr<v1::Touchpoint> PgTouchpointStore::Mutate(const WriteContext& context,
                                                         std::string_view touchpoint_id,
                                                         std::string_view field_prefix,
                                                         const Mutation& mutate) {
  v1::Touchpoint result;
  std::optional<int64_t> new_month;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    new_month.reset();
    TL_ASSIGN_OR_RETURN(StoredTouchpoint stored,
                        SelectOne(txn, context.caller.tenant_id, touchpoint_id, true));
    v1::Touchpoint& t = stored.touchpoint;
    const v1::Touchpoint before = t;
    TL_ASSIGN_OR_RETURN(const Mutated mutated,
                        ApplyMutation(
                            context, stored.customer, field_prefix, mutate,
                            [&](const std::string& customer_id) {
                              return LoadCustomers(txn, context.caller.tenant_id, {customer_id});
                            },
                            TouchpointNotFound(touchpoint_id), t));
    const absl::Time occurred_at = FromProtoTime(t.occur_time());
    if (absl::MutexLock lock(&months_mu_); !months_.contains(MonthIndex(occurred_at))) {
      // A correction into a month without a partition: create it in this transaction.
      txn.exec_params(sql::kEnsurePartitions, PgTime(occurred_at), PgTime(occurred_at));
      new_month = MonthIndex(occurred_at);
    }
    const TouchpointRow row = ToRow(context.caller.tenant_id, t);
    const bool customer_set = !mutated.named_customer.empty();
    txn.exec_params(
        sql::kUpdateTouchpoint, context.caller.tenant_id, std::string(touchpoint_id),
        PgTime(FromProtoTime(before.occur_time())), PgTime(row.occurred_at), row.customer_id,
        customer_set, PgTime(row.recorded_at), row.channel, row.category, row.outcome,
        row.sentiment, pg::TextArrayLiteral(row.tags), pg::TextArrayLiteral(row.participant_ids),
        row.filled, absl::BytesToHexString(row.body), row.search, row.version,
        PgTime(row.update_time),
        t.has_delete_time() ? std::optional<std::string>(PgTime(FromProtoTime(t.delete_time())))
                            : std::nullopt,
        customer_set ? mutated.named_customer : row.customer_id);
    const WriteEvents written = ChangedEvents(context, t, mutated.change);
    events::AppendToOutbox(txn, kTouchpointsTopic, written.change);
    events::AppendToOutbox(txn, events::kAuditTopic, written.audit);
    result = std::move(t);
    return absl::OkStatus();
  }));
  if (new_month) {
    absl::MutexLock lock(&months_mu_);
    months_.insert(*new_month);
  }
  if (events_written_) events_written_();
  return result;
}

absl::StatusOr<TouchpointPage> PgTouchpointStore::List(
    const auth::Scope& scope, std::string_view tenant_id, std::string_view customer_id,
    const v1::TouchpointFilter& filter, int page_size, const std::optional<TimeCursor>& after) {
  const bool unfiltered = filter.ByteSizeLong() == 0;
  Params p;
  const std::string sql = absl::StrCat(
      "SELECT ", kSelectColumns, " FROM touchpoints WHERE tenant_id = ",
      p.Add(std::string(tenant_id)), " AND customer_id = ", p.Add(std::string(customer_id)),
      "::uuid AND delete_time IS NULL", FilterSql(filter, true, p), AfterSql(after, p),
      " ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT ", page_size + 1);
  absl::StatusOr<TouchpointPage> page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    // Visibility once, for the customer; the timeline itself then needs no join.
    if (absl::Status visible = RequireVisibleCustomer(txn, scope, tenant_id, customer_id);
        !visible.ok()) {
      page = std::move(visible);
      return absl::OkStatus();
    }
    // The plain timeline (the hot path) runs prepared; filtered ones are planned per call,
    // which prunes partitions by their time range.
    const pqxx::result rows =
        !unfiltered ? Exec(txn, sql, p)
        : after     ? txn.exec_prepared(sql::kTimelineAfter, std::string(tenant_id),
                                        std::string(customer_id), PgTime(after->occurred_at),
                                        after->touchpoint_id, page_size + 1)
                    : txn.exec_prepared(sql::kTimelineFirst, std::string(tenant_id),
                                        std::string(customer_id), page_size + 1);
    page = ReadPage({rows}, page_size);
    return absl::OkStatus();
  }));
  return page;
}

// Matches are found through the GIN index, which knows nothing of time: a query over the
// whole table would fetch and sort every match of a common word. So searches run partition by
// partition, newest first (each query pruned to one partition), and stop as soon as
// they have what the page needs.
absl::StatusOr<TouchpointPage> PgTouchpointStore::Search(const auth::Scope& scope,
                                                         std::string_view tenant_id,
                                                         const SearchSpec& spec) {
  Params p;
  const std::string query = p.Add(spec.tsquery);
  std::string where = absl::StrCat(" FROM touchpoints WHERE tenant_id = ",
                                   p.Add(std::string(tenant_id)), " AND search @@ ", query,
                                   "::tsquery AND delete_time IS NULL");
  if (!spec.customer_id.empty()) {
    absl::StrAppend(&where, " AND customer_id = ", p.Add(spec.customer_id), "::uuid");
  }
  absl::StrAppend(&where, FilterSql(spec.filter, true, p), AfterSql(spec.after, p),
                  VisibleClause(scope, p));
  const std::string month_start = p.Add("");
  const std::string month_end = p.Add("");
  absl::StrAppend(&where, " AND occurred_at >= ", month_start, "::timestamptz AND occurred_at < ",
                  month_end, "::timestamptz");
  std::vector<std::string> params = p.values();
  const size_t start_param = params.size() - 2;

  TouchpointPage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    page = TouchpointPage();
    // The partitions' ranges that can hold matches, newest first: the months, then the
    // archive of older history (unbounded below).
    absl::Time upper = absl::InfiniteFuture();
    absl::Time lower = absl::InfinitePast();
    if (spec.filter.has_occur_time_end()) upper = FromProtoTime(spec.filter.occur_time_end());
    if (spec.after) upper = std::min(upper, spec.after->occurred_at + absl::Microseconds(1));
    if (spec.filter.has_occur_time_start()) lower = FromProtoTime(spec.filter.occur_time_start());
    struct PartitionRange {
      absl::Time start;  // InfinitePast() for the archive.
      absl::Time end;
    };
    std::vector<PartitionRange> months;
    for (const auto& row : txn.exec(sql::kPartitionRanges)) {
      const PartitionRange range{
          row[0].is_null() ? absl::InfinitePast() : absl::FromUnixMicros(row[0].as<int64_t>()),
          absl::FromUnixMicros(row[1].as<int64_t>())};
      if (range.start < upper && range.end > lower) months.push_back(range);
    }
    const auto run = [&](const std::string& sql, const PartitionRange& month) {
      params[start_param] =
          month.start == absl::InfinitePast() ? "-infinity" : PgTime(month.start);
      params[start_param + 1] = PgTime(month.end);
      return txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    };
    if (!spec.by_relevance) {
      const int want = spec.page_size + 1;
      std::vector<pqxx::result> parts;
      int have = 0;
      for (const PartitionRange& month : months) {
        parts.push_back(run(absl::StrCat("SELECT ", kSelectColumns, where,
                                         " ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT ",
                                         want - have),
                            month));
        have += static_cast<int>(parts.back().size());
        if (have >= want) break;
      }
      TL_ASSIGN_OR_RETURN(page, ReadPage(parts, spec.page_size));
      page.scores.assign(page.touchpoints.size(), 0);
      return absl::OkStatus();
    }
    // Relevance: rank the most recent kRelevanceWindow matches.
    struct Candidate {
      float score;
      std::string occurred_at;  // Sortable text (UTC, fixed width).
      std::string id;
    };
    std::vector<Candidate> candidates;
    for (const PartitionRange& month : months) {
      const int left = kRelevanceWindow - static_cast<int>(candidates.size());
      // ts_rank outside the LIMIT: it reads (detoasts) the whole vector, so only for the
      // rows kept, not for every match of the month.
      const std::string sql = absl::StrCat(
          "SELECT touchpoint_id::text, to_char(occurred_at AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD HH24:MI:SS.US'), ts_rank(search, ", query, "::tsquery) FROM (SELECT "
          "touchpoint_id, occurred_at, search", where,
          " ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT ", left, ") recent");
      for (const auto& row : run(sql, month)) {
        candidates.push_back({row[2].as<float>(), row[1].c_str(), row[0].c_str()});
      }
      if (static_cast<int>(candidates.size()) >= kRelevanceWindow) break;
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return std::tie(b.score, b.occurred_at, b.id) < std::tie(a.score, a.occurred_at, a.id);
    });
    const size_t first = std::min<size_t>(spec.offset, candidates.size());
    const size_t last = std::min<size_t>(first + spec.page_size, candidates.size());
    page.more = last < candidates.size();
    std::vector<std::string> ids, times;
    for (size_t i = first; i < last; ++i) {
      ids.push_back(candidates[i].id);
      times.push_back(candidates[i].occurred_at + "+00");
    }
    if (ids.empty()) return absl::OkStatus();
    absl::flat_hash_map<std::string, v1::Touchpoint> found;
    for (const auto& row :
         txn.exec_params(sql::SelectByIdsSql(), std::string(tenant_id), pg::TextArrayLiteral(ids),
                         pg::TextArrayLiteral(times))) {
      TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(row));
      found.emplace(t.touchpoint_id(), std::move(t));
    }
    for (size_t i = first; i < last; ++i) {
      const auto it = found.find(candidates[i].id);
      if (it == found.end()) continue;  // Deleted in between.
      page.touchpoints.push_back(std::move(it->second));
      page.scores.push_back(candidates[i].score);
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<v1::GetTouchpointStatsResponse> PgTouchpointStore::Stats(
    const auth::Scope& scope, std::string_view tenant_id, std::string_view customer_id,
    const v1::TouchpointFilter& filter, absl::Time start, absl::Time end,
    std::string_view time_zone) {
  Params p;
  std::string where = absl::StrCat(
      " FROM touchpoints WHERE tenant_id = ", p.Add(std::string(tenant_id)),
      " AND occurred_at >= ", p.Add(PgTime(start)), "::timestamptz AND occurred_at < ",
      p.Add(PgTime(end)), "::timestamptz AND delete_time IS NULL");
  if (!customer_id.empty()) {
    absl::StrAppend(&where, " AND customer_id = ", p.Add(std::string(customer_id)), "::uuid");
  }
  absl::StrAppend(&where, FilterSql(filter, false, p), VisibleClause(scope, p));
  std::string completeness;
  for (size_t i = 0; i < kCompletenessFields.size(); ++i) {
    absl::StrAppend(&completeness, ", count(*) FILTER (WHERE filled & ", 1 << i, " <> 0)");
  }
  const std::string counts_sql = absl::StrCat(
      "SELECT GROUPING(channel, outcome, category), coalesce(channel, 0), coalesce(outcome, 0), "
      "coalesce(category, 0), count(*)",
      where, " GROUP BY GROUPING SETS ((channel), (outcome), (category)) ORDER BY 5 DESC, 1, 2, 3, 4");
  const std::string totals_sql = absl::StrCat(
      "SELECT count(*), count(DISTINCT customer_id), "
      "coalesce(floor(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP "
      "(ORDER BY recorded_at - occurred_at)) * 1000000), 0)::bigint",
      completeness, where);
  // The heat map has one parameter more: the others must not be sent it (a parameter a
  // statement does not use has no type, and the server refuses it).
  Params heat_params = p;
  const std::string zone = heat_params.Add(std::string(time_zone));
  const std::string heat_sql = absl::StrCat(
      "SELECT extract(isodow FROM occurred_at AT TIME ZONE ", zone,
      ")::int, extract(hour FROM occurred_at AT TIME ZONE ", zone, ")::int, count(*)", where,
      " AND outcome = ANY('{1,4,7,8,9,10,12}'::smallint[]) GROUP BY 1, 2 ORDER BY 1, 2");
  v1::GetTouchpointStatsResponse stats;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    stats.Clear();
    const pqxx::result totals = Exec(txn, totals_sql, p);
    stats.set_total_count(totals[0][0].as<int64_t>());
    stats.set_customer_count(totals[0][1].as<int64_t>());
    *stats.mutable_median_entry_delay() =
        TimeUtil::MicrosecondsToDuration(totals[0][2].as<int64_t>());
    for (size_t i = 0; i < kCompletenessFields.size(); ++i) {
      v1::FieldCompleteness* c = stats.add_completeness();
      c->set_field(kCompletenessFields[i]);
      c->set_filled(totals[0][static_cast<int>(3 + i)].as<int64_t>());
      c->set_ratio(stats.total_count() == 0
                       ? 0
                       : static_cast<double>(c->filled()) / static_cast<double>(stats.total_count()));
    }
    for (const auto& row : Exec(txn, counts_sql, p)) {
      // GROUPING() bits: 4 = channel not grouped, 2 = outcome, 1 = category.
      const int grouping = row[0].as<int>();
      const int64_t count = row[4].as<int64_t>();
      if (grouping == 0b011) {
        v1::ChannelCount* c = stats.add_by_channel();
        c->set_channel(static_cast<v1::Channel>(row[1].as<int>()));
        c->set_count(count);
      } else if (grouping == 0b101) {
        v1::OutcomeCount* c = stats.add_by_outcome();
        c->set_outcome(static_cast<v1::Outcome>(row[2].as<int>()));
        c->set_count(count);
      } else if (grouping == 0b110) {
        v1::CategoryCount* c = stats.add_by_category();
        c->set_category(static_cast<v1::Category>(row[3].as<int>()));
        c->set_count(count);
      }
    }
    for (const auto& row : Exec(txn, heat_sql, heat_params)) {
      v1::HeatMapCell* cell = stats.add_heat_map();
      cell->set_day_of_week(row[0].as<int>());
      cell->set_hour(row[1].as<int>());
      cell->set_count(row[2].as<int64_t>());
    }
    return absl::OkStatus();
  }));
  return stats;
}

absl::StatusOr<ChangesPage> PgTouchpointStore::Changes(const auth::Scope& scope,
                                                       std::string_view tenant_id,
                                                       std::string_view customer_id,
                                                       const ChangeCursor& after, int page_size) {
  Params p;
  // Every change is read, visible or not, so that the cursor moves past the invisible ones.
  // A reader who sees a customer only later gets its touchpoints then: a change of who sees a
  // customer sends them again (customer_events.h).
  const std::string visible = VisibleSql(scope, p);
  // The position is selected as text under a name of its own, and the order is by the
  // qualified columns: ORDER BY a bare name takes the output column of that name first, and
  // ordered as text "1000" came before "999", so a cursor passed over every change of a
  // shorter transaction number for good (the first touchpoints after a fresh cluster's xid
  // counter passed 999). In column order, the order is the touchpoints_changes index's.
  std::string sql =
      absl::StrCat("SELECT ", kSelectColumns, ", change_xid::text AS change_position, ", visible,
                   " FROM touchpoints WHERE tenant_id = ", p.Add(std::string(tenant_id)),
                   " AND (change_xid, touchpoint_id) > (", p.Add(std::to_string(after.xid)),
                   "::xid8, ", p.Add(after.touchpoint_id),
                   "::uuid) AND change_xid < pg_snapshot_xmin(pg_current_snapshot())");
  if (!customer_id.empty()) {
    absl::StrAppend(&sql, " AND customer_id = ", p.Add(std::string(customer_id)), "::uuid");
  }
  absl::StrAppend(&sql, " ORDER BY touchpoints.change_xid, touchpoints.touchpoint_id LIMIT ",
                  page_size + 1);
  ChangesPage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    // One customer's feed only for a customer the caller sees: the cursor would otherwise
    // move over (and so reveal) the changes of a hidden one, and stay put for an unknown one.
    if (!customer_id.empty()) {
      TL_RETURN_IF_ERROR(RequireVisibleCustomer(txn, scope, tenant_id, customer_id));
    }
    const pqxx::result rows = Exec(txn, sql, p);
    page = ChangesPage{{}, after, static_cast<int>(rows.size()) <= page_size};
    for (int i = 0; i < std::min(static_cast<int>(rows.size()), page_size); ++i) {
      const pqxx::row row = rows[i];
      TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(row));
      page.next = ChangeCursor{row[kSelectColumnCount].as<uint64_t>(), t.touchpoint_id()};
      if (row[kSelectColumnCount + 1].as<bool>()) page.touchpoints.push_back(std::move(t));
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::Status PgTouchpointStore::LearnCustomer(std::string_view tenant_id,
                                              const cv1::Customer& customer) {
  return pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    // One version below what the owner reported: the event of that version still applies
    // (and brings what the owner may have masked for the caller).
    return CustomerReadModel().Learn(txn, std::string(tenant_id), customer);
  });
}

}  // namespace touchline::touchpoints
