#include "services/journeys/definitions/testing/in_memory_definition_store.h"

#include <unicode/coll.h>
#include <unicode/locid.h>
#include <unicode/stringpiece.h>

#include <algorithm>
#include <memory>

#include "common/idempotency/idempotency.h"
#include "common/status/macros.h"
#include "services/journeys/definitions/definition_records.h"

namespace touchline::journeys::testing {
namespace {

// ICU's zh collation, as PostgreSQL's "zh-Hans-x-icu"; ties by bytes, as PostgreSQL's
// deterministic collations break them.
bool NameBefore(std::string_view a, std::string_view b) {
  static const icu::Collator* const collator = [] {
    UErrorCode error = U_ZERO_ERROR;
    icu::Collator* made =
        icu::Collator::createInstance(icu::Locale::createFromName("zh_Hans"), error);
    return U_SUCCESS(error) ? made : nullptr;
  }();
  if (collator != nullptr) {
    UErrorCode error = U_ZERO_ERROR;
    const UCollationResult order =
        collator->compareUTF8(icu::StringPiece(a.data(), static_cast<int32_t>(a.size())),
                              icu::StringPiece(b.data(), static_cast<int32_t>(b.size())), error);
    if (U_SUCCESS(error) && order != UCOL_EQUAL) return order == UCOL_LESS;
  }
  return a < b;
}

bool Before(const JourneyCursor& a, const JourneyCursor& b) {
  if (NameBefore(a.display_name, b.display_name)) return true;
  if (NameBefore(b.display_name, a.display_name)) return false;
  return a.journey_id < b.journey_id;
}

JourneyCursor CursorOf(const v1::Journey& journey) {
  return JourneyCursor{.display_name = journey.display_name(), .journey_id = journey.journey_id()};
}

}  // namespace

std::vector<events::v1::EventEnvelope> InMemoryDefinitionStore::audit_entries() const {
  absl::MutexLock lock(&mu_);
  return audit_entries_;
}

std::vector<EntryPass> InMemoryDefinitionStore::entry_passes() const {
  absl::MutexLock lock(&mu_);
  return entry_passes_;
}

absl::StatusOr<v1::Journey> InMemoryDefinitionStore::Create(const NewJourney& journey) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant_id = journey.context.caller.tenant_id;
  if (!journey.request_id.empty()) {
    const idempotency::Key key = CreateKey(journey);
    const auto stored = keys_.find({tenant_id, journey.request_id});
    if (stored != keys_.end()) {
      switch (idempotency::Decide(stored->second, key.method, key.fingerprint)) {
        case idempotency::Decision::kConflict:
          return idempotency::RequestIdReused(journey.request_id);
        case idempotency::Decision::kReplay: {
          const auto versions = journeys_.find({tenant_id, stored->second.result});
          if (versions == journeys_.end()) return JourneyNotFound(stored->second.result);
          return versions->second.back();
        }
        case idempotency::Decision::kNew:
          break;
      }
    }
    keys_[{tenant_id, journey.request_id}] =
        idempotency::StoredRequest{.method = key.method,
                                   .fingerprint = key.fingerprint,
                                   .result = journey.journey.journey_id()};
  }
  v1::Journey created = journey.journey;
  created.set_etag("1");
  journeys_[{tenant_id, created.journey_id()}] = {created};
  audit_entries_.push_back(CreatedAuditEntry(journey));
  return created;
}

absl::StatusOr<v1::Journey> InMemoryDefinitionStore::Get(std::string_view tenant_id,
                                                         std::string_view journey_id, int version) {
  absl::MutexLock lock(&mu_);
  const auto it = journeys_.find({std::string(tenant_id), std::string(journey_id)});
  if (it == journeys_.end()) return JourneyNotFound(journey_id);
  if (version == 0) return it->second.back();
  for (const v1::Journey& stored : it->second) {
    if (stored.version() == version) return stored;
  }
  return JourneyNotFound(journey_id, version);
}

absl::StatusOr<JourneyPage> InMemoryDefinitionStore::List(
    std::string_view tenant_id, bool show_archived, int page_size,
    const std::optional<JourneyCursor>& after) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Journey> latest;
  for (const auto& [id, versions] : journeys_) {
    const v1::Journey& journey = versions.back();
    if (id.first != tenant_id) continue;
    if (!show_archived && journey.state() == v1::JOURNEY_STATE_ARCHIVED) continue;
    if (after && !Before(*after, CursorOf(journey))) continue;
    latest.push_back(journey);
  }
  std::sort(latest.begin(), latest.end(), [](const v1::Journey& a, const v1::Journey& b) {
    return Before(CursorOf(a), CursorOf(b));
  });
  JourneyPage page;
  if (latest.size() > static_cast<size_t>(page_size)) {
    latest.resize(static_cast<size_t>(page_size));
    page.next = CursorOf(latest.back());
  }
  page.journeys = std::move(latest);
  return page;
}

absl::StatusOr<std::vector<v1::Journey>> InMemoryDefinitionStore::ListPublished(
    std::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Journey> published;
  for (const auto& [id, versions] : journeys_) {
    if (id.first != tenant_id) continue;
    for (const v1::Journey& version : versions) {
      if (version.state() == v1::JOURNEY_STATE_PUBLISHED) published.push_back(version);
    }
  }
  return published;
}

absl::StatusOr<v1::Journey> InMemoryDefinitionStore::Write(const WriteContext& context,
                                                           std::string_view journey_id,
                                                           const Decide& decide) {
  absl::MutexLock lock(&mu_);
  const auto it = journeys_.find({context.caller.tenant_id, std::string(journey_id)});
  if (it == journeys_.end()) return JourneyNotFound(journey_id);
  std::vector<v1::Journey>& versions = it->second;
  TL_ASSIGN_OR_RETURN(JourneyWrite write, decide(versions));
  if (write.versions.empty()) return versions.back();
  TL_ASSIGN_OR_RETURN(const std::vector<bool> inserted, StampEtags(versions, write));
  for (size_t i = 0; i < write.versions.size(); ++i) {
    const v1::Journey& version = write.versions[i];
    if (inserted[i]) {
      versions.push_back(version);
    } else {
      for (v1::Journey& stored : versions) {
        if (stored.version() == version.version()) stored = version;
      }
    }
  }
  const v1::Journey& result = write.versions.back();
  if (write.publishes) {
    entry_passes_.push_back(EntryPass{.tenant_id = context.caller.tenant_id,
                                      .journey_id = std::string(journey_id),
                                      .version = result.version()});
  }
  audit_entries_.push_back(WriteAuditEntry(context, journey_id, write));
  return result;
}

}  // namespace touchline::journeys::testing
