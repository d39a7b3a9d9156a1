// Storage of journey definitions: every version of every journey (a row of `journeys`, its
// body the v1::Journey as stored, output-only fields and etag included), and the entry passes
// a publish queues (`journey_entry_passes`). Every method is one transaction: what a write
// stores, its idempotency key, its audit entry and its entry pass commit together or not at
// all. Every method is scoped to one tenant. Errors are absl::Status (the mapped PostgreSQL
// error: UNAVAILABLE, DEADLINE_EXCEEDED ...); never a libpqxx exception.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys {

// Who asked for a write: its tenant, actor and request id (x-request-id, not the idempotency
// key) go into its audit entry.
struct WriteContext {
  auth::RequestContext caller;
  absl::Time now;  // Truncated to microseconds, as PostgreSQL stores it.
};

// A validated journey to insert: journey_id, version 1, state DRAFT, create_time and
// update_time set (the store sets the etag).
struct NewJourney {
  WriteContext context;
  v1::Journey journey;
  // The idempotency key (CreateJourneyRequest.request_id); empty for none.
  std::string request_id;
  // Tells a retry from another request reusing the key (ids::Fingerprint of the journey as
  // the client sent it).
  std::string fingerprint;
  // The paths of the fields the client set, for the audit entry.
  std::vector<std::string> fields;
};

// What a write of an existing journey stores and records, as the manager decided it from the
// journey's versions.
struct JourneyWrite {
  // The versions to store, the one the write returns last. A version the journey has is
  // replaced; any other is inserted (it must be the next number). Empty: nothing is written.
  std::vector<v1::Journey> versions;
  // Whether versions.back() was published by this write: a pass that enters the customers its
  // entry rule selects is queued for it.
  bool publishes = false;
  // The audit entry: e.g. "journey.updated", the fields changed, and a detail.
  std::string action;
  std::vector<std::string> fields;
  std::string detail;
};

// Where a page of ListJourneys ended: the latest version's display name and the journey id.
struct JourneyCursor {
  std::string display_name;
  std::string journey_id;
};

struct JourneyPage {
  std::vector<v1::Journey> journeys;
  std::optional<JourneyCursor> next;  // Set when more journeys may follow.
};

class DefinitionStore {
 public:
  virtual ~DefinitionStore() = default;

  // Inserts the journey with its "journey.created" audit entry; returns it with etag "1".
  // With a request id the key is claimed in the same transaction: a key used before with the
  // same fingerprint returns the journey the first call created, as its latest version is
  // now, and writes nothing; with another fingerprint (or by another method) ALREADY_EXISTS
  // with ErrorInfo reason REQUEST_ID_REUSED.
  virtual absl::StatusOr<v1::Journey> Create(const NewJourney& journey) = 0;

  // One version of a journey; the latest when `version` is 0. NOT_FOUND when the tenant has
  // no such journey or version.
  virtual absl::StatusOr<v1::Journey> Get(std::string_view tenant_id, std::string_view journey_id,
                                          int version) = 0;

  // One page of at most `page_size` journeys, the latest version of each, by display name in
  // the zh collation (pinyin order for Chinese, Latin alongside) and then journey id, after
  // `after`. Archived journeys only with `show_archived`.
  virtual absl::StatusOr<JourneyPage> List(std::string_view tenant_id, bool show_archived,
                                           int page_size,
                                           const std::optional<JourneyCursor>& after) = 0;

  // Every version in state PUBLISHED of every journey of the tenant, superseded ones included
  // (customers stay on the version they entered), by journey id and version. For the engine
  // that places customers.
  virtual absl::StatusOr<std::vector<v1::Journey>> ListPublished(std::string_view tenant_id) = 0;

  // Locks the journey, hands every version of it (oldest first, etags set) to `decide`, and
  // stores what it returns: each version written gets the next etag (a new one "1"), with
  // update_time as `decide` set it; with the write's audit entry and, when it publishes, the
  // entry pass of (tenant, journey, version). Returns the last version written, or the latest
  // version when the write is empty. NOT_FOUND when the tenant has no such journey; an error of
  // `decide` aborts the transaction and is returned. Concurrent writes of one journey run one
  // after the other, each deciding on what the one before committed.
  using Decide = std::function<absl::StatusOr<JourneyWrite>(const std::vector<v1::Journey>&)>;
  virtual absl::StatusOr<v1::Journey> Write(const WriteContext& context,
                                            std::string_view journey_id, const Decide& decide) = 0;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_STORE_H_
