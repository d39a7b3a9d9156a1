// The rule RPCs of AutomationService: CreateRule, GetRule, ListRules, UpdateRule, PublishRule,
// PauseRule, ResumeRule, ArchiveRule and TestRule. Owns the rules: every call needs
// PERMISSION_ADMINISTER (checked before anything else, as EndpointManager does, so a caller
// without it learns nothing of the rules); a rule is checked whole (NormalizeAndValidate) before
// it is stored, INVALID_ARGUMENT naming each bad field with nothing written; versions (a change
// of a published rule is the next version's draft; a published version never changes);
// owner_id is the caller who last created or changed the rule; etags (ABORTED when stale);
// pausing and resuming the rule as a whole; archiving every version for good; pages by display
// name with sealed tokens; and TestRule, a dry run that writes and sends nothing. Storage is
// behind RuleStore; nothing here knows about gRPC transport or SQL.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_MANAGER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_MANAGER_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "services/automation/rules/field_catalogue.h"
#include "services/automation/rules/rule_store.h"
#include "touchline/automation/v1/automation_service.pb.h"

namespace touchline::automation {

inline constexpr int kDefaultRulePageSize = 50;
inline constexpr int kMaxRulePageSize = 200;

// Thread-safe.
class RuleManager {
 public:
  // The values of a customer as a run would see them (run_fields.h CustomerFieldValues), read
  // as `caller` may see the customer: NOT_FOUND when it cannot. For TestRule on a customer.
  using CustomerLookup = std::function<absl::StatusOr<FieldValues>(
      const auth::RequestContext& caller, const std::string& customer_id)>;

  // `store` and `page_tokens` are not owned and must outlive the manager. `clock` is now: the
  // time of writes and of TestRule's previews. `customers` serves TestRule's customer_id.
  RuleManager(RuleStore* store, const paging::PageTokens* page_tokens,
              std::function<absl::Time()> clock, CustomerLookup customers);

  // Every method: PERMISSION_ADMINISTER (PERMISSION_DENIED), INTERNAL "no scope" without a
  // scope; a rule_id that is not a UUID is INVALID_ARGUMENT; a rule the tenant does not have is
  // NOT_FOUND. Output-only fields of a rule given are ignored.

  // Version 1 as a draft, owned by the caller. A request_id (at most 128 characters) makes a
  // retry return the rule the first call created; the same id with another rule is
  // ALREADY_EXISTS (REQUEST_ID_REUSED).
  absl::StatusOr<v1::CreateRuleResponse> CreateRule(const auth::RequestContext& caller,
                                                    const v1::CreateRuleRequest& request) const;
  // The version asked for, the latest for 0.
  absl::StatusOr<v1::GetRuleResponse> GetRule(const auth::RequestContext& caller,
                                              const v1::GetRuleRequest& request) const;
  // The latest version of each rule by display name (pinyin order for Chinese); archived ones
  // with show_archived. page_size 0 to 200 (0: 50); a page_token of another query is
  // INVALID_ARGUMENT.
  absl::StatusOr<v1::ListRulesResponse> ListRules(const auth::RequestContext& caller,
                                                  const v1::ListRulesRequest& request) const;
  // Applies the fields of update_mask (display_name, description, trigger, condition, actions,
  // reenrollment, misfire_policy) to the latest version when it is a draft, or to a new draft
  // (the next version) copied from it when it is published; the result is checked whole and its
  // owner is the caller. FAILED_PRECONDITION for an archived rule; ABORTED (ETAG_MISMATCH) when
  // rule.etag is set and is not the latest version's.
  absl::StatusOr<v1::UpdateRuleResponse> UpdateRule(const auth::RequestContext& caller,
                                                    const v1::UpdateRuleRequest& request) const;
  // Publishes the draft (the latest version): PUBLISHED, publish_time now; it runs from now on
  // in place of the version published before (which stays PUBLISHED in storage).
  // FAILED_PRECONDITION when the latest version is not a draft; ABORTED when etag is set and is
  // not the draft's.
  absl::StatusOr<v1::PublishRuleResponse> PublishRule(const auth::RequestContext& caller,
                                                      const v1::PublishRuleRequest& request) const;
  // Pauses or resumes the rule (every version: no version changes, no etag either), recording
  // when. Pausing a paused rule or resuming a running one changes nothing and returns it.
  // FAILED_PRECONDITION for an archived rule.
  absl::StatusOr<v1::PauseRuleResponse> PauseRule(const auth::RequestContext& caller,
                                                  const v1::PauseRuleRequest& request) const;
  absl::StatusOr<v1::ResumeRuleResponse> ResumeRule(const auth::RequestContext& caller,
                                                    const v1::ResumeRuleRequest& request) const;
  // Archives every version; returns the latest. Archiving an archived rule changes nothing.
  absl::StatusOr<v1::ArchiveRuleResponse> ArchiveRule(const auth::RequestContext& caller,
                                                      const v1::ArchiveRuleRequest& request) const;

  // A dry run; writes nothing, sends nothing. The subject is a rule as CreateRule would store
  // it (checked the same way: INVALID_ARGUMENT under "rule") or a saved version. On an event,
  // the trigger matches when the event's kind is the trigger's (else matched is false and the
  // reason says "the event is a touchpoint_recorded; the rule waits for customer_changed"),
  // its change.field the trigger's field and the change its `from` and `to` as the engine reads
  // them (conditions.h ChangeCondition, against the request's `before` values; for
  // customer_changed), its stage.journey_id and stage.stage_id the trigger's (for stage
  // triggers); the values are the event's (run_fields.h TriggerEventValues). On a customer_id,
  // the values are the customer's (CustomerLookup), for any trigger, and `before` is refused.
  // Then the condition is
  // evaluated (every comparison with the value seen) and, when it holds, each action is
  // previewed: a task's assignee, due time (from the event's occur_time, or now, plus the
  // trigger's delay and the task's due_in, in UTC) and filled-in title and body; a webhook's
  // endpoint and filled-in payload (JSON-string escaped); a customer change, a lead score, a
  // sequence in words.
  absl::StatusOr<v1::TestRuleResponse> TestRule(const auth::RequestContext& caller,
                                                const v1::TestRuleRequest& request) const;

 private:
  // What a write of one rule stores, from the rule and the time now.
  using Decide = std::function<absl::StatusOr<RuleWrite>(const StoredRule&, absl::Time now)>;

  // Now, truncated to microseconds as PostgreSQL keeps times.
  RuleWriteContext NewWriteContext(const auth::RequestContext& caller) const;
  // Checks the permission and `rule_id` (INVALID_ARGUMENT naming `field`), then has the store
  // write the rule as `decide` says.
  absl::StatusOr<v1::Rule> Write(const auth::RequestContext& caller, std::string_view rule_id,
                                 std::string_view field, const Decide& decide) const;
  // The rule TestRule tests: the request's, checked, or the saved version.
  absl::StatusOr<v1::Rule> TestSubject(const auth::RequestContext& caller,
                                       const v1::TestRuleRequest& request) const;

  RuleStore* const store_;
  const paging::PageTokens* const page_tokens_;
  const std::function<absl::Time()> clock_;
  const CustomerLookup customers_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_MANAGER_H_
