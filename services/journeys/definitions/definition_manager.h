// The rules of journey definitions: the caller's permission, validation, ids and times,
// request-id fingerprints, etags, update masks, versions (a change to a published journey is
// the next version's draft), publishing and archiving, and page tokens. Storage is behind
// DefinitionStore; nothing here knows about gRPC transport or SQL.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_MANAGER_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_MANAGER_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "services/journeys/definitions/definition_store.h"
#include "touchline/journeys/v1/journeys_service.pb.h"

namespace touchline::journeys {

inline constexpr int kMaxJourneyPageSize = 200;
inline constexpr int kDefaultJourneyPageSize = 50;

class DefinitionManager {
 public:
  using Clock = std::function<absl::Time()>;

  // `store` is not owned and must outlive the manager. `page_tokens` seals ListJourneys'
  // tokens; `clock` stamps create, update and publish times.
  DefinitionManager(DefinitionStore* store, paging::PageTokens page_tokens, Clock clock);

  // Every method needs caller.scope (INTERNAL "no scope" without one: a wiring defect). Writes
  // need PERMISSION_ADMINISTER (PERMISSION_DENIED otherwise, before anything is looked at);
  // reads need nothing more. Invalid input is INVALID_ARGUMENT with a google.rpc.BadRequest
  // naming each bad field ("journey.stages[2].stage_id", "update_mask.paths[0]"), a journey id
  // that is not a UUID included; a journey the tenant does not have is NOT_FOUND. Output-only
  // fields of a journey given are ignored.

  // Creates version 1 as a draft. A request_id (at most 128 characters) makes a retry return
  // the journey the first call created; the same id with another journey is ALREADY_EXISTS
  // (REQUEST_ID_REUSED).
  absl::StatusOr<v1::Journey> Create(const auth::RequestContext& caller,
                                     const v1::CreateJourneyRequest& request);
  // The version asked for, the latest for 0. NOT_FOUND.
  absl::StatusOr<v1::Journey> Get(const auth::RequestContext& caller,
                                  const v1::GetJourneyRequest& request);
  // The latest version of each journey by display name (pinyin order for Chinese); archived
  // ones with show_archived. page_size 0 to 200 (0: 50); a page_token of another query or
  // another service is INVALID_ARGUMENT.
  absl::StatusOr<v1::ListJourneysResponse> List(const auth::RequestContext& caller,
                                                const v1::ListJourneysRequest& request);
  // Applies the fields of update_mask (display_name, description, stages, entry_rule,
  // mapping_rules, allow_backward) to the latest version when it is a draft, or to a new draft
  // (the next version) copied from it when it is published; the result is validated as a
  // whole. FAILED_PRECONDITION for an archived journey; ABORTED when journey.etag is set and
  // is not the latest version's.
  absl::StatusOr<v1::Journey> Update(const auth::RequestContext& caller,
                                     const v1::UpdateJourneyRequest& request);
  // Publishes the draft (the latest version): state PUBLISHED, publish_time now, and a pass
  // entering the customers its entry rule selects is queued. Earlier published versions stay
  // published. FAILED_PRECONDITION when there is no draft; ABORTED when etag is set and is not
  // the draft's.
  absl::StatusOr<v1::Journey> Publish(const auth::RequestContext& caller,
                                      const v1::PublishJourneyRequest& request);
  // Archives every version; returns the latest. Archiving an archived journey changes nothing
  // and returns it.
  absl::StatusOr<v1::Journey> Archive(const auth::RequestContext& caller,
                                      const v1::ArchiveJourneyRequest& request);

 private:
  // What a write of one journey stores, from its versions (oldest first) and the time now.
  using Decide =
      std::function<absl::StatusOr<JourneyWrite>(const std::vector<v1::Journey>&, absl::Time now)>;

  WriteContext NewWriteContext(const auth::RequestContext& caller) const;
  // Checks `journey_id` (INVALID_ARGUMENT naming `field`) and has the store write it as
  // `decide` says. The caller's permission is checked before.
  absl::StatusOr<v1::Journey> Write(const auth::RequestContext& caller, std::string_view journey_id,
                                    std::string field, const Decide& decide);

  DefinitionStore* store_;
  const paging::PageTokens page_tokens_;
  Clock clock_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_MANAGER_H_
