#include "services/automation/rules/testing/in_memory_rule_store.h"

#include <unicode/ucol.h>

#include <algorithm>
#include <tuple>

#include "common/status/macros.h"
#include "services/automation/rules/rule_records.h"

namespace touchline::automation::testing {
namespace {

// Whether display name `a` sorts before `b` under ICU's zh collation (PostgreSQL's
// "zh-Hans-x-icu"), equal names by their bytes as PostgreSQL's deterministic collations do.
bool NameBefore(std::string_view a, std::string_view b) {
  static UCollator* const zh = [] {
    UErrorCode error = U_ZERO_ERROR;
    UCollator* opened = ucol_open("zh_Hans", &error);
    return U_SUCCESS(error) ? opened : nullptr;
  }();
  UErrorCode error = U_ZERO_ERROR;
  const UCollationResult order =
      zh == nullptr ? UCOL_EQUAL
                    : ucol_strcollUTF8(zh, a.data(), static_cast<int32_t>(a.size()), b.data(),
                                       static_cast<int32_t>(b.size()), &error);
  return U_SUCCESS(error) && order != UCOL_EQUAL ? order == UCOL_LESS : a < b;
}

// ListRules' order: display name, then rule id.
bool ListedBefore(std::string_view a_name, std::string_view a_id, std::string_view b_name,
                  std::string_view b_id) {
  if (NameBefore(a_name, b_name)) return true;
  return !NameBefore(b_name, a_name) && a_id < b_id;
}

}  // namespace

v1::Rule InMemoryRuleStore::Shown(const Entry& entry, const v1::Rule& version) {
  v1::Rule shown = version;
  shown.set_paused(entry.status.paused);
  return shown;
}

std::vector<events::v1::EventEnvelope> InMemoryRuleStore::audit_entries() const {
  absl::MutexLock lock(&mu_);
  return audit_entries_;
}

absl::StatusOr<v1::Rule> InMemoryRuleStore::Create(const NewRule& rule) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant_id = rule.context.caller.tenant_id;
  if (!rule.request_id.empty()) {
    const idempotency::Key key = CreateRuleKey(rule);
    const auto first = keys_.find({tenant_id, rule.request_id});
    const idempotency::Decision decision =
        idempotency::Decide(first == keys_.end() ? std::nullopt : std::optional(first->second),
                            key.method, key.fingerprint);
    if (decision == idempotency::Decision::kConflict) {
      return idempotency::RequestIdReused(rule.request_id);
    }
    if (decision == idempotency::Decision::kReplay) {
      const auto created = rules_.find({tenant_id, first->second.result});
      if (created == rules_.end()) return RuleNotFound(first->second.result);
      return Shown(created->second, created->second.versions.back());
    }
    keys_[{tenant_id, rule.request_id}] = idempotency::StoredRequest{
        .method = key.method, .fingerprint = key.fingerprint, .result = rule.rule.rule_id()};
  }
  Entry& entry = rules_[{tenant_id, rule.rule.rule_id()}];
  entry.versions = {rule.rule};
  entry.versions.back().set_etag("1");
  entry.versions.back().set_paused(false);
  audit_entries_.push_back(RuleCreatedAuditEntry(rule));
  return entry.versions.back();
}

absl::StatusOr<v1::Rule> InMemoryRuleStore::Get(std::string_view tenant_id,
                                                std::string_view rule_id, int version) {
  absl::MutexLock lock(&mu_);
  const auto found = rules_.find({std::string(tenant_id), std::string(rule_id)});
  if (found == rules_.end()) return RuleNotFound(rule_id, version);
  const std::vector<v1::Rule>& versions = found->second.versions;
  if (version == 0) return Shown(found->second, versions.back());
  const auto it = std::find_if(versions.begin(), versions.end(),
                               [version](const v1::Rule& v) { return v.version() == version; });
  if (it == versions.end()) return RuleNotFound(rule_id, version);
  return Shown(found->second, *it);
}

absl::StatusOr<RulePage> InMemoryRuleStore::List(std::string_view tenant_id, bool show_archived,
                                                 int page_size,
                                                 const std::optional<RuleCursor>& after) {
  absl::MutexLock lock(&mu_);
  RulePage page;
  for (const auto& [key, entry] : rules_) {
    const v1::Rule& latest = entry.versions.back();
    if (key.first != tenant_id || (entry.status.archived && !show_archived)) continue;
    if (after && !ListedBefore(after->display_name, after->rule_id, latest.display_name(),
                               latest.rule_id())) {
      continue;
    }
    page.rules.push_back(Shown(entry, latest));
  }
  std::sort(page.rules.begin(), page.rules.end(), [](const v1::Rule& a, const v1::Rule& b) {
    return ListedBefore(a.display_name(), a.rule_id(), b.display_name(), b.rule_id());
  });
  if (page.rules.size() > static_cast<size_t>(page_size)) {
    page.rules.resize(static_cast<size_t>(page_size));
    page.next = RuleCursor{.display_name = page.rules.back().display_name(),
                           .rule_id = page.rules.back().rule_id()};
  }
  return page;
}

absl::StatusOr<v1::Rule> InMemoryRuleStore::Write(const RuleWriteContext& context,
                                                  std::string_view rule_id, const Decide& decide) {
  absl::MutexLock lock(&mu_);
  const auto found = rules_.find({context.caller.tenant_id, std::string(rule_id)});
  if (found == rules_.end()) return RuleNotFound(rule_id);
  Entry& entry = found->second;
  StoredRule stored{.versions = {}, .status = entry.status};
  for (const v1::Rule& version : entry.versions) stored.versions.push_back(Shown(entry, version));
  TL_ASSIGN_OR_RETURN(RuleWrite write, decide(stored));
  if (write.versions.empty() && !write.status.has_value()) return stored.versions.back();
  TL_ASSIGN_OR_RETURN(const std::vector<bool> inserted, AssignRevisions(stored, write));
  if (write.status) entry.status = *write.status;
  for (size_t i = 0; i < write.versions.size(); ++i) {
    v1::Rule version = write.versions[i];
    version.set_paused(false);
    if (inserted[i]) {
      entry.versions.push_back(std::move(version));
    } else {
      entry.versions[static_cast<size_t>(version.version() - 1)] = std::move(version);
    }
  }
  audit_entries_.push_back(RuleWriteAuditEntry(context, rule_id, write));
  return Shown(entry, write.versions.empty() ? entry.versions.back() : write.versions.back());
}

absl::StatusOr<std::vector<RunnableRule>> InMemoryRuleStore::ListRunnable() {
  absl::MutexLock lock(&mu_);
  std::vector<RunnableRule> runnable;
  for (const auto& [key, entry] : rules_) {
    if (entry.status.archived) continue;
    const int published = VersionsAfter(entry.versions, {}).published;
    if (published == 0) continue;
    runnable.push_back(
        RunnableRule{.tenant_id = key.first,
                     .rule = Shown(entry, entry.versions[static_cast<size_t>(published - 1)]),
                     .paused_time = entry.status.paused_time,
                     .resume_time = entry.status.resume_time});
  }
  return runnable;
}

}  // namespace touchline::automation::testing
