#include "services/journeys/definitions/definition_records.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/status/errors.h"

namespace touchline::journeys {

events::v1::EventEnvelope CreatedAuditEntry(const NewJourney& journey) {
  return audit::MakeAuditEnvelope(journey.context.caller, "journey.created", kJourneyResource,
                                  journey.journey.journey_id(), journey.fields, "version 1");
}

events::v1::EventEnvelope WriteAuditEntry(const WriteContext& context, std::string_view journey_id,
                                          const JourneyWrite& write) {
  return audit::MakeAuditEnvelope(context.caller, write.action, kJourneyResource,
                                  std::string(journey_id), write.fields, write.detail);
}

idempotency::Key CreateKey(const NewJourney& journey) {
  return idempotency::Key{.tenant_id = journey.context.caller.tenant_id,
                          .request_id = journey.request_id,
                          .method = kCreateJourneyMethod,
                          .fingerprint = journey.fingerprint};
}

absl::StatusOr<std::vector<bool>> StampEtags(const std::vector<v1::Journey>& stored,
                                             JourneyWrite& write) {
  std::vector<bool> inserted;
  for (v1::Journey& version : write.versions) {
    const int number = version.version();
    const int latest = stored.empty() ? 0 : stored.back().version();
    if (number == latest + 1) {
      version.set_etag("1");
      inserted.push_back(true);
      continue;
    }
    const auto it = std::find_if(stored.begin(), stored.end(),
                                 [number](const v1::Journey& s) { return s.version() == number; });
    int64_t revision = 0;
    if (it == stored.end() || !absl::SimpleAtoi(it->etag(), &revision)) {
      return absl::InternalError(
          absl::StrCat("journey ", version.journey_id(), " has no version ", number, " to write"));
    }
    version.set_etag(std::to_string(revision + 1));
    inserted.push_back(false);
  }
  return inserted;
}

absl::Status JourneyNotFound(std::string_view journey_id, int version) {
  if (version > 0) {
    return absl::NotFoundError(
        absl::StrCat("journey ", std::string(journey_id), " has no version ", version));
  }
  return absl::NotFoundError(absl::StrCat("journey ", std::string(journey_id), " not found"));
}
}  // namespace touchline::journeys
