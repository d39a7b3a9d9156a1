// RuleStore on PostgreSQL (libpqxx), with audit entries through the transactional outbox. The
// schema on the pool's search_path holds the automation tables, the outbox and the idempotency
// keys (service_host::StandardMigrations with request_ids).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_PG_RULE_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_PG_RULE_STORE_H_

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/pool.h"
#include "services/automation/rules/rule_store.h"

namespace touchline::automation {

class PgRuleStore final : public RuleStore {
 public:
  // `pool` must outlive the store. `events_written` (may be empty) runs after each commit that
  // wrote to the outbox (it wakes the relay: host.RelayWaker()).
  PgRuleStore(pg::Pool* pool, std::function<void()> events_written);

  absl::StatusOr<v1::Rule> Create(const NewRule& rule) override;
  absl::StatusOr<v1::Rule> Get(std::string_view tenant_id, std::string_view rule_id,
                               int version) override;
  absl::StatusOr<RulePage> List(std::string_view tenant_id, bool show_archived, int page_size,
                                const std::optional<RuleCursor>& after) override;
  absl::StatusOr<v1::Rule> Write(const RuleWriteContext& context, std::string_view rule_id,
                                 const Decide& decide) override;
  absl::StatusOr<std::vector<RunnableRule>> ListRunnable() override;

 private:
  pg::Pool* pool_;
  std::function<void()> events_written_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_PG_RULE_STORE_H_
