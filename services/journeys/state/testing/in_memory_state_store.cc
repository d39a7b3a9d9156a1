#include "services/journeys/state/testing/in_memory_state_store.h"

#include <unicode/coll.h>
#include <unicode/locid.h>
#include <unicode/sortkey.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "services/journeys/facts.pb.h"
#include "services/journeys/state/visit_rows.h"

namespace touchline::journeys::testing {
namespace {

constexpr char kMoveMethod[] = "MoveCustomer";

// The collation key of `name` under ICU's zh collation (PostgreSQL's "zh-Hans-x-icu"); the
// name's own bytes when ICU has no such collator.
std::string NameKey(const std::string& name) {
  static const icu::Collator* const zh = [] {
    UErrorCode error = U_ZERO_ERROR;
    std::unique_ptr<icu::Collator> made(
        icu::Collator::createInstance(icu::Locale::createFromName("zh_Hans"), error));
    return U_SUCCESS(error) ? made.release() : nullptr;
  }();
  if (zh == nullptr) return name;
  icu::CollationKey key;
  UErrorCode error = U_ZERO_ERROR;
  zh->getCollationKey(icu::UnicodeString::fromUTF8(name), key, error);
  if (U_FAILURE(error)) return name;
  int32_t length = 0;
  const uint8_t* bytes = key.getByteArray(length);
  return std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
}

absl::Status NotOnJourney(const std::string& customer_id, const std::string& journey_id) {
  return absl::NotFoundError(
      absl::StrCat("customer ", customer_id, " is not on journey ", journey_id));
}

}  // namespace

void InMemoryJourneyStateStore::AddCustomer(const std::string& tenant_id,
                                            auth::CustomerAttributes customer) {
  absl::MutexLock lock(&mu_);
  const std::string id = customer.customer_id;
  customers_[{tenant_id, id}] = std::move(customer);
}

void InMemoryJourneyStateStore::AddJourney(const std::string& tenant_id, v1::Journey journey) {
  absl::MutexLock lock(&mu_);
  const int version = journey.version();
  journeys_[{tenant_id, journey.journey_id()}][version] = std::move(journey);
}

absl::Status InMemoryJourneyStateStore::AddMember(const std::string& tenant_id,
                                                  const std::string& customer_id,
                                                  const std::string& journey_id, int version,
                                                  std::vector<Visit> visits) {
  absl::MutexLock lock(&mu_);
  if (VersionOf({tenant_id, journey_id}, version) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("journey ", journey_id, " has no version ", version, " in the store"));
  }
  if (visits.empty()) return absl::FailedPreconditionError("a member needs a visit");
  members_[{tenant_id, customer_id, journey_id}] =
      Member{.version = version, .visits = std::move(visits)};
  return absl::OkStatus();
}

std::vector<events::v1::EventEnvelope> InMemoryJourneyStateStore::audit_entries() const {
  absl::MutexLock lock(&mu_);
  return audit_entries_;
}

const v1::Journey* InMemoryJourneyStateStore::VersionOf(const JourneyKey& journey,
                                                        int version) const {
  const auto versions = journeys_.find(journey);
  if (versions == journeys_.end()) return nullptr;
  const auto found = versions->second.find(version);
  return found == versions->second.end() ? nullptr : &found->second;
}

std::optional<v1::CustomerJourney> InMemoryJourneyStateStore::PlaceOf(const MemberKey& key,
                                                                      const Member& member) const {
  const auto& [tenant, customer, journey_id] = key;
  const v1::Journey* journey = VersionOf({tenant, journey_id}, member.version);
  if (journey == nullptr) return std::nullopt;
  return CustomerJourneyOf(*journey, member.visits.back().stage_id, member.visits.back().enter_time,
                           member.visits.front().enter_time);
}

absl::StatusOr<std::optional<auth::CustomerAttributes>> InMemoryJourneyStateStore::FindCustomer(
    const std::string& tenant_id, const std::string& customer_id) {
  absl::MutexLock lock(&mu_);
  const auto found = customers_.find({tenant_id, customer_id});
  if (found == customers_.end()) return std::nullopt;
  return found->second;
}

absl::StatusOr<std::vector<v1::CustomerJourney>> InMemoryJourneyStateStore::CustomerJourneys(
    const std::string& tenant_id, const std::string& customer_id) {
  absl::MutexLock lock(&mu_);
  // (name key, journey id) -> where the customer stands.
  std::map<std::pair<std::string, std::string>, v1::CustomerJourney> ordered;
  for (const auto& [key, member] : members_) {
    if (std::get<0>(key) != tenant_id || std::get<1>(key) != customer_id) continue;
    std::optional<v1::CustomerJourney> place = PlaceOf(key, member);
    if (!place.has_value()) continue;
    ordered[{NameKey(place->journey_display_name()), std::get<2>(key)}] = *std::move(place);
  }
  std::vector<v1::CustomerJourney> journeys;
  for (auto& [order, journey] : ordered) journeys.push_back(std::move(journey));
  return journeys;
}

absl::StatusOr<std::vector<std::pair<int, v1::StageVisit>>> InMemoryJourneyStateStore::Visits(
    const std::string& tenant_id, const std::string& customer_id, const std::string& journey_id,
    int after_seq, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<int, v1::StageVisit>> visits;
  const auto member = members_.find({tenant_id, customer_id, journey_id});
  if (member == members_.end()) return visits;
  v1::Journey journey;  // Only its id and the member's version show.
  journey.set_journey_id(journey_id);
  journey.set_version(member->second.version);
  const std::vector<Visit>& path = member->second.visits;
  for (int seq = std::max(after_seq, 0) + 1;
       seq <= static_cast<int>(path.size()) && static_cast<int>(visits.size()) < limit; ++seq) {
    visits.emplace_back(seq, VisitToProto(journey, path[seq - 1]));
  }
  return visits;
}

absl::StatusOr<std::vector<v1::StageMember>> InMemoryJourneyStateStore::StageMembers(
    const StageMembersQuery& query) {
  absl::MutexLock lock(&mu_);
  const bool sees_everyone =
      query.scope->SqlVisibility(auth::Access::kRead, "c", "shares", 1).sql == "TRUE";
  // (stage enter time, customer id) -> member.
  std::map<std::pair<absl::Time, std::string>, v1::StageMember> ordered;
  for (const auto& [key, member] : members_) {
    const auto& [tenant, customer_id, journey_id] = key;
    const Visit& current = member.visits.back();
    if (tenant != query.tenant_id || journey_id != query.journey_id ||
        current.stage_id != query.stage_id || current.enter_time > query.entered_by) {
      continue;
    }
    const std::pair<absl::Time, std::string> place{current.enter_time, customer_id};
    if (query.after.has_value() &&
        place <= std::make_pair(query.after->stage_enter_time, query.after->customer_id)) {
      continue;
    }
    const auto customer = customers_.find({tenant, customer_id});
    const bool visible = customer == customers_.end()
                             ? sees_everyone
                             : query.scope->Allows(auth::Access::kRead, customer->second);
    if (!visible) continue;
    v1::StageMember& shown = ordered[place];
    shown.set_customer_id(customer_id);
    shown.set_version(member.version);
    *shown.mutable_stage_enter_time() = ToProtoTime(current.enter_time);
  }
  std::vector<v1::StageMember> members;
  for (auto& [place, member] : ordered) {
    if (static_cast<int>(members.size()) >= query.limit) break;
    members.push_back(std::move(member));
  }
  return members;
}

absl::StatusOr<v1::CustomerJourney> InMemoryJourneyStateStore::MoveCustomer(
    const MoveRequest& move) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = move.caller.tenant_id;
  const MemberKey key{tenant, move.customer_id, move.journey_id};
  const std::string move_id = ids::NewUuid(move.now);
  if (!move.request_id.empty()) {
    const auto stored = keys_.find({tenant, move.request_id});
    if (stored != keys_.end()) {
      switch (idempotency::Decide(stored->second, kMoveMethod, move.fingerprint)) {
        case idempotency::Decision::kConflict:
          return absl::AlreadyExistsError(
              absl::StrCat("request_id ", move.request_id, " was used before for another request"));
        case idempotency::Decision::kReplay: {
          const auto member = members_.find(key);
          std::optional<v1::CustomerJourney> place =
              member == members_.end() ? std::nullopt : PlaceOf(key, member->second);
          if (!place.has_value()) return NotOnJourney(move.customer_id, move.journey_id);
          return *std::move(place);
        }
        case idempotency::Decision::kNew:
          break;
      }
    }
  }
  const auto member = members_.find(key);
  const v1::Journey* journey = member == members_.end()
                                   ? nullptr
                                   : VersionOf({tenant, move.journey_id}, member->second.version);
  if (journey == nullptr || journey->state() != v1::JOURNEY_STATE_PUBLISHED) {
    return NotOnJourney(move.customer_id, move.journey_id);
  }
  if (StageOf(*journey, move.to_stage_id) == nullptr) {
    return status::InvalidArgument(
        "to_stage_id", absl::StrCat("'", move.to_stage_id, "' is not a stage of version ",
                                    journey->version(), " of journey ", move.journey_id));
  }
  internal::Fact fact;
  fact.set_fact_id(move_id);
  *fact.mutable_occur_time() = ToProtoTime(move.now);
  internal::ManualMove* manual = fact.mutable_manual();
  manual->set_journey_id(move.journey_id);
  manual->set_to_stage_id(move.to_stage_id);
  manual->set_user_id(move.caller.caller_id);
  manual->set_reason(move.reason);
  Advance(*journey, fact, member->second.visits);
  if (!move.request_id.empty()) {
    keys_[{tenant, move.request_id}] = idempotency::StoredRequest{
        .method = kMoveMethod, .fingerprint = move.fingerprint, .result = move_id};
  }
  audit_entries_.push_back(audit::MakeAuditEnvelope(
      move.caller, "journey.customer_moved", "customer", move.customer_id, {"stage_id"},
      absl::StrCat("journey ", move.journey_id, " to stage ", move.to_stage_id, ": ",
                   move.reason)));
  return *PlaceOf(key, member->second);
}

}  // namespace touchline::journeys::testing
