// TouchpointStore on PostgreSQL (migrations/, statements in sql.h). Visibility is decided over
// the customer read model (customer_events.h keeps it) and the shares read model
// (enforcement::SharesMigrations(), applied to the same schema). What to write is decided in
// record_decision.h and touchpoint_events.h; this file only reads and writes.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_PG_TOUCHPOINT_STORE_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_PG_TOUCHPOINT_STORE_H_

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/events/topics.h"
#include "common/pg/pool.h"
#include "services/touchpoints/touchpoint_store.h"

namespace touchline::touchpoints {

using ::touchline::events::kTouchpointsTopic;

class PgTouchpointStore final : public TouchpointStore {
 public:
  // `pool` (search_path = the service's schema) must outlive the store. `events_written`
  // runs after a commit that wrote events (e.g. OutboxRelay::Wake).
  PgTouchpointStore(pg::Pool* pool, std::function<void()> events_written);

  // The statements to prepare on every connection of `pool` (pg::PoolOptions::prepared): the
  // hot reads. With ConnectionSettings() they are planned once per connection: a custom
  // plan over every partition costs ~3 ms per call at 28 partitions, the generic one 0.03 ms
  // (these statements have no partition key to prune by, so nothing is lost).
  static std::vector<std::pair<std::string, std::string>> PreparedStatements();
  static std::vector<std::pair<std::string, std::string>> ConnectionSettings() {
    return {{"plan_cache_mode", "force_generic_plan"}};
  }

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

  // Creates the monthly partitions of [first, last] that are missing; months before the
  // archive's end (migrations/0002_history_archive.sql) are the archive partition's and get
  // none. Writes call it for the months they touch; the service also calls it on a timer for
  // the months ahead.
  absl::Status EnsurePartitions(absl::Time first, absl::Time last);
  // EnsurePartitions from now to `months` ahead (of 31 days), for the service's timer.
  absl::Status EnsurePartitionsAhead(int months);

  // Rebuilds the search vectors of the rows written before migration 0003 (which did not
  // index needs, concerns and interests), `batch` rows a transaction, until none is left or
  // `stop` returns true. Returns how many it rebuilt (and logs it, when any).
  absl::StatusOr<int64_t> IndexListsOfOlderRows(int batch, const std::function<bool()>& stop);

 private:
  absl::Status EnsureMonths(const std::vector<absl::Time>& times);

  pg::Pool* pool_;
  std::function<void()> events_written_;
  absl::Mutex months_mu_;
  std::set<int64_t> months_ ABSL_GUARDED_BY(months_mu_);  // Known partitions: year*12+month-1.
};

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_PG_TOUCHPOINT_STORE_H_
