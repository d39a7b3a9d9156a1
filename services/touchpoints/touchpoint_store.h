// Storage of touchpoints and of the customer read model. Every method is one transaction:
// what it writes (touchpoints, idempotency keys, events) commits together or not at all.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_STORE_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.pb.h"

namespace touchline::touchpoints {

// Who asked for a write, carried into its event and its audit entry. caller.scope is set:
// the write is checked against it (the customer must be visible, and writable through
// anything but a READ share: auth::Access::kWriteTouchpoints).
struct WriteContext {
  auth::RequestContext caller;  // request_id is the call's trace id, not the idempotency key.
  absl::Time now;               // Truncated to microseconds, as PostgreSQL stores it.
};

// A validated touchpoint to insert: id, record_time, update_time and etag "1" set.
struct NewTouchpoint {
  WriteContext context;
  v1::Touchpoint touchpoint;
  std::string request_id;   // The idempotency key; empty for none.
  std::string fingerprint;  // Hex SHA-256 of the touchpoint as the client sent it.
  std::string field_prefix;  // Path of the touchpoint in the request, for errors.
  std::vector<std::string> fields;  // The paths of the fields the client set, for the audit.
};

struct Recorded {
  v1::Touchpoint touchpoint;
  bool replayed = false;  // An earlier request recorded it; nothing was written now.
};

// Where a time-ordered page ended.
struct TimeCursor {
  absl::Time occurred_at;
  std::string touchpoint_id;
};

struct TouchpointPage {
  std::vector<v1::Touchpoint> touchpoints;
  std::vector<float> scores;           // Search: one per touchpoint.
  std::optional<TimeCursor> next;      // Time order: set when more may follow.
  bool more = false;                   // Relevance order: more may follow.
};

struct SearchSpec {
  std::string tsquery;      // From ParseSearchQuery.
  std::string customer_id;  // Empty: the whole tenant.
  v1::TouchpointFilter filter;
  bool by_relevance = false;
  int page_size = 20;
  std::optional<TimeCursor> after;  // Time order.
  int offset = 0;                   // Relevance order, within kRelevanceWindow.
};
// Relevance ranks the most recent matches only, so a common word costs a bounded amount.
inline constexpr int kRelevanceWindow = 1000;

// Where the change feed stands: the last (transaction, touchpoint) returned.
struct ChangeCursor {
  uint64_t xid = 0;
  std::string touchpoint_id = "00000000-0000-0000-0000-000000000000";
};
struct ChangesPage {
  std::vector<v1::Touchpoint> touchpoints;
  ChangeCursor next;
  bool caught_up = false;
};

// What a mutation did, for its event.
enum class ChangeKind { kUpdated, kDeleted };
struct Change {
  ChangeKind kind = ChangeKind::kUpdated;
  std::vector<std::string> fields;  // kUpdated: the update mask paths.
};

// Reads and writes are confined to what a scope may see: a touchpoint is visible iff its
// customer (in the customer read model) is, as auth::Scope decides. What is not visible is
// reported exactly as what does not exist.
class TouchpointStore {
 public:
  virtual ~TouchpointStore() = default;

  // Inserts the touchpoints, each with its TouchpointRecorded event and its
  // "touchpoint.recorded" audit event, in ONE transaction (a group commit). Per touchpoint, in
  // order: the recorded touchpoint; for a request id or (source_system, external_id) seen
  // before with the same fingerprint, the touchpoint recorded then (replayed); ALREADY_EXISTS
  // for one seen with another fingerprint; INVALID_ARGUMENT when the customer is unknown,
  // not visible to the caller's scope (the same error), or deleted, or a contact person is not
  // the customer's; PERMISSION_DENIED when the scope sees the customer but may not write its
  // touchpoints (a READ share). A touchpoint of a merged customer is recorded for the
  // survivor. When the transaction itself fails, returns that failure and nothing is written.
  virtual absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> RecordMany(
      const std::vector<NewTouchpoint>& touchpoints) = 0;

  // NOT_FOUND if the tenant has no such touchpoint or `scope` does not see its customer
  // (soft-deleted ones are found).
  virtual absl::StatusOr<v1::Touchpoint> Get(const auth::Scope& scope, std::string_view tenant_id,
                                             std::string_view touchpoint_id) = 0;

  // Locks the touchpoint, lets `mutate` change it (a non-OK status aborts without writing),
  // re-checks its customer if that changed (which must be visible to the caller), and stores
  // it with the next version, update_time = context.now, its event and its audit event.
  // NOT_FOUND if there is no such touchpoint or the caller's scope does not see its customer;
  // PERMISSION_DENIED, before `mutate` runs, if it sees the customer but may not write its
  // touchpoints (a READ share).
  using Mutation = std::function<absl::StatusOr<Change>(v1::Touchpoint&)>;
  virtual absl::StatusOr<v1::Touchpoint> Mutate(const WriteContext& context,
                                                std::string_view touchpoint_id,
                                                std::string_view field_prefix,
                                                const Mutation& mutate) = 0;

  // One page of a customer's timeline (not deleted), newest first, after `after`. NOT_FOUND
  // when the customer is not in the read model or `scope` does not see it.
  virtual absl::StatusOr<TouchpointPage> List(const auth::Scope& scope, std::string_view tenant_id,
                                              std::string_view customer_id,
                                              const v1::TouchpointFilter& filter, int page_size,
                                              const std::optional<TimeCursor>& after) = 0;

  // One page of matches (not deleted) among the touchpoints `scope` sees.
  virtual absl::StatusOr<TouchpointPage> Search(const auth::Scope& scope,
                                                std::string_view tenant_id,
                                                const SearchSpec& spec) = 0;

  // Statistics over [start, end) of occur_time of the touchpoints `scope` sees; the filter's
  // time range is ignored.
  virtual absl::StatusOr<v1::GetTouchpointStatsResponse> Stats(const auth::Scope& scope,
                                                               std::string_view tenant_id,
                                                               std::string_view customer_id,
                                                               const v1::TouchpointFilter& filter,
                                                               absl::Time start, absl::Time end,
                                                               std::string_view time_zone) = 0;

  // Touchpoints written by transactions after `after`, oldest first; only transactions older
  // than every running one, so a later call never finds an earlier change. Those `scope` does
  // not see are passed over (the cursor moves past them) but not returned, so a page may hold
  // fewer than page_size touchpoints without being the last. With `customer_id`: NOT_FOUND
  // when the read model does not have it or `scope` does not see it, as List.
  virtual absl::StatusOr<ChangesPage> Changes(const auth::Scope& scope, std::string_view tenant_id,
                                              std::string_view customer_id,
                                              const ChangeCursor& after, int page_size) = 0;

  // Adds `customer` as its owner (contacts) reported it to the customer read model, for a
  // customer whose event has not arrived yet. Never replaces what the events brought: the row
  // takes the customer's version minus one, so that the event of that very version still
  // applies, and a row of that version or newer is left alone.
  virtual absl::Status LearnCustomer(std::string_view tenant_id,
                                     const contacts::v1::Customer& customer) = 0;
};

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_STORE_H_
