// The business rules of the interaction log: validation and normalisation, ids and times,
// idempotency fingerprints, optimistic concurrency, soft delete, paging and search queries,
// and the caller's scope on every path: the write permission and writable fields, the field
// rules on every touchpoint returned (and on what search and statistics reveal), and the audit
// of sensitive reads. Row visibility is the store's (in its SQL). Storage is behind
// TouchpointStore; nothing here knows about gRPC transport or SQL.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_MANAGER_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_MANAGER_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/customers/customer_directory.h"
#include "common/paging/page_token.h"
#include "common/server/batcher.h"
#include "services/touchpoints/touchpoint_store.h"
#include "services/touchpoints/touchpoint_validation.h"
#include "touchline/touchpoints/v1/touchpoints_service.pb.h"

namespace touchline::touchpoints {

using ::touchline::customers::CustomerDirectory;

inline constexpr int kMaxBatchRecord = 1000;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxSearchPageSize = 100;
inline constexpr int kDefaultSearchPageSize = 20;
inline constexpr int kDefaultChangesPageSize = 100;
inline constexpr absl::Duration kMaxStatsRange = absl::Hours(24 * 366);
// Touchpoint ids named in the detail of one "touchpoint.read_sensitive" audit entry.
inline constexpr size_t kMaxAuditedIds = 50;

// How RecordTouchpoint batches concurrent calls (see server::Batcher): `threads` workers each
// take up to max_batch waiting calls into one transaction; beyond max_queue waiting calls,
// RESOURCE_EXHAUSTED.
struct BatchOptions {
  int threads = 2;
  size_t max_batch = 128;
  size_t max_queue = 4096;
};

class TouchpointManager {
 public:
  using Clock = std::function<absl::Time()>;
  using RecordCallback = std::function<void(absl::StatusOr<Recorded>)>;

  // `audit` receives the sensitive reads; both pointers must outlive the manager.
  // `page_tokens` seals the page tokens and change-feed cursors. `customers`, when given (it
  // must outlive the manager too), is asked for a customer the read model does not know before
  // a touchpoint for it is refused.
  TouchpointManager(TouchpointStore* store, audit::AuditPublisher* audit,
                    ValidationOptions validation, paging::PageTokens page_tokens, Clock clock,
                    BatchOptions batching = {}, CustomerDirectory* customers = nullptr);

  // Every method needs caller.scope (INTERNAL "no scope" without one: a wiring bug). Writes
  // need PERMISSION_TOUCHPOINTS_WRITE and fields the scope may write (else PERMISSION_DENIED);
  // a touchpoint or customer the scope does not see is reported as one that does not exist.
  // Every touchpoint returned has the scope's field rules applied. A field the scope does not
  // see in clear (hidden or masked) is never matched by a search nor shown in a snippet, is
  // left out of statistics, and filtering on it is PERMISSION_DENIED.

  // Never blocks: checks the request on the calling thread and queues it; `done` runs on a
  // batch worker (or at once for a bad request or overload). Concurrent calls share one
  // transaction.
  void Record(const auth::RequestContext& caller, const v1::RecordTouchpointRequest& request,
              RecordCallback done);
  // Each request on its own: bad ones get their reasons, the rest are recorded together.
  absl::StatusOr<v1::BatchRecordTouchpointsResponse> BatchRecord(
      const auth::RequestContext& caller, const v1::BatchRecordTouchpointsRequest& request);
  absl::StatusOr<v1::Touchpoint> Get(const auth::RequestContext& caller,
                                     std::string_view touchpoint_id);
  absl::StatusOr<v1::Touchpoint> Update(const auth::RequestContext& caller,
                                        const v1::UpdateTouchpointRequest& request);
  absl::StatusOr<v1::Touchpoint> Delete(const auth::RequestContext& caller,
                                        const v1::DeleteTouchpointRequest& request);
  absl::StatusOr<v1::ListTouchpointsResponse> List(const auth::RequestContext& caller,
                                                   const v1::ListTouchpointsRequest& request);
  absl::StatusOr<v1::SearchTouchpointsResponse> Search(
      const auth::RequestContext& caller, const v1::SearchTouchpointsRequest& request);
  absl::StatusOr<v1::GetTouchpointStatsResponse> Stats(
      const auth::RequestContext& caller, const v1::GetTouchpointStatsRequest& request);
  absl::StatusOr<v1::ListTouchpointChangesResponse> Changes(
      const auth::RequestContext& caller, const v1::ListTouchpointChangesRequest& request);

 private:
  struct PendingRecord {
    NewTouchpoint touchpoint;
    RecordCallback done;
  };

  WriteContext NewWriteContext(const auth::RequestContext& caller) const;
  // Validates one request and makes it ready to insert; `prefix` is its path in the call.
  absl::StatusOr<NewTouchpoint> Prepare(const WriteContext& context,
                                        const v1::RecordTouchpointRequest& request,
                                        const std::string& prefix) const;
  void RecordBatch(std::vector<PendingRecord>& batch);
  // store_->RecordMany, then once more for the touchpoints refused only because the read model
  // does not know their customer, after asking customers_ (on each caller's behalf) and
  // storing what it said.
  absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> RecordMany(
      const std::vector<NewTouchpoint>& touchpoints);
  // Puts `touchpoints`, the output of one call, through the caller's field rules
  // (common/disclosure) and publishes one audit entry naming the sensitive fields it left
  // readable (if any): of the touchpoint when one showed them, else listing their ids.
  void Disclose(const auth::RequestContext& caller, absl::Span<v1::Touchpoint* const> touchpoints);

  TouchpointStore* store_;
  audit::AuditPublisher* audit_;
  ValidationOptions validation_;
  const paging::PageTokens page_tokens_;
  Clock clock_;
  CustomerDirectory* customers_;  // May be null: no lookups.
  // Last: its workers call the members above and are joined first on destruction.
  server::Batcher<PendingRecord> writer_;
};

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_MANAGER_H_
