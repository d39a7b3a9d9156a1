// TouchpointStore in memory, for tests of what sits above it (TouchpointManager) without
// PostgreSQL. Writes follow the same decisions as PgTouchpointStore (record_decision.h) and
// emit the same events (touchpoint_events.h), kept in events() instead of an outbox; every call
// is atomic. Full-text search is PostgreSQL's (its tsquery language) and is not imitated:
// Search returns UNIMPLEMENTED, and the *_pgtest suites cover it. Thread-safe.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TESTING_IN_MEMORY_TOUCHPOINT_STORE_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TESTING_IN_MEMORY_TOUCHPOINT_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/touchpoints/record_decision.h"
#include "services/touchpoints/touchpoint_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::touchpoints::testing {

class InMemoryTouchpointStore final : public TouchpointStore {
 public:
  // Puts `customer` into the customer read model of `tenant_id` as its owner's event would
  // (replacing what was there).
  void PutCustomer(const std::string& tenant_id, const contacts::v1::Customer& customer);
  // Shares the customer with `grantee` ("team:<id>" or "partner:<id>"), for editing or not.
  void ShareCustomer(const std::string& tenant_id, const std::string& customer_id,
                     std::string grantee, bool edit);

  // The events writes committed, oldest first: touchpoint events and audit entries.
  std::vector<events::v1::EventEnvelope> events() const;
  // The touchpoints stored, deleted ones included.
  size_t size() const;

  absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> RecordMany(
      const std::vector<NewTouchpoint>& touchpoints) override;
  absl::StatusOr<v1::Touchpoint> Get(const auth::Scope& scope, std::string_view tenant_id,
                                     std::string_view touchpoint_id) override;
  absl::StatusOr<v1::Touchpoint> Mutate(const WriteContext& context, std::string_view touchpoint_id,
                                        std::string_view field_prefix,
                                        const Mutation& mutate) override;
  absl::StatusOr<TouchpointPage> List(const auth::Scope& scope, std::string_view tenant_id,
                                      std::string_view customer_id,
                                      const v1::TouchpointFilter& filter, int page_size,
                                      const std::optional<TimeCursor>& after) override;
  absl::StatusOr<TouchpointPage> Search(const auth::Scope& scope, std::string_view tenant_id,
                                        const SearchSpec& spec) override;
  absl::StatusOr<v1::GetTouchpointStatsResponse> Stats(const auth::Scope& scope,
                                                       std::string_view tenant_id,
                                                       std::string_view customer_id,
                                                       const v1::TouchpointFilter& filter,
                                                       absl::Time start, absl::Time end,
                                                       std::string_view time_zone) override;
  absl::StatusOr<ChangesPage> Changes(const auth::Scope& scope, std::string_view tenant_id,
                                      std::string_view customer_id, const ChangeCursor& after,
                                      int page_size) override;
  absl::Status LearnCustomer(std::string_view tenant_id,
                             const contacts::v1::Customer& customer) override;

 private:
  using Id = std::pair<std::string, std::string>;  // (tenant, id)
  struct Customer {
    CustomerState state;
    int64_t version = 0;
  };
  struct Row {
    v1::Touchpoint touchpoint;
    std::string origin_customer_id;
    uint64_t change = 0;  // Position in the change feed (the PostgreSQL store's change_xid).
  };
  // The customers `ids` of `tenant` and the survivors they were merged into.
  CustomerStates LoadCustomers(const std::string& tenant, std::vector<std::string> ids) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The attributes of a customer of the read model; only its id when the model lacks it.
  auth::CustomerAttributes AttributesOf(const std::string& tenant,
                                        const std::string& customer_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NOT_FOUND unless the model has the customer and `scope` reads it.
  absl::Status RequireVisibleCustomer(const auth::Scope& scope, const std::string& tenant,
                                      const std::string& customer_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<Id, Customer> customers_ ABSL_GUARDED_BY(mu_);
  std::map<Id, Row> rows_ ABSL_GUARDED_BY(mu_);
  // (tenant, request_id) -> what its first request recorded (idempotency_keys).
  std::map<Id, idempotency::StoredRequest> requests_ ABSL_GUARDED_BY(mu_);
  // (tenant, source key) -> the stored source key (touchpoint_keys).
  std::map<Id, StoredSourceKey> sources_ ABSL_GUARDED_BY(mu_);
  uint64_t last_change_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<events::v1::EventEnvelope> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::touchpoints::testing

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TESTING_IN_MEMORY_TOUCHPOINT_STORE_H_
