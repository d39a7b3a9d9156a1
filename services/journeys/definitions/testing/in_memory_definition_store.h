// DefinitionStore in memory, for tests of what sits above it (DefinitionManager) without
// PostgreSQL: the same contract as PgDefinitionStore (versions, etags, idempotency keys, the
// entry passes a publish queues, one audit entry per write), every call atomic. Display names
// are ordered by ICU's zh collation, as PostgreSQL's "zh-Hans-x-icu". Thread-safe.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_IN_MEMORY_DEFINITION_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_IN_MEMORY_DEFINITION_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idempotency/idempotency.h"
#include "services/journeys/definitions/definition_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::journeys::testing {

// A queued pass entering the customers of a published version.
struct EntryPass {
  std::string tenant_id;
  std::string journey_id;
  int version = 0;
  bool operator==(const EntryPass&) const = default;
};

class InMemoryDefinitionStore final : public DefinitionStore {
 public:
  // The audit entries writes committed, oldest first.
  std::vector<events::v1::EventEnvelope> audit_entries() const;
  // The entry passes publishes queued, oldest first.
  std::vector<EntryPass> entry_passes() const;

  absl::StatusOr<v1::Journey> Create(const NewJourney& journey) override;
  absl::StatusOr<v1::Journey> Get(std::string_view tenant_id, std::string_view journey_id,
                                  int version) override;
  absl::StatusOr<JourneyPage> List(std::string_view tenant_id, bool show_archived, int page_size,
                                   const std::optional<JourneyCursor>& after) override;
  absl::StatusOr<std::vector<v1::Journey>> ListPublished(std::string_view tenant_id) override;
  absl::StatusOr<v1::Journey> Write(const WriteContext& context, std::string_view journey_id,
                                    const Decide& decide) override;

 private:
  using Id = std::pair<std::string, std::string>;  // (tenant, journey id)

  mutable absl::Mutex mu_;
  // Every version of each journey, oldest first.
  std::map<Id, std::vector<v1::Journey>> journeys_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> what the first request recorded.
  std::map<Id, idempotency::StoredRequest> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> audit_entries_ ABSL_GUARDED_BY(mu_);
  std::vector<EntryPass> entry_passes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::journeys::testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_IN_MEMORY_DEFINITION_STORE_H_
