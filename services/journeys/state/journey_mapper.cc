#include "services/journeys/state/journey_mapper.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/pg/array.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/journeys/analytics/sql.h"
#include "services/journeys/analytics/stage_stats.h"
#include "services/journeys/path/path.h"
#include "services/journeys/state/sql.h"
#include "services/journeys/state/visit_rows.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::journeys {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// Runs `sql` as the statement prepared under its name when it is one of sql::kPerEvent (the
// pool prepares those: MapperStatements), else as it is.
template <typename... Args>
pqxx::result Exec(pqxx::work& txn, const char* sql, Args&&... args) {
  for (const auto& [name, text] : sql::kPerEvent) {
    if (text == sql) return txn.exec_prepared(name, std::forward<Args>(args)...);
  }
  return txn.exec_params(sql, std::forward<Args>(args)...);
}

// Who a change is attributed to in the events it causes: the cause's request and actor.
struct Origin {
  std::string request_id;
  std::string actor_id;
  static Origin Of(const ev::EventEnvelope* cause) {
    return cause == nullptr ? Origin{} : Origin{cause->request_id(), cause->actor_id()};
  }
};

// The published versions of one tenant, and the latest published version of each journey.
struct Published {
  absl::flat_hash_map<std::pair<std::string, int>, v1::Journey> versions;
  absl::flat_hash_map<std::string, int> latest;

  const v1::Journey* Find(const std::string& journey_id, int version) const {
    const auto it = versions.find(std::make_pair(journey_id, version));
    return it == versions.end() ? nullptr : &it->second;
  }
};

absl::StatusOr<Published> LoadPublished(pqxx::work& txn, const std::string& tenant) {
  Published published;
  for (const pqxx::row& row : Exec(txn, sql::kPublishedJourneys, tenant)) {
    v1::Journey journey;
    if (!ParseBody(row[0], journey)) {
      return absl::InternalError("a published journey does not parse");
    }
    int& latest = published.latest[journey.journey_id()];
    latest = std::max(latest, journey.version());
    published.versions.emplace(std::make_pair(journey.journey_id(), journey.version()),
                               std::move(journey));
  }
  return published;
}

// A customer's place on one journey, as journey_members holds it.
struct Member {
  std::string journey_id;
  int version = 0;
  absl::Time selected;
  absl::Time enter;
  std::optional<std::pair<absl::Time, std::string>> last_fact;
  // The contribution filed; none when it was filed before migration 0003 (then it is that of
  // the member's visits alone).
  std::optional<analytics::Contribution> filed;
  // The current stage, since when.
  std::string stage_id;
  absl::Time stage_enter;
  // The customer as the read model holds it, where the member's contribution is filed; none
  // when not read (then FileChange reads it).
  std::optional<customers::CustomerRow> customer;
};

// The contribution stored in `field` (journey_members.filed); none for NULL.
std::optional<analytics::Contribution> FiledOf(const pqxx::field& field) {
  internal::Contribution proto;
  if (field.is_null() || !ParseBody(field, proto)) return std::nullopt;
  return analytics::FromProto(proto);
}

std::vector<Member> LockMembers(pqxx::work& txn, const std::string& tenant,
                                const std::string& customer) {
  std::vector<Member> members;
  for (const pqxx::row& row : Exec(txn, sql::kLockMembers, tenant, customer)) {
    Member& m = members.emplace_back();
    m.journey_id = row[0].as<std::string>();
    m.version = row[1].as<int>();
    m.selected = TimeOfMicros(row[2]);
    m.enter = TimeOfMicros(row[3]);
    if (!row[4].is_null()) m.last_fact.emplace(TimeOfMicros(row[4]), row[5].as<std::string>());
    m.filed = FiledOf(row[6]);
    m.stage_id = row[7].as<std::string>();
    m.stage_enter = TimeOfMicros(row[8]);
    customers::CustomerRow& held = m.customer.emplace();  // '' and 0 when it holds none
    if (!row[9].is_null()) {
      held.owner_id = row[9].as<std::string>();
      held.region = row[10].as<std::string>();
      held.level = row[11].as<int>();
    }
  }
  return members;
}

std::vector<internal::Fact> LoadFacts(pqxx::work& txn, const std::string& tenant,
                                      const std::string& customer) {
  std::vector<internal::Fact> facts;
  for (const pqxx::row& row : Exec(txn, sql::kCustomerFacts, tenant, customer)) {
    internal::Fact& fact = facts.emplace_back();
    if (!ParseBody(row[0], fact)) facts.pop_back();
  }
  return facts;
}

// What a transaction of the mapper writes once, at its end: the analytics of every change (one
// statement per journey) and the events (one statement).
struct Deferred {
  analytics::PendingStats stats;
  std::vector<ev::EventEnvelope> events;

  void Flush(pqxx::work& txn) {
    stats.Apply(txn);
    if (!events.empty()) events::AppendToOutbox(txn, events::kJourneysTopic, events);
    events.clear();
  }
};

void Publish(Deferred& deferred, const std::string& tenant, const std::string& customer,
             const google::protobuf::Message& payload, const Origin& origin) {
  deferred.events.push_back(events::MakeEnvelope(payload, tenant, "customer", customer,
                                                 origin.request_id, origin.actor_id));
}

std::optional<int64_t> OptionalMicros(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::nullopt;
  return Micros(t);
}

// Inserts `visits` (not empty) as the customer's visits on `journey` numbered from `first_seq`,
// in one statement.
void InsertVisits(pqxx::work& txn, const std::string& tenant, const std::string& customer,
                  const v1::Journey& journey, int first_seq, std::span<const Visit> visits) {
  nlohmann::json rows = nlohmann::json::array();
  int seq = first_seq;
  for (const Visit& v : visits) {
    const std::optional<int64_t> exit = OptionalMicros(v.exit_time);
    rows.push_back({{"seq", seq++},
                    {"stage_id", v.stage_id},
                    {"from_stage_id", v.from_stage_id},
                    {"enter", Micros(v.enter_time)},
                    {"exit", exit ? nlohmann::json(*exit) : nlohmann::json()},
                    {"cause_kind", CauseNumber(v.cause)},
                    {"cause_id", v.cause_id},
                    {"user_id", v.user_id},
                    {"reason", v.reason}});
  }
  Exec(txn, sql::kInsertVisits, tenant, customer, journey.journey_id(), journey.version(),
       rows.dump());
}

// Where a member's contribution to the stage analytics is filed: the customer's owner,
// region and level as the read model holds them (`row`; '' and 0 when it holds none), its
// version, and the day it entered the journey.
analytics::ContributionKey KeyOf(const customers::CustomerRow* row, int version, absl::Time enter) {
  const customers::CustomerRow none;
  const customers::CustomerRow& held = row != nullptr ? *row : none;
  return analytics::ContributionKey{.version = version,
                                    .owner_id = held.owner_id,
                                    .region = held.region,
                                    .level = held.level,
                                    .entry_day = analytics::UtcDay(enter)};
}

// Files the change of `member`'s contribution on `journey` from `before` (entered at
// `before_enter`) to `after` (entered at `after_enter`) in the stage analytics (`deferred`, added
// at the end of the transaction), under the customer as the read model holds it.
void FileChange(pqxx::work& txn, Deferred& deferred, const std::string& tenant,
                const std::string& customer, const Member& member, const v1::Journey& journey,
                const analytics::Contribution& before, absl::Time before_enter,
                const analytics::Contribution& after, absl::Time after_enter) {
  std::optional<customers::CustomerRow> read;
  if (!member.customer.has_value() && before != after) {
    read = customers::FindCustomer(txn, tenant, customer);
  }
  const customers::CustomerRow* held = member.customer.has_value() ? &*member.customer
                                       : read                      ? &*read
                                                                   : nullptr;
  deferred.stats.Add(tenant, journey.journey_id(),
                     analytics::Diff(KeyOf(held, journey.version(), before_enter), before,
                                     KeyOf(held, journey.version(), after_enter), after));
}

std::vector<Visit> LoadVisits(pqxx::work& txn, const std::string& tenant,
                              const std::string& customer, const std::string& journey_id) {
  std::vector<Visit> visits;
  for (const pqxx::row& row : Exec(txn, sql::kVisits, tenant, customer, journey_id)) {
    visits.push_back(VisitFromRow(row));
  }
  return visits;
}

// The contribution the customer filed on `journey_id`: `filed`, or when none, that of its
// visits alone (what was filed before migration 0003).
analytics::Contribution FiledContribution(pqxx::work& txn, const std::string& tenant,
                                          const std::string& customer,
                                          const std::string& journey_id,
                                          const std::optional<analytics::Contribution>& filed) {
  if (filed.has_value()) return *filed;
  return analytics::ContributionOf(LoadVisits(txn, tenant, customer, journey_id));
}

// Records where the customer stands after `visits` (not empty), and the contribution filed.
void UpdateMember(pqxx::work& txn, const std::string& tenant, const std::string& customer,
                  const v1::Journey& journey, absl::Time enter, const std::vector<Visit>& visits,
                  const std::optional<std::pair<absl::Time, std::string>>& last_fact,
                  const analytics::Contribution& filed) {
  const Visit& current = visits.back();
  Exec(txn, sql::kUpdateMember, tenant, customer, journey.journey_id(), Micros(enter),
       current.stage_id, Micros(current.enter_time), Terminal(journey, current.stage_id),
       last_fact ? std::optional<int64_t>(Micros(last_fact->first)) : std::nullopt,
       last_fact ? last_fact->second : std::string(),
       absl::BytesToHexString(analytics::ToProto(filed).SerializeAsString()));
}

// Derives the customer's whole path on `journey` from its facts again and replaces the visits
// when they differ (StagePathRederived). `counted`: the member's stored visits are in the
// stage analytics (false for a member just added, whose visits, if any, are history).
void Rederive(pqxx::work& txn, Deferred& deferred, const std::string& tenant,
              const std::string& customer, const Member& member, const v1::Journey& journey,
              const Origin& origin, bool counted = true) {
  const std::vector<internal::Fact> facts = LoadFacts(txn, tenant, customer);
  absl::Time enter = member.selected;
  std::optional<std::pair<absl::Time, std::string>> last_fact;
  if (!facts.empty()) {
    enter = std::min(enter, FromProtoTime(facts.front().occur_time()));
    last_fact.emplace(FromProtoTime(facts.back().occur_time()), facts.back().fact_id());
  }
  const std::vector<Visit> visits = DerivePath(journey, enter, facts);
  const std::vector<Visit> stored = LoadVisits(txn, tenant, customer, member.journey_id);
  const analytics::Contribution after = analytics::ContributionOf(visits, facts);
  UpdateMember(txn, tenant, customer, journey, enter, visits, last_fact, after);
  // What was filed before: nothing for a new member; for one filed before migration 0003, its
  // visits alone.
  const analytics::Contribution before = !counted       ? analytics::Contribution{}
                                         : member.filed ? *member.filed
                                                        : analytics::ContributionOf(stored);
  FileChange(txn, deferred, tenant, customer, member, journey, before, member.enter, after, enter);
  if (stored == visits) return;
  // The visits from the first that differs are replaced, in two statements (a late touchpoint
  // in a long history changes its end).
  const size_t same =
      std::mismatch(stored.begin(), stored.end(), visits.begin(), visits.end()).first -
      stored.begin();
  Exec(txn, sql::kDeleteVisitsFrom, tenant, customer, member.journey_id,
       static_cast<int>(same) + 1);
  if (same < visits.size()) {
    InsertVisits(txn, tenant, customer, journey, static_cast<int>(same) + 1,
                 std::span(visits).subspan(same));
  }
  ev::StagePathRederived rederived;
  rederived.set_customer_id(customer);
  rederived.set_journey_id(journey.journey_id());
  for (const Visit& v : visits) *rederived.add_visits() = VisitToProto(journey, v);
  Publish(deferred, tenant, customer, rederived, origin);
}

// Folds one fact later than every fact folded so far into the customer's path on `journey`:
// a move ends the current visit and starts the next (StageExited, StageEntered and, on a goal
// or exit stage, JourneyCompleted). Precondition: member.filed. A fact that does not move the
// customer writes the member's row alone (and its touchpoint's share of the analytics).
void AdvanceMember(pqxx::work& txn, Deferred& deferred, const std::string& tenant,
                   const std::string& customer, const Member& member, const v1::Journey& journey,
                   const internal::Fact& fact, const Origin& origin) {
  Visit current;
  current.stage_id = member.stage_id;
  current.enter_time = member.stage_enter;
  std::vector<Visit> visits = {std::move(current)};
  const bool moved = Advance(journey, fact, visits);
  if (moved) {
    const pqxx::result ended = Exec(txn, sql::kExitVisit, tenant, customer, member.journey_id,
                                    Micros(visits[0].exit_time));
    if (ended.size() != 1) {
      // The member and its visits disagree (no visit, or more than one, not exited).
      return Rederive(txn, deferred, tenant, customer, member, journey, origin);
    }
    visits[0] = VisitFromRow(ended[0]);
    InsertVisits(txn, tenant, customer, journey, ended[0][0].as<int>() + 1,
                 std::span(visits).subspan(1));
    ev::StageExited exited;
    *exited.mutable_visit() = VisitToProto(journey, visits[0]);
    Publish(deferred, tenant, customer, exited, origin);
    ev::StageEntered entered;
    *entered.mutable_visit() = VisitToProto(journey, visits[1]);
    Publish(deferred, tenant, customer, entered, origin);
    if (const v1::Stage* stage = StageOf(journey, visits[1].stage_id);
        stage != nullptr && Terminal(journey, stage->stage_id())) {
      ev::JourneyCompleted completed;
      *completed.mutable_visit() = VisitToProto(journey, visits[1]);
      completed.set_goal(stage->kind() == v1::STAGE_KIND_GOAL);
      Publish(deferred, tenant, customer, completed, origin);
    }
  }
  const analytics::Contribution after = analytics::Advanced(*member.filed, fact, visits);
  FileChange(txn, deferred, tenant, customer, member, journey, *member.filed, member.enter, after,
             member.enter);
  UpdateMember(txn, tenant, customer, journey, member.enter, {visits.back()},
               std::make_pair(FromProtoTime(fact.occur_time()), fact.fact_id()), after);
}

// Brings the customer's paths on every journey it is on up to date with its facts: `fact`
// (just stored) is folded in where it is later than every fact folded before; otherwise (or
// with no fact: facts removed or moved) the path is derived again.
// `published` are the tenant's published versions.
absl::Status Place(pqxx::work& txn, Deferred& deferred, const Published& published,
                   const std::string& tenant, const std::string& customer,
                   const internal::Fact* fact, const Origin& origin) {
  for (const Member& member : LockMembers(txn, tenant, customer)) {
    const v1::Journey* journey = published.Find(member.journey_id, member.version);
    if (journey == nullptr) continue;  // archived: the path stays as it was
    if (fact != nullptr) {
      const std::pair<absl::Time, std::string> at(FromProtoTime(fact->occur_time()),
                                                  fact->fact_id());
      // A member filed before migration 0003 is derived again, to file its touchpoints.
      if (member.filed.has_value() && at.first >= member.enter &&
          (!member.last_fact || at > *member.last_fact)) {
        AdvanceMember(txn, deferred, tenant, customer, member, *journey, *fact, origin);
        continue;
      }
    }
    Rederive(txn, deferred, tenant, customer, member, *journey, origin);
  }
  return absl::OkStatus();
}

// Puts the customer on `journey` (a published version), selected at `selected`, and derives
// its path. Returns whether it was not on the journey before.
bool Enter(pqxx::work& txn, Deferred& deferred, const std::string& tenant,
           const std::string& customer, const v1::Journey& journey, absl::Time selected,
           const Origin& origin) {
  if (journey.stages().empty()) return false;
  if (Exec(txn, sql::kInsertMember, tenant, customer, journey.journey_id(), journey.version(),
           Micros(selected), journey.stages(0).stage_id())
          .empty()) {
    return false;
  }
  Member member{.journey_id = journey.journey_id(),
                .version = journey.version(),
                .selected = selected,
                .enter = selected,
                .last_fact = std::nullopt,
                .filed = std::nullopt,
                .stage_id = journey.stages(0).stage_id(),
                .stage_enter = selected,
                .customer = std::nullopt};
  Rederive(txn, deferred, tenant, customer, member, journey, origin, /*counted=*/false);
  return true;
}

// Files the customer's contributions on every journey it is on under `after`'s owner, region
// and level instead of `before`'s, when they differ.
void RefileMembers(pqxx::work& txn, Deferred& deferred, const customers::CustomerRow* before,
                   const customers::CustomerRow& after) {
  const customers::CustomerRow none;
  const customers::CustomerRow& was = before != nullptr ? *before : none;
  if (was.owner_id == after.owner_id && was.region == after.region && was.level == after.level) {
    return;
  }
  for (const Member& member : LockMembers(txn, after.tenant_id, after.customer_id)) {
    const analytics::Contribution c =
        FiledContribution(txn, after.tenant_id, after.customer_id, member.journey_id, member.filed);
    deferred.stats.Add(after.tenant_id, member.journey_id,
                       analytics::Diff(KeyOf(&was, member.version, member.enter), c,
                                       KeyOf(&after, member.version, member.enter), c));
  }
}

CustomerProfile ProfileOf(const customers::CustomerRow& row) {
  return CustomerProfile{.region = row.region,
                         .level = static_cast<cv1::CustomerLevel>(row.level),
                         .lifecycle_status = row.lifecycle_status,
                         .tags = row.tags};
}

// What storing a fact replaced.
struct StoredFact {
  bool replaced = false;                  // The fact was there before (a correction, or a replay).
  std::optional<std::string> moved_from;  // The customer it belonged to before, if another.
};

// Stores `fact` for `customer`.
StoredFact StoreFact(pqxx::work& txn, const std::string& tenant, const std::string& customer,
                     const internal::Fact& fact) {
  const pqxx::result old = Exec(txn, sql::kUpsertFact, tenant, fact.fact_id(), customer,
                                Micros(FromProtoTime(fact.occur_time())),
                                absl::BytesToHexString(fact.SerializeAsString()));
  StoredFact stored;
  if (old.empty() || old[0][0].is_null()) return stored;
  stored.replaced = true;
  if (old[0][0].as<std::string>() != customer) stored.moved_from = old[0][0].as<std::string>();
  return stored;
}

// What rules and analytics read of a touchpoint.
internal::Fact FactOf(const touchpoints::v1::Touchpoint& t) {
  internal::Fact fact;
  fact.set_fact_id(t.touchpoint_id());
  // To the microsecond, as PostgreSQL keeps it: folded facts are compared at that precision.
  *fact.mutable_occur_time() = ToProtoTime(FromProtoTime(t.occur_time()));
  touchpoints::v1::Touchpoint* kept = fact.mutable_touchpoint();
  kept->set_touchpoint_id(t.touchpoint_id());
  *kept->mutable_occur_time() = fact.occur_time();
  kept->set_channel(t.channel());
  kept->set_direction(t.direction());
  kept->set_category(t.category());
  kept->set_outcome(t.outcome());
  kept->set_sentiment(t.sentiment());
  *kept->mutable_emotion_labels() = t.emotion_labels();
  *kept->mutable_tags() = t.tags();
  *kept->mutable_custom_attributes() = t.custom_attributes();
  return fact;
}

absl::Status TouchpointChanged(pqxx::work& txn, Deferred& deferred, const Published& published,
                               const std::string& tenant, const touchpoints::v1::Touchpoint& t,
                               const Origin& origin) {
  if (t.state() == touchpoints::v1::TOUCHPOINT_STATE_DELETED) {
    const pqxx::result gone = Exec(txn, sql::kDeleteFact, tenant, t.touchpoint_id());
    if (gone.empty()) return absl::OkStatus();
    return Place(txn, deferred, published, tenant, gone[0][0].as<std::string>(), nullptr, origin);
  }
  const internal::Fact fact = FactOf(t);
  const StoredFact stored = StoreFact(txn, tenant, t.customer_id(), fact);
  if (stored.moved_from.has_value()) {
    TL_RETURN_IF_ERROR(
        Place(txn, deferred, published, tenant, *stored.moved_from, nullptr, origin));
  }
  return Place(txn, deferred, published, tenant, t.customer_id(), stored.replaced ? nullptr : &fact,
               origin);
}

// The touchpoint an event of the "touchpoints" topic changed, marked DELETED for a deletion;
// nullopt for other events. INVALID_ARGUMENT for a payload that does not parse.
absl::StatusOr<std::optional<touchpoints::v1::Touchpoint>> TouchpointOf(
    const ev::EventEnvelope& event) {
  const google::protobuf::Any& payload = event.payload();
  const auto unpack =
      [&](auto message) -> absl::StatusOr<std::optional<touchpoints::v1::Touchpoint>> {
    if (!payload.UnpackTo(&message)) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", event.event_id(), ": ", message.GetTypeName(), " does not parse"));
    }
    return std::move(*message.mutable_touchpoint());
  };
  if (payload.Is<ev::TouchpointRecorded>()) return unpack(ev::TouchpointRecorded());
  if (payload.Is<ev::TouchpointUpdated>()) return unpack(ev::TouchpointUpdated());
  if (payload.Is<ev::TouchpointDeleted>()) {
    TL_ASSIGN_OR_RETURN(std::optional<touchpoints::v1::Touchpoint> t,
                        unpack(ev::TouchpointDeleted()));
    t->set_state(touchpoints::v1::TOUCHPOINT_STATE_DELETED);
    return t;
  }
  return std::nullopt;
}

}  // namespace

absl::Status ApplyTouchpointEvent(pqxx::work& txn, const ev::EventEnvelope& event) {
  const ev::EventEnvelope* one[] = {&event};
  return ApplyTouchpointEvents(txn, one);
}

absl::Status ApplyTouchpointEvents(pqxx::work& txn,
                                   std::span<const ev::EventEnvelope* const> events) {
  // The published versions, read once per tenant of the batch (no transaction of the mapper
  // changes them); the analytics, added once for the batch.
  absl::flat_hash_map<std::string, Published> published;
  Deferred deferred;
  for (const ev::EventEnvelope* event : events) {
    TL_ASSIGN_OR_RETURN(const std::optional<touchpoints::v1::Touchpoint> t, TouchpointOf(*event));
    if (!t.has_value()) continue;
    auto it = published.find(event->tenant_id());
    if (it == published.end()) {
      TL_ASSIGN_OR_RETURN(Published loaded, LoadPublished(txn, event->tenant_id()));
      it = published.emplace(event->tenant_id(), std::move(loaded)).first;
    }
    TL_RETURN_IF_ERROR(
        TouchpointChanged(txn, deferred, it->second, event->tenant_id(), *t, Origin::Of(event)));
  }
  deferred.Flush(txn);
  return absl::OkStatus();
}

namespace {

absl::Status ApplyCustomerChange(pqxx::work& txn, Deferred& deferred,
                                 const customers::CustomerRow* before,
                                 const customers::CustomerRow& after,
                                 const ev::EventEnvelope* cause) {
  const Origin origin = Origin::Of(cause);
  const std::string& tenant = after.tenant_id;
  const std::string& id = after.customer_id;
  const absl::Time now = cause != nullptr ? FromProtoTime(cause->occur_time()) : absl::Now();
  const std::string was_merged_into = before != nullptr ? before->merged_into : "";
  // First, so that everything below files under the customer as it is now.
  RefileMembers(txn, deferred, before, after);
  if (!after.merged_into.empty() && after.merged_into != was_merged_into) {
    // Merged: its journeys fold into the survivor's; its visits leave the analytics.
    Exec(txn, sql::kMoveFactsToSurvivor, tenant, id, after.merged_into);
    TL_ASSIGN_OR_RETURN(const Published published, LoadPublished(txn, tenant));
    for (const pqxx::row& row : Exec(txn, sql::kDeleteMembers, tenant, id)) {
      const std::string journey_id = row[0].as<std::string>();
      const int version = row[1].as<int>();
      const analytics::ContributionKey key = KeyOf(&after, version, TimeOfMicros(row[3]));
      deferred.stats.Add(
          tenant, journey_id,
          analytics::Diff(key, FiledContribution(txn, tenant, id, journey_id, FiledOf(row[4])), key,
                          {}));
      if (const v1::Journey* journey = published.Find(row[0].as<std::string>(), row[1].as<int>())) {
        Enter(txn, deferred, tenant, after.merged_into, *journey, TimeOfMicros(row[2]), origin);
      }
    }
    return Place(txn, deferred, published, tenant, after.merged_into, nullptr, origin);
  }
  TL_ASSIGN_OR_RETURN(const Published published, LoadPublished(txn, tenant));
  bool rederive = false;
  if (!was_merged_into.empty() && after.merged_into.empty()) {
    // Unmerged: what came from it goes back, and it is on its journeys again.
    Exec(txn, sql::kMoveFactsToRestored, tenant, id, was_merged_into);
    for (const pqxx::row& row : Exec(txn, sql::kVisitedJourneys, tenant, id)) {
      if (const v1::Journey* journey = published.Find(row[0].as<std::string>(), row[1].as<int>())) {
        Enter(txn, deferred, tenant, id, *journey, TimeOfMicros(row[2]), origin);
      }
    }
    TL_RETURN_IF_ERROR(Place(txn, deferred, published, tenant, was_merged_into, nullptr, origin));
    rederive = true;
  }
  if (after.state != cv1::CUSTOMER_STATE_ACTIVE) return absl::OkStatus();
  // A change a rule may match, stored before entering new journeys so their paths include it.
  std::optional<internal::Fact> change;
  if (cause != nullptr && before != nullptr) {
    internal::CustomerChange c;
    c.set_lifecycle_before(before->lifecycle_status);
    c.set_lifecycle_after(after.lifecycle_status);
    c.set_level_before(static_cast<cv1::CustomerLevel>(before->level));
    c.set_level_after(static_cast<cv1::CustomerLevel>(after.level));
    const absl::flat_hash_set<std::string> had(before->tags.begin(), before->tags.end());
    for (const std::string& tag : after.tags) {
      if (!had.contains(tag)) c.add_tags_added(tag);
    }
    if (c.lifecycle_before() != c.lifecycle_after() || c.level_before() != c.level_after() ||
        c.tags_added_size() > 0) {
      change.emplace();
      change->set_fact_id(cause->event_id());
      *change->mutable_occur_time() = ToProtoTime(FromProtoTime(cause->occur_time()));
      *change->mutable_customer() = std::move(c);
      StoreFact(txn, tenant, id, *change);
    }
  }
  absl::flat_hash_set<std::string> on;
  for (const Member& member : LockMembers(txn, tenant, id)) on.insert(member.journey_id);
  const CustomerProfile profile = ProfileOf(after);
  for (const auto& [journey_id, version] : published.latest) {
    const v1::Journey* journey = published.Find(journey_id, version);
    if (!on.contains(journey_id) && Selects(journey->entry_rule(), profile)) {
      Enter(txn, deferred, tenant, id, *journey, now, origin);
    }
  }
  if (change.has_value()) return Place(txn, deferred, published, tenant, id, &*change, origin);
  if (rederive) return Place(txn, deferred, published, tenant, id, nullptr, origin);
  return absl::OkStatus();
}

}  // namespace

absl::Status CustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                             const customers::CustomerRow& after, const ev::EventEnvelope* cause) {
  Deferred deferred;
  TL_RETURN_IF_ERROR(ApplyCustomerChange(txn, deferred, before, after, cause));
  deferred.Flush(txn);
  return absl::OkStatus();
}

const customers::ReadModel& CustomerReadModel() {
  static const customers::ReadModel* const kModel = new customers::ReadModel(&CustomerChanged);
  return *kModel;
}

absl::StatusOr<v1::CustomerJourney> MoveCustomer(
    pqxx::work& txn, const std::string& tenant, const std::string& customer_id,
    const std::string& journey_id, const std::string& to_stage_id, const std::string& user_id,
    const std::string& reason, const std::string& move_id, absl::Time now) {
  TL_ASSIGN_OR_RETURN(const Published published, LoadPublished(txn, tenant));
  const std::vector<Member> members = LockMembers(txn, tenant, customer_id);
  const auto member = std::find_if(members.begin(), members.end(),
                                   [&](const Member& m) { return m.journey_id == journey_id; });
  const v1::Journey* journey =
      member == members.end() ? nullptr : published.Find(journey_id, member->version);
  if (journey == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("customer ", customer_id, " is not on journey ", journey_id));
  }
  if (StageOf(*journey, to_stage_id) == nullptr) {
    return status::InvalidArgument("to_stage_id",
                                   absl::StrCat("'", to_stage_id, "' is not a stage of version ",
                                                journey->version(), " of journey ", journey_id));
  }
  internal::Fact fact;
  fact.set_fact_id(move_id);
  *fact.mutable_occur_time() = ToProtoTime(now);
  internal::ManualMove* move = fact.mutable_manual();
  move->set_journey_id(journey_id);
  move->set_to_stage_id(to_stage_id);
  move->set_user_id(user_id);
  move->set_reason(reason);
  StoreFact(txn, tenant, customer_id, fact);
  Deferred deferred;
  TL_RETURN_IF_ERROR(
      Place(txn, deferred, published, tenant, customer_id, &fact, Origin{"", user_id}));
  deferred.Flush(txn);
  const std::vector<Member> now_members = LockMembers(txn, tenant, customer_id);
  const auto moved = std::find_if(now_members.begin(), now_members.end(),
                                  [&](const Member& m) { return m.journey_id == journey_id; });
  return CustomerJourneyOf(*journey, moved->stage_id, moved->stage_enter, moved->enter);
}

absl::StatusOr<bool> RunEntryPass(pqxx::work& txn, int batch, absl::Time now) {
  const pqxx::result pass = Exec(txn, sql::kNextEntryPass);
  if (pass.empty()) return false;
  const std::string tenant = pass[0][0].as<std::string>();
  const std::string journey_id = pass[0][1].as<std::string>();
  const int version = pass[0][2].as<int>();
  std::string after = pass[0][3].as<std::string>();
  TL_ASSIGN_OR_RETURN(const Published published, LoadPublished(txn, tenant));
  const v1::Journey* journey = published.Find(journey_id, version);
  int64_t entered = 0;
  bool finished = true;
  Deferred deferred;
  if (journey != nullptr) {  // else archived meanwhile: nothing to enter
    const pqxx::result page = Exec(txn, sql::kCustomersAfter, tenant, after, batch);
    for (const pqxx::row& row : page) {
      const CustomerProfile profile{
          .region = row[1].as<std::string>(),
          .level = static_cast<cv1::CustomerLevel>(row[2].as<int>()),
          .lifecycle_status = static_cast<cv1::LifecycleStatus>(row[3].as<int>()),
          .tags = pg::ParseTextArray(row[4])};
      after = row[0].as<std::string>();
      if (Selects(journey->entry_rule(), profile) &&
          Enter(txn, deferred, tenant, after, *journey, now, Origin{})) {
        ++entered;
      }
    }
    finished = page.size() < static_cast<size_t>(batch);
  }
  deferred.Flush(txn);
  Exec(txn, sql::kAdvanceEntryPass, tenant, journey_id, version, after, entered, finished);
  return true;
}

absl::Status RunEntryPasses(pg::Pool& pool, int batch, const std::function<void()>& events_written,
                            const std::function<bool()>& stopping) {
  bool more = true;
  while (more && !stopping()) {
    TL_RETURN_IF_ERROR(pool.Transact([&](pqxx::work& txn) -> absl::Status {
      TL_ASSIGN_OR_RETURN(more, RunEntryPass(txn, batch, absl::Now()));
      return absl::OkStatus();
    }));
    if (more && events_written) events_written();
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> MapperStatements() {
  std::vector<std::pair<std::string, std::string>> statements;
  for (const auto& [name, text] : sql::kPerEvent) statements.emplace_back(name, text);
  statements.emplace_back(analytics::sql::kAddStatsName, analytics::sql::kAddStats);
  return statements;
}

}  // namespace touchline::journeys
