// RuleStore in memory, for tests of what sits above it (RuleManager, the engine) without
// PostgreSQL: the same contract as PgRuleStore (versions, etags, the rule's status, idempotency
// keys, one audit entry per write), every call atomic. Display names are ordered by ICU's zh
// collation, as PostgreSQL's "zh-Hans-x-icu". Thread-safe.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_IN_MEMORY_RULE_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_IN_MEMORY_RULE_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idempotency/idempotency.h"
#include "services/automation/rules/rule_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation::testing {

class InMemoryRuleStore final : public RuleStore {
 public:
  // The audit entries writes committed, oldest first.
  std::vector<events::v1::EventEnvelope> audit_entries() const;

  absl::StatusOr<v1::Rule> Create(const NewRule& rule) override;
  absl::StatusOr<v1::Rule> Get(std::string_view tenant_id, std::string_view rule_id,
                               int version) override;
  absl::StatusOr<RulePage> List(std::string_view tenant_id, bool show_archived, int page_size,
                                const std::optional<RuleCursor>& after) override;
  absl::StatusOr<v1::Rule> Write(const RuleWriteContext& context, std::string_view rule_id,
                                 const Decide& decide) override;
  absl::StatusOr<std::vector<RunnableRule>> ListRunnable() override;

 private:
  using Key = std::pair<std::string, std::string>;  // (tenant, rule id or request id)

  // A rule as stored: its versions, oldest first (paused as stored: false), and its status.
  struct Entry {
    std::vector<v1::Rule> versions;
    RuleStatus status;
  };

  // `version` of `entry` as the store returns it: paused from the status.
  static v1::Rule Shown(const Entry& entry, const v1::Rule& version);

  mutable absl::Mutex mu_;
  std::map<Key, Entry> rules_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> what the first request recorded.
  std::map<Key, idempotency::StoredRequest> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> audit_entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_IN_MEMORY_RULE_STORE_H_
