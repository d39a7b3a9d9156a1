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
#include "common/audit/audit.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/pg/array.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "services/touchpoints/search_text.h"
#include "services/touchpoints/touchpoint_row.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::TimeUtil;
namespace ev = ::touchline::events::v1;
namespace cv1 = ::touchline::contacts::v1;

// Prepared statements (PreparedStatements()).
constexpr char kGetTouchpoint[] = "touchpoint_get";
constexpr char kTimelineFirst[] = "touchpoint_timeline_first";
constexpr char kTimelineAfter[] = "touchpoint_timeline_after";
constexpr char kCustomerAttributes[] = "touchpoint_customer_attributes";

// Kinds of touchpoint_keys rows.
constexpr int kRequestKey = 1;
constexpr int kExternalKey = 2;
// How many merges deep a customer id is followed to its survivor.
constexpr int kMaxMergeHops = 8;

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

// What row decisions need of a customer `c` of the read model, for "SELECT ... FROM customers
// c": owner, region, level and its shares, each as 'e' (edit) or 'r' (read) + grantee.
const std::string& AttributeColumns() {
  static const std::string* const columns = new std::string(absl::StrCat(
      "c.owner_id, c.region, c.level, ARRAY(SELECT CASE WHEN s.edit THEN 'e' ELSE 'r' END || "
      "s.grantee FROM ",
      enforcement::kSharesTable,
      " s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id)"));
  return *columns;
}

// The attributes of `customer_id` read from AttributeColumns() at column `first` of `row`. A
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
      txn.exec_prepared(kCustomerAttributes, std::string(tenant_id), std::string(customer_id));
  if (customer.empty() ||
      !scope.Allows(auth::Access::kRead,
                    AttributesFromRow(customer[0], 0, std::string(customer_id)))) {
    return absl::NotFoundError(absl::StrCat("customer ", std::string(customer_id), " not found"));
  }
  return absl::OkStatus();
}

// A customer of the read model.
struct CustomerState {
  int state = 0;
  std::string merged_into;
  std::vector<std::string> person_ids;
  std::vector<std::string> folded_persons;  // "<person_id>:<into_person_id>"
  auth::CustomerAttributes attributes;
};

// Renames the contact persons of `t` through `persons` (old id -> new id; an id named twice
// afterwards stays once); true if any changed.
bool RenamePersons(v1::Touchpoint& t, const absl::flat_hash_map<std::string, std::string>& persons) {
  std::vector<std::string> renamed;
  bool changed = false;
  for (const std::string& id : t.contact_person_ids()) {
    const auto it = persons.find(id);
    changed = changed || it != persons.end();
    const std::string& now = it == persons.end() ? id : it->second;
    if (std::find(renamed.begin(), renamed.end(), now) == renamed.end()) renamed.push_back(now);
  }
  if (!changed) return false;
  t.clear_contact_person_ids();
  for (std::string& id : renamed) t.add_contact_person_ids(std::move(id));
  return true;
}

// Loads the customers `ids` of `tenant` and, transitively, the survivors they were merged
// into, with their visibility attributes, locking each row against a concurrent merge until
// the transaction ends.
absl::flat_hash_map<std::string, CustomerState> LoadCustomers(pqxx::work& txn,
                                                              const std::string& tenant,
                                                              std::vector<std::string> ids) {
  absl::flat_hash_map<std::string, CustomerState> found;
  for (int hop = 0; hop <= kMaxMergeHops && !ids.empty(); ++hop) {
    const pqxx::result rows = txn.exec_params(
        absl::StrCat("SELECT c.customer_id::text, c.state, coalesce(c.merged_into::text, ''), "
                     "c.person_ids::text[], c.folded_persons, ",
                     AttributeColumns(),
                     " FROM customers c WHERE c.tenant_id = $1 AND "
                     "c.customer_id = ANY($2::uuid[]) ORDER BY c.customer_id FOR SHARE OF c"),
        tenant, pg::TextArrayLiteral(ids));
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

// A touchpoint that sets customer_status_after changes the customer's lifecycle status (contacts
// applies it as the recorder's change), so its writer must be allowed to write that field of
// that customer, not only its touchpoints: PERMISSION_DENIED otherwise.
absl::Status CheckStatusAfterWritable(const auth::Scope& scope,
                                      const auth::CustomerAttributes& customer,
                                      const v1::Touchpoint& t) {
  if (t.customer_status_after() == cv1::LIFECYCLE_STATUS_UNSPECIFIED) return absl::OkStatus();
  TL_RETURN_IF_ERROR(scope.CheckRow(auth::Access::kWrite, customer,
                                    absl::PermissionDeniedError("customer not writable")));
  return scope.CheckWritable(auth::kCustomerResource, {"lifecycle_status"});
}

// Resolves the touchpoint's customer to the live one it stands for and checks its contact
// persons. Rewrites customer_id to the survivor of a merge. A customer on the way that
// `scope` does not see is reported as one that does not exist; one it sees but may not write
// touchpoints of (a READ share) is PERMISSION_DENIED.
absl::Status ResolveCustomer(const absl::flat_hash_map<std::string, CustomerState>& customers,
                             const auth::Scope& scope, v1::Touchpoint& t, std::string_view prefix) {
  const std::string field = absl::StrCat(std::string(prefix), prefix.empty() ? "" : ".");
  absl::flat_hash_set<std::string> persons;
  absl::flat_hash_map<std::string, std::string> folded;  // By the merges on the way.
  std::string id = t.customer_id();
  for (int hop = 0;; ++hop) {
    const auto it = customers.find(id);
    absl::Status unknown = status::InvalidArgument(
        field + "customer_id",
        "names no customer of this tenant (new customers take a moment to arrive)");
    if (it == customers.end() || hop > kMaxMergeHops) return unknown;
    // Seen through a READ share only: PERMISSION_DENIED.
    TL_RETURN_IF_ERROR(
        scope.CheckRow(auth::Access::kWriteTouchpoints, it->second.attributes, std::move(unknown)));
    persons.insert(it->second.person_ids.begin(), it->second.person_ids.end());
    for (const std::string& pair : it->second.folded_persons) {
      const size_t colon = pair.find(':');
      if (colon != std::string::npos) folded.emplace(pair.substr(0, colon), pair.substr(colon + 1));
    }
    if (it->second.state == cv1::CUSTOMER_STATE_DELETED) {
      return status::InvalidArgument(field + "customer_id", "names a deleted customer");
    }
    if (it->second.state != cv1::CUSTOMER_STATE_MERGED) {
      TL_RETURN_IF_ERROR(CheckStatusAfterWritable(scope, it->second.attributes, t));
      break;
    }
    id = it->second.merged_into;
  }
  status::FieldViolations violations;
  for (int i = 0; i < t.contact_person_ids_size(); ++i) {
    if (!persons.contains(t.contact_person_ids(i))) {
      violations.Add(absl::StrCat(field, "contact_person_ids[", i, "]"),
                     "is not a contact person of the customer");
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  t.set_customer_id(id);
  // A person folded by a merge is the one it was folded into (through every merge on the way).
  for (int hop = 0; hop <= kMaxMergeHops && RenamePersons(t, folded); ++hop) {
  }
  return absl::OkStatus();
}

std::string ExternalKey(const v1::Touchpoint& t) {
  return absl::StrCat(t.source_system().size(), ":", t.source_system(), t.external_id());
}

ev::EventEnvelope Envelope(const google::protobuf::Message& payload, const WriteContext& c,
                           const std::string& touchpoint_id) {
  return events::MakeEnvelope(payload, c.caller.tenant_id, "touchpoint", touchpoint_id,
                              c.caller.request_id, c.caller.caller_id);
}

// The select of one touchpoint with its customer's attributes (AttributeColumns() after
// kSelectColumns): $1 tenant, $2 touchpoint id.
std::string SelectOneSql() {
  return absl::StrCat(
      "SELECT ", kSelectColumns, ", a.* FROM touchpoints LEFT JOIN LATERAL (SELECT ",
      AttributeColumns(),
      " FROM customers c WHERE c.tenant_id = touchpoints.tenant_id AND c.customer_id = "
      "touchpoints.customer_id) a ON TRUE "
      "WHERE touchpoints.tenant_id = $1 AND touchpoints.touchpoint_id = $2::uuid");
}

struct StoredTouchpoint {
  v1::Touchpoint touchpoint;
  auth::CustomerAttributes customer;
};

absl::StatusOr<StoredTouchpoint> SelectOne(pqxx::transaction_base& txn, std::string_view tenant,
                                           std::string_view id, bool lock) {
  const pqxx::result rows =
      lock ? txn.exec_params(absl::StrCat(SelectOneSql(), " FOR UPDATE OF touchpoints"),
                             std::string(tenant), std::string(id))
           : txn.exec_prepared(kGetTouchpoint, std::string(tenant), std::string(id));
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

int64_t MonthIndex(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  return c.year() * 12 + c.month() - 1;
}

}  // namespace

PgTouchpointStore::PgTouchpointStore(pg::Pool* pool, std::function<void()> events_written)
    : pool_(pool), events_written_(std::move(events_written)) {}

std::vector<std::pair<std::string, std::string>> PgTouchpointStore::PreparedStatements() {
  const std::string select = absl::StrCat("SELECT ", kSelectColumns, " FROM touchpoints ");
  const std::string timeline = absl::StrCat(
      select, "WHERE tenant_id = $1 AND customer_id = $2::uuid AND delete_time IS NULL ");
  return {
      {kGetTouchpoint, SelectOneSql()},
      {kCustomerAttributes,
       absl::StrCat("SELECT ", AttributeColumns(),
                    " FROM customers c WHERE c.tenant_id = $1 AND c.customer_id = $2::uuid")},
      {kTimelineFirst,
       timeline + "ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT $3"},
      {kTimelineAfter,
       timeline + "AND (occurred_at, touchpoint_id) < ($3::timestamptz, $4::uuid) "
                  "ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT $5"}};
}

absl::Status PgTouchpointStore::EnsurePartitions(absl::Time first, absl::Time last) {
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params("SELECT ensure_partitions($1::timestamptz, $2::timestamptz)", PgTime(first),
                    PgTime(last));
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&months_mu_);
  for (int64_t m = MonthIndex(first); m <= MonthIndex(last); ++m) months_.insert(m);
  return absl::OkStatus();
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
    inserted_any = false;
    std::vector<v1::Touchpoint> touchpoints;
    touchpoints.reserve(input.size());
    for (const NewTouchpoint& n : input) touchpoints.push_back(n.touchpoint);

    // 1. The customers, per tenant, locked against a concurrent merge.
    std::map<std::string, std::vector<std::string>> ids_by_tenant;
    for (const NewTouchpoint& n : input) {
      ids_by_tenant[n.context.caller.tenant_id].push_back(n.touchpoint.customer_id());
    }
    std::map<std::string, absl::flat_hash_map<std::string, CustomerState>> customers;
    for (auto& [tenant, ids] : ids_by_tenant) {
      customers[tenant] = LoadCustomers(txn, tenant, std::move(ids));
    }
    std::vector<bool> live(input.size(), true);
    for (size_t i = 0; i < input.size(); ++i) {
      const absl::Status s =
          ResolveCustomer(customers[input[i].context.caller.tenant_id],
                          *input[i].context.caller.scope, touchpoints[i], input[i].field_prefix);
      if (!s.ok()) {
        results[i] = s;
        live[i] = false;
      }
    }

    // 2. Claim the idempotency keys. A touchpoint is new when it claims all of its keys.
    std::vector<std::string> k_tenant, k_kind, k_key, k_id, k_time, k_fp;
    std::vector<size_t> k_owner;
    for (size_t i = 0; i < input.size(); ++i) {
      if (!live[i]) continue;
      const v1::Touchpoint& t = touchpoints[i];
      const auto add = [&](int kind, std::string key) {
        k_tenant.push_back(input[i].context.caller.tenant_id);
        k_kind.push_back(std::to_string(kind));
        k_key.push_back(std::move(key));
        k_id.push_back(t.touchpoint_id());
        k_time.push_back(PgTime(FromProtoTime(t.occur_time())));
        k_fp.push_back(input[i].fingerprint);
        k_owner.push_back(i);
      };
      if (!input[i].request_id.empty()) add(kRequestKey, input[i].request_id);
      if (!t.source_system().empty()) add(kExternalKey, ExternalKey(t));
    }
    std::vector<bool> claimed_all(input.size(), true);
    if (!k_owner.empty()) {
      const pqxx::result claimed = txn.exec_params(
          "INSERT INTO touchpoint_keys (tenant_id, kind, key, touchpoint_id, occurred_at, "
          "fingerprint) "
          "SELECT t, kind, key, id, occurred_at, decode(fp, 'hex') "
          "FROM unnest($1::text[], $2::smallint[], $3::text[], $4::uuid[], $5::timestamptz[], "
          "$6::text[]) AS k(t, kind, key, id, occurred_at, fp) "
          "ON CONFLICT DO NOTHING RETURNING tenant_id, kind, key, touchpoint_id::text",
          pg::TextArrayLiteral(k_tenant), pg::TextArrayLiteral(k_kind), pg::TextArrayLiteral(k_key), pg::TextArrayLiteral(k_id), pg::TextArrayLiteral(k_time),
          pg::TextArrayLiteral(k_fp));
      absl::flat_hash_set<std::string> won;
      for (const auto& row : claimed) {
        won.insert(absl::StrCat(row[0].c_str(), "\x1f", row[1].c_str(), "\x1f", row[2].c_str(),
                                "\x1f", row[3].c_str()));
      }
      for (size_t k = 0; k < k_owner.size(); ++k) {
        if (!won.contains(
                absl::StrCat(k_tenant[k], "\x1f", k_kind[k], "\x1f", k_key[k], "\x1f", k_id[k]))) {
          claimed_all[k_owner[k]] = false;
        }
      }
      // A touchpoint that claimed some keys but not all is a replay: give back what it took
      // (by primary key; the key's touchpoint_id guards the claims of others).
      std::vector<std::string> g_tenant, g_kind, g_key, g_id;
      for (size_t k = 0; k < k_owner.size(); ++k) {
        if (claimed_all[k_owner[k]]) continue;
        g_tenant.push_back(k_tenant[k]);
        g_kind.push_back(k_kind[k]);
        g_key.push_back(k_key[k]);
        g_id.push_back(k_id[k]);
      }
      if (!g_id.empty()) {
        txn.exec_params(
            "DELETE FROM touchpoint_keys k USING unnest($1::text[], $2::smallint[], $3::text[], "
            "$4::uuid[]) AS g(t, kind, key, id) WHERE k.tenant_id = g.t AND k.kind = g.kind "
            "AND k.key = g.key AND k.touchpoint_id = g.id",
            pg::TextArrayLiteral(g_tenant), pg::TextArrayLiteral(g_kind), pg::TextArrayLiteral(g_key), pg::TextArrayLiteral(g_id));
      }
    }

    // 3. Insert the new touchpoints and their events.
    std::vector<TouchpointRow> rows;
    std::vector<ev::EventEnvelope> recorded_events;
    std::vector<ev::EventEnvelope> audit_events;
    for (size_t i = 0; i < input.size(); ++i) {
      if (!live[i] || !claimed_all[i]) continue;
      rows.push_back(ToRow(input[i].context.caller.tenant_id, touchpoints[i]));
      // Recorded for a merged customer: unmerge moves it back by the customer it named.
      rows.back().origin_customer_id = input[i].touchpoint.customer_id();
      ev::TouchpointRecorded recorded;
      *recorded.mutable_touchpoint() = touchpoints[i];
      recorded_events.push_back(
          Envelope(recorded, input[i].context, touchpoints[i].touchpoint_id()));
      audit_events.push_back(
          audit::MakeAuditEnvelope(input[i].context.caller, "touchpoint.recorded", "touchpoint",
                                   touchpoints[i].touchpoint_id(), input[i].fields));
      results[i] = Recorded{touchpoints[i], false};
    }
    if (!rows.empty()) {
      CopyRows(txn, rows);
      events::AppendToOutbox(txn, kTouchpointsTopic, recorded_events);
      events::AppendToOutbox(txn, events::kAuditTopic, audit_events);
      inserted_any = true;
    }

    // 4. Replays: the touchpoint an earlier request recorded, if it was the same request.
    for (size_t i = 0; i < input.size(); ++i) {
      if (!live[i] || claimed_all[i]) continue;
      const v1::Touchpoint& t = touchpoints[i];
      const pqxx::result keys = txn.exec_params(
          "SELECT kind, touchpoint_id::text, encode(fingerprint, 'hex') FROM touchpoint_keys "
          "WHERE tenant_id = $1 AND ((kind = 1 AND key = $2) OR (kind = 2 AND key = $3)) "
          "ORDER BY kind",
          input[i].context.caller.tenant_id, input[i].request_id,
          t.source_system().empty() ? std::string() : ExternalKey(t));
      absl::Status refused;
      std::string prior;
      for (const auto& key : keys) {
        const bool by_request = key[0].as<int>() == kRequestKey;
        const std::string what =
            by_request ? absl::StrCat("request_id ", input[i].request_id)
                       : absl::StrCat("source_system/external_id ", t.source_system(), "/",
                                      t.external_id());
        if (key[2].c_str() != input[i].fingerprint || (!prior.empty() && prior != key[1].c_str())) {
          refused = status::WithErrorInfo(
              absl::AlreadyExistsError(
                  absl::StrCat(what, " already recorded touchpoint ", key[1].c_str(),
                               " with other content")),
              by_request ? "REQUEST_ID_REUSED" : "EXTERNAL_ID_EXISTS",
              {{"touchpoint_id", key[1].c_str()}});
          break;
        }
        prior = key[1].c_str();
      }
      if (!refused.ok()) {
        results[i] = refused;
      } else if (prior.empty()) {
        // The key's owner gave it back in this same call (its other key was taken):
        // nothing to replay, and this one can't claim it now without a retry.
        results[i] = absl::AbortedError("idempotency key contended; retry");
      } else {
        absl::StatusOr<StoredTouchpoint> original =
            SelectOne(txn, input[i].context.caller.tenant_id, prior, false);
        if (!original.ok()) return original.status();
        results[i] = Recorded{std::move(original->touchpoint), true};
      }
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
      for (const auto& row : txn.exec_params(
               absl::StrCat("SELECT tenant_id, ", kSelectColumns,
                            " FROM touchpoints WHERE NOT lists_indexed LIMIT $1 "
                            "FOR UPDATE SKIP LOCKED"),
               batch)) {
        TL_ASSIGN_OR_RETURN(const v1::Touchpoint t, FromRow(row, 1));
        tenants.push_back(row[0].c_str());
        ids.push_back(t.touchpoint_id());
        times.push_back(PgTime(FromProtoTime(t.occur_time())));
        vectors.push_back(BuildSearchVector(t));
      }
      done = static_cast<int64_t>(ids.size());
      if (ids.empty()) return absl::OkStatus();
      // Not a change of the touchpoint: version and change_xid stay.
      txn.exec_params(
          "UPDATE touchpoints t SET search = k.search::tsvector, lists_indexed = true "
          "FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[]) "
          "AS k(tenant_id, id, occurred_at, search) WHERE t.tenant_id = k.tenant_id "
          "AND t.touchpoint_id = k.id AND t.occurred_at = k.occurred_at",
          pg::TextArrayLiteral(tenants), pg::TextArrayLiteral(ids), pg::TextArrayLiteral(times),
          pg::TextArrayLiteral(vectors));
      return absl::OkStatus();
    }));
    total += done;
  }
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
    const auth::Scope& scope = *context.caller.scope;
    TL_RETURN_IF_ERROR(scope.CheckRow(auth::Access::kWriteTouchpoints, stored.customer,
                                      TouchpointNotFound(touchpoint_id)));
    v1::Touchpoint& t = stored.touchpoint;
    const v1::Touchpoint before = t;
    std::string named_customer;  // Set when the mutation names another customer.
    TL_ASSIGN_OR_RETURN(const Change change, mutate(t));
    if (t.customer_status_after() != before.customer_status_after()) {
      TL_RETURN_IF_ERROR(CheckStatusAfterWritable(scope, stored.customer, t));
    }
    if (t.customer_id() != before.customer_id() ||
        t.contact_person_ids().size() != before.contact_person_ids().size() ||
        !std::equal(t.contact_person_ids().begin(), t.contact_person_ids().end(),
                    before.contact_person_ids().begin())) {
      if (t.customer_id() != before.customer_id()) named_customer = t.customer_id();
      const auto customers = LoadCustomers(txn, context.caller.tenant_id, {t.customer_id()});
      TL_RETURN_IF_ERROR(ResolveCustomer(customers, scope, t, field_prefix));
    }
    const absl::Time occurred_at = FromProtoTime(t.occur_time());
    if (absl::MutexLock lock(&months_mu_); !months_.contains(MonthIndex(occurred_at))) {
      // A correction into a month without a partition: create it in this transaction.
      txn.exec_params("SELECT ensure_partitions($1::timestamptz, $1::timestamptz)",
                      PgTime(occurred_at));
      new_month = MonthIndex(occurred_at);
    }
    t.set_etag(std::to_string(std::stoll(before.etag()) + 1));
    *t.mutable_update_time() = ToProtoTime(context.now);
    if (change.kind == ChangeKind::kDeleted) {
      *t.mutable_delete_time() = t.update_time();
      t.set_state(v1::TOUCHPOINT_STATE_DELETED);
    }
    const TouchpointRow row = ToRow(context.caller.tenant_id, t);
    const bool customer_set = !named_customer.empty();
    txn.exec_params(
        "UPDATE touchpoints SET occurred_at = $4::timestamptz, customer_id = $5::uuid, "
        "origin_customer_id = CASE WHEN $6 THEN $20::uuid ELSE origin_customer_id END, "
        "recorded_at = $7::timestamptz, channel = $8, category = $9, outcome = $10, "
        "sentiment = $11, tags = $12::text[], participant_ids = $13::text[], filled = $14, "
        "body = decode($15, 'hex'), search = $16::tsvector, version = $17, "
        "update_time = $18::timestamptz, delete_time = $19::timestamptz, "
        "change_xid = pg_current_xact_id() "
        "WHERE tenant_id = $1 AND touchpoint_id = $2::uuid AND occurred_at = $3::timestamptz",
        context.caller.tenant_id, std::string(touchpoint_id),
        PgTime(FromProtoTime(before.occur_time())), PgTime(row.occurred_at), row.customer_id,
        customer_set, PgTime(row.recorded_at), row.channel, row.category, row.outcome,
        row.sentiment, pg::TextArrayLiteral(row.tags), pg::TextArrayLiteral(row.participant_ids), row.filled,
        absl::BytesToHexString(row.body), row.search, row.version, PgTime(row.update_time),
        t.has_delete_time() ? std::optional<std::string>(PgTime(FromProtoTime(t.delete_time())))
                            : std::nullopt,
        customer_set ? named_customer : row.customer_id);
    if (change.kind == ChangeKind::kDeleted) {
      ev::TouchpointDeleted deleted;
      *deleted.mutable_touchpoint() = t;
      events::AppendToOutbox(txn, kTouchpointsTopic, Envelope(deleted, context, t.touchpoint_id()));
    } else {
      ev::TouchpointUpdated updated;
      *updated.mutable_touchpoint() = t;
      for (const std::string& path : change.fields) updated.mutable_changed_fields()->add_paths(path);
      events::AppendToOutbox(txn, kTouchpointsTopic, Envelope(updated, context, t.touchpoint_id()));
    }
    events::AppendToOutbox(
        txn, events::kAuditTopic,
        audit::MakeAuditEnvelope(
            context.caller,
            change.kind == ChangeKind::kDeleted ? "touchpoint.deleted" : "touchpoint.updated",
            "touchpoint", t.touchpoint_id(), change.fields));
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
        : after     ? txn.exec_prepared(kTimelineAfter, std::string(tenant_id),
                                        std::string(customer_id), PgTime(after->occurred_at),
                                        after->touchpoint_id, page_size + 1)
                    : txn.exec_prepared(kTimelineFirst, std::string(tenant_id),
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
    for (const auto& row : txn.exec("SELECT (extract(epoch FROM range_start) * 1000000)::bigint, "
                                    "(extract(epoch FROM range_end) * 1000000)::bigint "
                                    "FROM partition_ranges ORDER BY range_end DESC")) {
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
    for (const auto& row : txn.exec_params(
             absl::StrCat("SELECT ", kSelectColumns,
                          " FROM touchpoints t JOIN unnest($2::uuid[], $3::timestamptz[]) "
                          "AS k(id, at) ON t.touchpoint_id = k.id AND t.occurred_at = k.at "
                          "WHERE t.tenant_id = $1"),
             std::string(tenant_id), pg::TextArrayLiteral(ids), pg::TextArrayLiteral(times))) {
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
  // customer sends them again (ResendTouchpoints).
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

namespace {

// Sends the touchpoints of `customer_id` through the change feed again: their change_xid
// becomes the current transaction's, nothing else of them changes (version, update_time). For
// a change of who may see the customer, in the transaction that makes it: the feed judges
// visibility when it is read and a reader's cursor has passed over what it did not see then,
// so this is how the customer's earlier touchpoints reach whoever sees it now. One UPDATE
// over the timeline index (tenant_id, customer_id) of each partition; rows keep their
// partition (occurred_at does not change).
void ResendTouchpoints(pqxx::work& txn, const std::string& tenant, const std::string& customer_id) {
  txn.exec_params(
      "UPDATE touchpoints SET change_xid = pg_current_xact_id() "
      "WHERE tenant_id = $1 AND customer_id = $2::uuid AND change_xid <> pg_current_xact_id()",
      tenant, customer_id);
}

// What of a customer of the read model decides who sees it (auth::Scope, VisibleSql), and its
// life (a deleted or merged customer's touchpoints are re-sent as its state changes too).
constexpr char kVisibilityColumns[] =
    "owner_id, region, level, state, coalesce(merged_into::text, '')";

struct Upserted {
  bool applied = false;             // The model held no newer version.
  bool visibility_changed = false;  // An existing customer's kVisibilityColumns changed.
};

// Upserts a customer of the read model unless it holds a newer version. The row's version is
// the customer's plus `version_offset`; `folded` are its folded_persons. When who may see an
// existing customer changes, re-sends its touchpoints (ResendTouchpoints) unless `resend` is
// false (a merge moves them itself).
Upserted UpsertCustomer(pqxx::work& txn, const std::string& tenant, const cv1::Customer& c,
                        int64_t version_offset = 0, const std::vector<std::string>& folded = {},
                        bool resend = true) {
  std::vector<std::string> persons;
  for (const cv1::ContactPerson& p : c.contact_persons()) persons.push_back(p.person_id());
  // Locked, so that the comparison below is with what this transaction replaces.
  const pqxx::result before = txn.exec_params(
      absl::StrCat("SELECT ", kVisibilityColumns,
                   " FROM customers WHERE tenant_id = $1 AND customer_id = $2::uuid FOR UPDATE"),
      tenant, c.customer_id());
  const pqxx::result applied = txn.exec_params(
      absl::StrCat(
          "INSERT INTO customers (tenant_id, customer_id, state, merged_into, person_ids, "
          "owner_id, region, level, version, folded_persons) VALUES ($1, $2::uuid, $3, "
          "nullif($4, '')::uuid, $5::uuid[], $6, $7, $8, $9, $10::text[]) "
          "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET state = EXCLUDED.state, "
          "merged_into = EXCLUDED.merged_into, person_ids = EXCLUDED.person_ids, "
          "owner_id = EXCLUDED.owner_id, region = EXCLUDED.region, level = EXCLUDED.level, "
          "version = EXCLUDED.version, folded_persons = EXCLUDED.folded_persons "
          "WHERE customers.version < EXCLUDED.version RETURNING ",
          kVisibilityColumns),
      tenant, c.customer_id(), static_cast<int>(c.state()), c.merged_into_customer_id(),
      pg::TextArrayLiteral(persons), c.owner_id(), c.region(), static_cast<int>(c.level()),
      (c.etag().empty() ? int64_t{0} : std::stoll(c.etag())) + version_offset,
      pg::TextArrayLiteral(folded));
  Upserted upserted;
  upserted.applied = !applied.empty();
  if (upserted.applied && !before.empty()) {
    for (int i = 0; i < static_cast<int>(applied[0].size()); ++i) {
      if (std::string_view(before[0][i].c_str()) != std::string_view(applied[0][i].c_str())) {
        upserted.visibility_changed = true;
      }
    }
  }
  if (upserted.visibility_changed && resend) ResendTouchpoints(txn, tenant, c.customer_id());
  return upserted;
}

// Rewrites the contact persons of the touchpoints of `rows` (kSelectColumns, e.g. of a
// RETURNING) through `persons` (old id -> new id; an id named twice afterwards stays once), in
// the body only: the move that returned the rows has already counted their new version.
absl::Status RemapContactPersons(pqxx::work& txn, const std::string& tenant,
                                 const pqxx::result& rows,
                                 const absl::flat_hash_map<std::string, std::string>& persons) {
  if (persons.empty()) return absl::OkStatus();
  std::vector<std::string> ids, times, bodies;
  for (const auto& row : rows) {
    TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(row));
    if (!RenamePersons(t, persons)) continue;
    ids.push_back(t.touchpoint_id());
    times.push_back(PgTime(FromProtoTime(t.occur_time())));
    bodies.push_back(absl::BytesToHexString(t.SerializeAsString()));
  }
  if (ids.empty()) return absl::OkStatus();
  txn.exec_params(
      "UPDATE touchpoints t SET body = decode(k.body, 'hex') "
      "FROM unnest($2::uuid[], $3::timestamptz[], $4::text[]) AS k(id, occurred_at, body) "
      "WHERE t.tenant_id = $1 AND t.touchpoint_id = k.id AND t.occurred_at = k.occurred_at",
      tenant, pg::TextArrayLiteral(ids), pg::TextArrayLiteral(times),
      pg::TextArrayLiteral(bodies));
  return absl::OkStatus();
}

void PublishReassigned(pqxx::work& txn, const ev::EventEnvelope& cause, const std::string& from,
                       const std::string& to, const std::string& merge_id, int64_t count) {
  if (count == 0) return;
  ev::TouchpointsReassigned moved;
  moved.set_from_customer_id(from);
  moved.set_to_customer_id(to);
  moved.set_merge_id(merge_id);
  moved.set_count(count);
  events::AppendToOutbox(txn, kTouchpointsTopic,
                         events::MakeEnvelope(moved, cause.tenant_id(), "customer", to,
                                              cause.request_id(), cause.actor_id()));
}

}  // namespace

absl::Status PgTouchpointStore::ApplyCustomerEvent(pqxx::work& txn,
                                                   const ev::EventEnvelope& event) {
  const std::string& tenant = event.tenant_id();
  const auto& payload = event.payload();
  ev::CustomerCreated created;
  ev::CustomerUpdated updated;
  ev::CustomerDeleted deleted;
  ev::CustomerUndeleted undeleted;
  ev::CustomersMerged merged;
  ev::CustomersUnmerged unmerged;
  if (payload.Is<ev::CustomerCreated>() && payload.UnpackTo(&created)) {
    UpsertCustomer(txn, tenant, created.customer());
  } else if (payload.Is<ev::CustomerUpdated>() && payload.UnpackTo(&updated)) {
    UpsertCustomer(txn, tenant, updated.customer());
  } else if (payload.Is<ev::CustomerDeleted>() && payload.UnpackTo(&deleted)) {
    UpsertCustomer(txn, tenant, deleted.customer());
  } else if (payload.Is<ev::CustomerUndeleted>() && payload.UnpackTo(&undeleted)) {
    UpsertCustomer(txn, tenant, undeleted.customer());
  } else if (payload.Is<ev::CustomersMerged>() && payload.UnpackTo(&merged)) {
    UpsertCustomer(txn, tenant, merged.survivor());
    std::vector<std::string> folded_pairs;
    for (const ev::FoldedPerson& f : merged.folded_persons()) {
      folded_pairs.push_back(absl::StrCat(f.person_id(), ":", f.into_person_id()));
    }
    // The move below re-sends the merged customer's touchpoints (as the survivor's).
    if (UpsertCustomer(txn, tenant, merged.merged(), 0, folded_pairs, /*resend=*/false).applied) {
      const pqxx::result moved = txn.exec_params(
          absl::StrCat("UPDATE touchpoints SET customer_id = $3::uuid, version = version + 1, "
                       "update_time = now(), change_xid = pg_current_xact_id() "
                       "WHERE tenant_id = $1 AND customer_id = $2::uuid RETURNING ",
                       kSelectColumns),
          tenant, merged.merged().customer_id(), merged.survivor().customer_id());
      // A person folded into one of the survivor's is that one now.
      absl::flat_hash_map<std::string, std::string> folded;
      for (const ev::FoldedPerson& f : merged.folded_persons()) {
        folded.emplace(f.person_id(), f.into_person_id());
      }
      TL_RETURN_IF_ERROR(RemapContactPersons(txn, tenant, moved, folded));
      PublishReassigned(txn, event, merged.merged().customer_id(),
                        merged.survivor().customer_id(), merged.merge().merge_id(),
                        moved.affected_rows());
    }
  } else if (payload.Is<ev::CustomersUnmerged>() && payload.UnpackTo(&unmerged)) {
    UpsertCustomer(txn, tenant, unmerged.survivor());
    if (UpsertCustomer(txn, tenant, unmerged.restored()).applied) {
      // Back to the restored customer: what was recorded for it, or for a customer merged
      // into it earlier.
      const pqxx::result moved = txn.exec_params(
          absl::StrCat("WITH RECURSIVE folded(id) AS ("
                       "  SELECT $2::uuid"
                       "  UNION SELECT c.customer_id FROM customers c JOIN folded f"
                       "    ON c.tenant_id = $1 AND c.merged_into = f.id) "
                       "UPDATE touchpoints SET customer_id = $2::uuid, version = version + 1, "
                       "update_time = now(), change_xid = pg_current_xact_id() "
                       "WHERE tenant_id = $1 AND customer_id = $3::uuid "
                       "AND origin_customer_id IN (SELECT id FROM folded) RETURNING ",
                       kSelectColumns),
          tenant, unmerged.restored().customer_id(), unmerged.survivor().customer_id());
      // Back to the restored customer's own persons (the first, if several were folded into
      // one).
      absl::flat_hash_map<std::string, std::string> unfolded;
      for (const ev::FoldedPerson& f : unmerged.folded_persons()) {
        unfolded.emplace(f.into_person_id(), f.person_id());
      }
      TL_RETURN_IF_ERROR(RemapContactPersons(txn, tenant, moved, unfolded));
      PublishReassigned(txn, event, unmerged.survivor().customer_id(),
                        unmerged.restored().customer_id(), unmerged.merge().merge_id(),
                        moved.affected_rows());
    }
  }
  return absl::OkStatus();
}

absl::Status PgTouchpointStore::SharesChanged(pqxx::work& txn, const std::string& tenant_id,
                                              const std::string& customer_id) {
  ResendTouchpoints(txn, tenant_id, customer_id);
  return absl::OkStatus();
}

absl::Status PgTouchpointStore::LearnCustomer(std::string_view tenant_id,
                                              const cv1::Customer& customer) {
  return pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    // One version below what the owner reported: the event of that version still applies
    // (and brings what the owner may have masked for the caller).
    UpsertCustomer(txn, std::string(tenant_id), customer, -1);
    return absl::OkStatus();
  });
}

}  // namespace touchline::touchpoints
