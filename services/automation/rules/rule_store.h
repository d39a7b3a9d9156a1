// Storage of automation rules: a row of `rules` per rule (paused, archived, its latest and
// published versions) and a row of `rule_versions` per version, its body the v1::Rule as stored
// (migrations/0005_rules.sql). Every method is one transaction: what a write stores, its
// idempotency key and its audit entry commit together or not at all. The RPC methods are scoped
// to one tenant; ListRunnable, for the engine, reads every tenant. Errors are absl::Status (the
// mapped PostgreSQL error: UNAVAILABLE, DEADLINE_EXCEEDED ...); never a libpqxx exception.
//
// Every Rule a store returns has its etag (the version's revision: "1" when written first, one
// more with every write of that version) and `paused` (the rule's flag, the same for all its
// versions: pausing changes no version, so no etag).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "touchline/automation/v1/rule.pb.h"

namespace touchline::automation {

// Who asked for a write: its tenant, actor and request id (x-request-id, not the idempotency
// key) go into its audit entry.
struct RuleWriteContext {
  auth::RequestContext caller;
  absl::Time now;  // Truncated to microseconds, as PostgreSQL stores it.
};

// A validated rule to insert: rule_id, version 1, state DRAFT, owner_id, create_time and
// update_time set (the store sets the etag; paused is false).
struct NewRule {
  RuleWriteContext context;
  v1::Rule rule;
  // The idempotency key (CreateRuleRequest.request_id); empty for none.
  std::string request_id;
  // Tells a retry from another request reusing the key (ids::Fingerprint of the rule as the
  // client sent it).
  std::string fingerprint;
  // The paths of the fields the client set, for the audit entry.
  std::vector<std::string> fields;
};

// What holds for every version of a rule.
struct RuleStatus {
  bool paused = false;
  // When it was last paused and last resumed; InfinitePast: never.
  absl::Time paused_time = absl::InfinitePast();
  absl::Time resume_time = absl::InfinitePast();
  // Archived: every version is ARCHIVED and nothing runs or changes any more.
  bool archived = false;

  bool operator==(const RuleStatus&) const = default;
};

// A rule as Write hands it to its decision.
struct StoredRule {
  // Every version, oldest first, etags and paused set.
  std::vector<v1::Rule> versions;
  RuleStatus status;
};

// What a write of an existing rule stores and records, as the manager decided it.
struct RuleWrite {
  // The versions to store, the one the write returns last. A version the rule has is replaced;
  // any other is inserted (it must be the next number). Their `paused` is not stored.
  std::vector<v1::Rule> versions;
  // The rule's status after the write; nullopt: unchanged.
  std::optional<RuleStatus> status;
  // The audit entry: e.g. "rule.updated", the fields changed, and a detail.
  std::string action;
  std::vector<std::string> fields;
  std::string detail;
};

// Where a page of ListRules ended: the latest version's display name and the rule id.
struct RuleCursor {
  std::string display_name;
  std::string rule_id;
};

struct RulePage {
  std::vector<v1::Rule> rules;
  std::optional<RuleCursor> next;  // Set when more rules may follow.
};

// A rule the engine runs.
struct RunnableRule {
  std::string tenant_id;
  // The latest PUBLISHED version, with the rule's paused flag in rule.paused().
  v1::Rule rule;
  // When the rule was last paused, if it was.
  absl::Time paused_time = absl::InfinitePast();
  // When it was last resumed, if it was.
  absl::Time resume_time = absl::InfinitePast();
};

class RuleStore {
 public:
  virtual ~RuleStore() = default;

  // Inserts version 1 and the rule's row (running, not archived, nothing published), with the
  // "rule.created" audit entry; the rule comes back with etag "1". A non-empty request id is
  // claimed in the same transaction. Its second use by the same request (same fingerprint)
  // writes nothing and answers with the first call's rule as its latest version is now; its
  // use by another request or method is ALREADY_EXISTS (ErrorInfo REQUEST_ID_REUSED).
  virtual absl::StatusOr<v1::Rule> Create(const NewRule& rule) = 0;

  // Version `version` of the rule, or its latest for 0; NOT_FOUND ("rule <id> not found",
  // "rule <id> has no version <n>") when the tenant has neither.
  virtual absl::StatusOr<v1::Rule> Get(std::string_view tenant_id, std::string_view rule_id,
                                       int version) = 0;

  // ListRules' page: the latest version of each rule, after `after` in the order of display
  // name (PostgreSQL's "zh-Hans-x-icu": Chinese by pinyin, then Latin) and then rule id;
  // `page_size` at most, `next` set when more may follow. Archived rules with `show_archived`
  // only.
  virtual absl::StatusOr<RulePage> List(std::string_view tenant_id, bool show_archived,
                                        int page_size, const std::optional<RuleCursor>& after) = 0;

  // Locks the rule, hands it (every version, oldest first, and its status) to `decide`, and
  // stores what it returns: each version written gets the next etag (a new one "1"), with
  // update_time as `decide` set it; the status when given; and the write's audit entry. Returns
  // the last version written, or the latest version when no version is written, with the
  // status after the write. A write with neither versions nor status writes nothing (no audit
  // entry). NOT_FOUND when the tenant has no such rule; an error of `decide` aborts the
  // transaction and is returned. Concurrent writes of one rule run one after the other, each
  // deciding on what the one before committed.
  using Decide = std::function<absl::StatusOr<RuleWrite>(const StoredRule&)>;
  virtual absl::StatusOr<v1::Rule> Write(const RuleWriteContext& context, std::string_view rule_id,
                                         const Decide& decide) = 0;

  // For the engine, every tenant: the latest published version of every rule that is not
  // archived, paused ones included (rule.paused() set), by tenant and rule id.
  virtual absl::StatusOr<std::vector<RunnableRule>> ListRunnable() = 0;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_STORE_H_
