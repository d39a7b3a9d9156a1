// What both rule stores record and decide the same way: the audit entries of writes, the
// idempotency key of a create, the etags and versions a write stores, and the errors they
// report. Pure.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_RECORDS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_RECORDS_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/idempotency/idempotency.h"
#include "services/automation/rules/rule_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

// The resource type of the audit entries of rule writes.
inline constexpr char kRuleResource[] = "rule";
// The method idempotency keys of creates are claimed for.
inline constexpr char kCreateRuleMethod[] = "CreateRule";

// The "rule.created" audit entry of `rule`, naming the fields the client set.
events::v1::EventEnvelope RuleCreatedAuditEntry(const NewRule& rule);

// The audit entry of `write` of the rule `rule_id`.
events::v1::EventEnvelope RuleWriteAuditEntry(const RuleWriteContext& context,
                                              std::string_view rule_id, const RuleWrite& write);

// The idempotency key of `rule` (its request_id must not be empty).
idempotency::Key CreateRuleKey(const NewRule& rule);

// Sets the etag of each version `write` stores: one more than the stored version's it
// replaces, "1" for the next version. Returns, for each, whether it is inserted. INTERNAL for a
// version that is neither stored nor the next, or a stored etag that is not a number.
absl::StatusOr<std::vector<bool>> AssignRevisions(const StoredRule& stored, RuleWrite& write);

// The rules row after a write of `written` over `stored`: the highest version, and the highest
// version ever published (one with a publish_time; 0 for none).
struct RuleVersions {
  int latest = 0;
  int published = 0;
};
RuleVersions VersionsAfter(const std::vector<v1::Rule>& stored,
                           const std::vector<v1::Rule>& written);

// NOT_FOUND "rule <id> not found", or "rule <id> has no version <n>" for a version > 0.
absl::Status RuleNotFound(std::string_view rule_id, int version = 0);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_RECORDS_H_
