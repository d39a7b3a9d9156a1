#include "services/automation/rules/pg_rule_store.h"

#include <cstdint>
#include <optional>
#include <pqxx/binarystring>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"
#include "services/automation/rules/rule_records.h"
#include "services/automation/rules/rules_sql.h"

namespace touchline::automation {
namespace {

namespace sql = rules_sql;
using ::google::protobuf::util::TimeUtil;

// A stored rule from its body, revision (the etag) and the rule's paused flag.
absl::StatusOr<v1::Rule> RuleOf(const pqxx::field& body, const pqxx::field& revision,
                                const pqxx::field& paused) {
  v1::Rule rule;
  if (!rule.ParseFromString(pqxx::binarystring(body).str())) {
    return absl::InternalError("a stored rule does not parse");
  }
  rule.set_etag(revision.as<std::string>());
  rule.set_paused(paused.as<bool>());
  return rule;
}

// Rows of (body, revision, paused), in order.
absl::StatusOr<std::vector<v1::Rule>> RulesOf(const pqxx::result& rows) {
  std::vector<v1::Rule> rules;
  rules.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    TL_ASSIGN_OR_RETURN(v1::Rule rule, RuleOf(row[0], row[1], row[2]));
    rules.push_back(std::move(rule));
  }
  return rules;
}

// A nullable timestamptz column read as Unix microseconds; InfinitePast for NULL.
absl::Time TimeOrPast(const pqxx::field& micros) {
  return micros.is_null() ? absl::InfinitePast() : absl::FromUnixMicros(micros.as<int64_t>());
}

// Unix microseconds for sql.h, -1 (NULL) for InfinitePast.
int64_t MicrosOrNull(absl::Time t) {
  return t == absl::InfinitePast() ? -1 : absl::ToUnixMicros(t);
}

// Stores `rule` (its etag the revision, its paused flag left out: it is the rule's) as a new
// version or over the version it is.
void PutVersion(pqxx::work& txn, const std::string& tenant_id, const v1::Rule& rule) {
  int64_t revision = 1;
  if (!absl::SimpleAtoi(rule.etag(), &revision)) revision = 1;
  v1::Rule body = rule;
  body.clear_paused();
  body.clear_etag();
  txn.exec_params(sql::kPutVersion, tenant_id, rule.rule_id(), rule.version(),
                  static_cast<int>(rule.state()), rule.display_name(),
                  pqxx::binarystring(body.SerializeAsString()),
                  TimeUtil::TimestampToMicroseconds(rule.create_time()),
                  TimeUtil::TimestampToMicroseconds(rule.update_time()),
                  rule.has_publish_time() ? TimeUtil::TimestampToMicroseconds(rule.publish_time())
                                          : int64_t{-1},
                  revision);
}

}  // namespace

PgRuleStore::PgRuleStore(pg::Pool* pool, std::function<void()> events_written)
    : pool_(pool), events_written_(std::move(events_written)) {}

absl::StatusOr<v1::Rule> PgRuleStore::Create(const NewRule& rule) {
  const std::string& tenant_id = rule.context.caller.tenant_id;
  v1::Rule result;
  bool audited = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    audited = false;
    std::optional<idempotency::Claim> claim;
    if (!rule.request_id.empty()) {
      TL_ASSIGN_OR_RETURN(claim,
                          idempotency::ClaimKey(txn, CreateRuleKey(rule), rule.rule.rule_id()));
    }
    if (claim && claim->decision == idempotency::Decision::kConflict) {
      return idempotency::RequestIdReused(rule.request_id);
    }
    if (claim && claim->decision == idempotency::Decision::kReplay) {
      const pqxx::result first = txn.exec_params(sql::kSelectLatest, tenant_id, claim->result);
      if (first.empty()) return RuleNotFound(claim->result);
      TL_ASSIGN_OR_RETURN(result, RuleOf(first[0][0], first[0][1], first[0][2]));
      return absl::OkStatus();
    }
    result = rule.rule;
    result.set_etag("1");
    result.set_paused(false);
    txn.exec_params(sql::kInsertRule, tenant_id, result.rule_id());
    PutVersion(txn, tenant_id, result);
    events::AppendToOutbox(txn, events::kAuditTopic, RuleCreatedAuditEntry(rule));
    audited = true;
    return absl::OkStatus();
  }));
  if (audited && events_written_) events_written_();
  return result;
}

absl::StatusOr<v1::Rule> PgRuleStore::Get(std::string_view tenant_id, std::string_view rule_id,
                                          int version) {
  const std::string tenant(tenant_id);
  const std::string id(rule_id);
  std::vector<v1::Rule> found;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(
        found, RulesOf(version > 0 ? txn.exec_params(sql::kSelectVersion, tenant, id, version)
                                   : txn.exec_params(sql::kSelectLatest, tenant, id)));
    return absl::OkStatus();
  }));
  if (found.empty()) return RuleNotFound(rule_id, version);
  return std::move(found.front());
}

absl::StatusOr<RulePage> PgRuleStore::List(std::string_view tenant_id, bool show_archived,
                                           int page_size, const std::optional<RuleCursor>& after) {
  const std::string tenant(tenant_id);
  RulePage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    // One row more than the page: whether another page follows.
    const int limit = page_size + 1;
    const pqxx::result rows = after.has_value()
                                  ? txn.exec_params(sql::kListAfter, tenant, show_archived, limit,
                                                    after->display_name, after->rule_id)
                                  : txn.exec_params(sql::kListFirst, tenant, show_archived, limit);
    TL_ASSIGN_OR_RETURN(page.rules, RulesOf(rows));
    return absl::OkStatus();
  }));
  if (page.rules.size() > static_cast<size_t>(page_size)) {
    page.rules.resize(static_cast<size_t>(page_size));
    page.next = RuleCursor{.display_name = page.rules.back().display_name(),
                           .rule_id = page.rules.back().rule_id()};
  }
  return page;
}

absl::StatusOr<v1::Rule> PgRuleStore::Write(const RuleWriteContext& context,
                                            std::string_view rule_id, const Decide& decide) {
  const std::string& tenant_id = context.caller.tenant_id;
  const std::string id(rule_id);
  v1::Rule result;
  bool audited = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    audited = false;
    const pqxx::result locked = txn.exec_params(sql::kLockRule, tenant_id, id);
    if (locked.empty()) return RuleNotFound(id);
    StoredRule stored;
    stored.status = RuleStatus{.paused = locked[0][0].as<bool>(),
                               .paused_time = TimeOrPast(locked[0][1]),
                               .resume_time = TimeOrPast(locked[0][2]),
                               .archived = locked[0][3].as<bool>()};
    // Read after the lock: a statement of its own sees what the writer before committed.
    TL_ASSIGN_OR_RETURN(stored.versions,
                        RulesOf(txn.exec_params(sql::kSelectVersions, tenant_id, id)));
    if (stored.versions.empty()) return RuleNotFound(id);
    TL_ASSIGN_OR_RETURN(RuleWrite write, decide(stored));
    const RuleStatus status = write.status.value_or(stored.status);
    result = write.versions.empty() ? stored.versions.back() : write.versions.back();
    result.set_paused(status.paused);
    if (write.versions.empty() && !write.status.has_value()) return absl::OkStatus();
    TL_RETURN_IF_ERROR(AssignRevisions(stored, write).status());
    for (const v1::Rule& version : write.versions) PutVersion(txn, tenant_id, version);
    if (!write.versions.empty()) result.set_etag(write.versions.back().etag());
    const RuleVersions versions = VersionsAfter(stored.versions, write.versions);
    txn.exec_params(sql::kUpdateRule, tenant_id, id, versions.latest, versions.published,
                    status.paused, MicrosOrNull(status.paused_time),
                    MicrosOrNull(status.resume_time), status.archived);
    events::AppendToOutbox(txn, events::kAuditTopic, RuleWriteAuditEntry(context, id, write));
    audited = true;
    return absl::OkStatus();
  }));
  if (audited && events_written_) events_written_();
  return result;
}

absl::StatusOr<std::vector<RunnableRule>> PgRuleStore::ListRunnable() {
  std::vector<RunnableRule> runnable;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    runnable.clear();
    for (const pqxx::row& row : txn.exec(sql::kListRunnable)) {
      TL_ASSIGN_OR_RETURN(v1::Rule rule, RuleOf(row[1], row[2], row[3]));
      runnable.push_back(RunnableRule{.tenant_id = row[0].as<std::string>(),
                                      .rule = std::move(rule),
                                      .paused_time = TimeOrPast(row[4]),
                                      .resume_time = TimeOrPast(row[5])});
    }
    return absl::OkStatus();
  }));
  return runnable;
}

}  // namespace touchline::automation
