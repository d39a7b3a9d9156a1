#include "services/automation/rules/rule_records.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"

namespace touchline::automation {

events::v1::EventEnvelope RuleCreatedAuditEntry(const NewRule& rule) {
  return audit::MakeAuditEnvelope(rule.context.caller, "rule.created", kRuleResource,
                                  rule.rule.rule_id(), rule.fields, "version 1");
}

events::v1::EventEnvelope RuleWriteAuditEntry(const RuleWriteContext& context,
                                              std::string_view rule_id, const RuleWrite& write) {
  return audit::MakeAuditEnvelope(context.caller, write.action, kRuleResource, std::string(rule_id),
                                  write.fields, write.detail);
}

idempotency::Key CreateRuleKey(const NewRule& rule) {
  return idempotency::Key{.tenant_id = rule.context.caller.tenant_id,
                          .request_id = rule.request_id,
                          .method = kCreateRuleMethod,
                          .fingerprint = rule.fingerprint};
}

absl::StatusOr<std::vector<bool>> AssignRevisions(const StoredRule& stored, RuleWrite& write) {
  // version -> its revision, as stored and then as this write leaves it.
  std::map<int, int64_t> revisions;
  for (const v1::Rule& version : stored.versions) {
    if (!absl::SimpleAtoi(version.etag(), &revisions[version.version()])) {
      return absl::InternalError(absl::StrCat("rule ", version.rule_id(), " version ",
                                              version.version(), " has no stored revision"));
    }
  }
  std::vector<bool> inserted;
  inserted.reserve(write.versions.size());
  for (v1::Rule& version : write.versions) {
    const int next = revisions.empty() ? 1 : revisions.rbegin()->first + 1;
    const auto found = revisions.find(version.version());
    const bool is_new = found == revisions.end();
    if (is_new && version.version() != next) {
      return absl::InternalError(absl::StrCat("rule ", version.rule_id(), " has no version ",
                                              version.version(), " to write (the next is ", next,
                                              ")"));
    }
    const int64_t revision = is_new ? (revisions[next] = 1) : ++found->second;
    version.set_etag(std::to_string(revision));
    inserted.push_back(is_new);
  }
  return inserted;
}

RuleVersions VersionsAfter(const std::vector<v1::Rule>& stored,
                           const std::vector<v1::Rule>& written) {
  RuleVersions after;
  for (const std::vector<v1::Rule>* versions : {&stored, &written}) {
    for (const v1::Rule& version : *versions) {
      after.latest = std::max(after.latest, version.version());
      if (version.has_publish_time())
        after.published = std::max(after.published, version.version());
    }
  }
  return after;
}

absl::Status RuleNotFound(std::string_view rule_id, int version) {
  return absl::NotFoundError(absl::StrCat(
      "rule ", std::string(rule_id),
      version > 0 ? absl::StrCat(" has no version ", version) : std::string(" not found")));
}

}  // namespace touchline::automation
