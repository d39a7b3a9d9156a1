// The journeys state against real PostgreSQL: the mapper fed the way the consumers feed it
// (touchpoint events, customer events through the customer read model), the entry passes,
// and the per-customer RPCs through the manager and the PostgreSQL store.
#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/service_host/service_host.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/state/journey_mapper.h"
#include "services/journeys/state/journey_state_manager.h"
#include "services/journeys/state/pg_state_store.h"
#include "services/journeys/state/sql.h"
#include "services/journeys/state/visit_rows.h"
#include "services/journeys/testing/migrated_pool.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::journeys {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kDay0 = absl::FromCivil(absl::CivilDay(2026, 3, 1), absl::UTCTimeZone());

// The seed's retail map, published as version `version` of journey `id`.
v1::Journey B2cJourney(const std::string& id, int version = 1) {
  v1::Journey j = testing::RetailJourney();
  j.set_journey_id(id);
  j.set_version(version);
  j.set_state(v1::JOURNEY_STATE_PUBLISHED);
  return j;
}

class JourneyStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(tokens_, paging::PageTokens::Load(*pool_));
    store_ = std::make_unique<PgJourneyStateStore>(pool_.get(), [] {});
    manager_ =
        std::make_unique<JourneyStateManager>(store_.get(), &*tokens_, [this] { return now_; });
    Publish(B2cJourney(journey_id_));
  }

  void Publish(const v1::Journey& journey) {
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
      txn.exec_params(
          "INSERT INTO journeys (tenant_id, journey_id, version, state, display_name, body, "
          "create_time, update_time, publish_time) VALUES ($1, $2::uuid, $3, $4, $5, "
          "decode($6, 'hex'), now(), now(), now()) ON CONFLICT (tenant_id, journey_id, version) "
          "DO UPDATE SET state = EXCLUDED.state, body = EXCLUDED.body",
          kTenant, journey.journey_id(), journey.version(), static_cast<int>(journey.state()),
          journey.display_name(), absl::BytesToHexString(journey.SerializeAsString()));
      return absl::OkStatus();
    }));
  }

  ev::EventEnvelope Envelope(const google::protobuf::Message& payload, absl::Time at) {
    ev::EventEnvelope e = events::MakeEnvelope(payload, kTenant, "x", "x", "req-1", "u-actor");
    *e.mutable_occur_time() = ToProtoTime(at);
    return e;
  }

  // contacts creates customer `id` (version 1) at `at`.
  void Created(const std::string& id, const std::string& region, absl::Time at,
               const std::string& owner = "u-rep") {
    ev::CustomerCreated created;
    *created.mutable_customer() = Customer(id, 1, region, owner);
    ApplyCustomers(Envelope(created, at));
  }

  static cv1::Customer Customer(const std::string& id, int version, const std::string& region,
                                const std::string& owner = "u-rep") {
    cv1::Customer c;
    c.set_customer_id(id);
    c.set_etag(absl::StrCat(version));
    c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    c.set_region(region);
    c.set_owner_id(owner);
    c.set_level(cv1::CUSTOMER_LEVEL_STANDARD);
    return c;
  }

  void ApplyCustomers(const ev::EventEnvelope& e) {
    TL_ASSERT_OK(
        pool_->Transact([&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, e); }));
  }

  void ApplyTouchpoints(const ev::EventEnvelope& e) {
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) { return ApplyTouchpointEvent(txn, e); }));
  }

  static tv1::Touchpoint Touchpoint(const std::string& id, const std::string& customer,
                                    absl::Time at, tv1::Channel channel,
                                    tv1::Outcome outcome = tv1::OUTCOME_UNSPECIFIED) {
    tv1::Touchpoint t;
    t.set_touchpoint_id(id);
    t.set_customer_id(customer);
    *t.mutable_occur_time() = ToProtoTime(at);
    t.set_channel(channel);
    t.set_outcome(outcome);
    t.set_state(tv1::TOUCHPOINT_STATE_ACTIVE);
    return t;
  }

  void Recorded(const tv1::Touchpoint& t) {
    ev::TouchpointRecorded recorded;
    *recorded.mutable_touchpoint() = t;
    ApplyTouchpoints(Envelope(recorded, FromProtoTime(t.occur_time())));
  }

  // (stage, from, enter day offset, cause kind) of each visit, for comparisons.
  std::vector<std::string> Path(const std::string& customer) {
    std::vector<std::string> path;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      for (const pqxx::row& row : txn.exec_params(
               "SELECT stage_id, from_stage_id, " TL_PG_TO_MICROS(
                   "enter_time") ", "
                                 "exit_time IS NULL, cause_kind FROM stage_visits WHERE tenant_id "
                                 "= $1 AND "
                                 "customer_id = $2::uuid AND journey_id = $3::uuid ORDER BY seq",
               kTenant, customer, journey_id_)) {
        path.push_back(
            absl::StrCat(row[0].c_str(), "<", row[1].c_str(), "@",
                         absl::FormatTime("%m-%d", TimeOfMicros(row[2]), absl::UTCTimeZone()),
                         row[3].as<bool>() ? " open" : "", " c", row[4].c_str()));
      }
      return absl::OkStatus();
    }));
    return path;
  }

  // The event types in the outbox for the journeys topic, oldest first.
  std::vector<std::string> JourneyEvents() {
    std::vector<std::string> types;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      for (const pqxx::row& row :
           txn.exec("SELECT event_type FROM outbox WHERE topic = 'journeys' ORDER BY id")) {
        const std::string type = row[0].as<std::string>();
        types.push_back(type.substr(type.rfind('.') + 1));
      }
      return absl::OkStatus();
    }));
    return types;
  }

  static auth::RequestContext Caller(pv1::EffectiveScope proto, std::string caller_id) {
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(caller_id));
  }
  static auth::RequestContext Admin() {
    return Caller(auth::testing::AdminScope(kTenant, "u-admin"), "u-admin");
  }
  // A rep who sees the customers it owns and may change them.
  static auth::RequestContext Rep(const std::string& user = "u-rep") {
    pv1::EffectiveScope scope = auth::testing::RepScope(user);
    scope.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    return Caller(std::move(scope), user);
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"journeys_state"};
  std::unique_ptr<pg::Pool> pool_;
  std::optional<paging::PageTokens> tokens_;
  std::unique_ptr<PgJourneyStateStore> store_;
  std::unique_ptr<JourneyStateManager> manager_;
  absl::Time now_ = kDay0 + absl::Hours(24 * 60);
  const std::string journey_id_ = ids::NewUuid();
};

TEST_F(JourneyStateTest, ACustomerTheEntryRuleSelectsEntersAndMovesWithItsTouchpoints) {
  const std::string east = ids::NewUuid(), south = ids::NewUuid();
  Created(east, "华东", kDay0);
  Created(south, "华南", kDay0);
  EXPECT_THAT(Path(east), ElementsAre("awareness<@03-01 open c1"));
  EXPECT_TRUE(Path(south).empty());

  Recorded(Touchpoint(ids::NewUuid(), east, kDay0 + absl::Hours(24), tv1::CHANNEL_EMAIL));
  EXPECT_THAT(Path(east), ElementsAre("awareness<@03-01 open c1"));  // no rule matches
  Recorded(Touchpoint(ids::NewUuid(), east, kDay0 + absl::Hours(48), tv1::CHANNEL_STORE_VISIT));
  Recorded(Touchpoint(ids::NewUuid(), east, kDay0 + absl::Hours(72), tv1::CHANNEL_PHONE,
                      tv1::OUTCOME_WON));
  EXPECT_THAT(Path(east), ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-03 c2",
                                      "purchase<consideration@03-04 open c2"));
  // Once on a goal, rules move no one: a later "lost" touchpoint changes nothing.
  Recorded(Touchpoint(ids::NewUuid(), east, kDay0 + absl::Hours(96), tv1::CHANNEL_PHONE,
                      tv1::OUTCOME_LOST));
  EXPECT_EQ(Path(east).size(), 3u);
  EXPECT_THAT(JourneyEvents(), ElementsAre("StagePathRederived", "StageExited", "StageEntered",
                                           "StageExited", "StageEntered", "JourneyCompleted"));

  TL_ASSERT_OK_AND_ASSIGN(const v1::GetCustomerJourneysResponse state,
                          manager_->GetCustomerJourneys(Rep(), [&] {
                            v1::GetCustomerJourneysRequest r;
                            r.set_customer_id(east);
                            return r;
                          }()));
  ASSERT_EQ(state.journeys_size(), 1);
  EXPECT_EQ(state.journeys(0).stage_id(), "purchase");
  EXPECT_EQ(state.journeys(0).journey_display_name(), "零售客户旅程");
  EXPECT_TRUE(state.journeys(0).completed());
  EXPECT_EQ(state.journeys(0).stage_kind(), v1::STAGE_KIND_GOAL);
}

TEST_F(JourneyStateTest, ArrivalOrderDoesNotChangeThePath) {
  // The same five touchpoints, arriving in every order for 12 customers.
  std::mt19937 rng(20261207);
  std::vector<std::vector<std::string>> paths;
  for (int c = 0; c < 12; ++c) {
    const std::string customer = ids::NewUuid();
    Created(customer, "华东", kDay0);
    std::vector<tv1::Touchpoint> touchpoints = {
        Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(10), tv1::CHANNEL_STORE_VISIT),
        Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(20), tv1::CHANNEL_EMAIL),
        Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(30), tv1::CHANNEL_PHONE,
                   tv1::OUTCOME_LOST),
        Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(40), tv1::CHANNEL_PHONE,
                   tv1::OUTCOME_WON),
        Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(50), tv1::CHANNEL_WECOM)};
    std::shuffle(touchpoints.begin(), touchpoints.end(), rng);
    for (const tv1::Touchpoint& t : touchpoints) Recorded(t);
    paths.push_back(Path(customer));
  }
  EXPECT_THAT(paths[0], ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-01 c2",
                                    "lost<consideration@03-02 open c2"));
  for (const auto& path : paths) EXPECT_EQ(path, paths[0]);
}

TEST_F(JourneyStateTest, ALateTouchpointRederivesAndADeletedOneIsUndone) {
  const std::string customer = ids::NewUuid();
  Created(customer, "华东", kDay0);
  // A call that lost the sale: from awareness it only makes the customer consider ("lost" is
  // only from consideration).
  Recorded(Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(48), tv1::CHANNEL_PHONE,
                      tv1::OUTCOME_LOST));
  EXPECT_THAT(Path(customer),
              ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-03 open c2"));
  const tv1::Touchpoint late =
      Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(24), tv1::CHANNEL_STORE_VISIT);
  Recorded(late);  // synced a day late: the phone call now follows a store visit
  EXPECT_THAT(Path(customer), ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-02 c2",
                                          "lost<consideration@03-03 open c2"));
  // A replayed event changes nothing and publishes nothing.
  const size_t events = JourneyEvents().size();
  Recorded(late);
  EXPECT_EQ(JourneyEvents().size(), events);

  ev::TouchpointDeleted deleted;
  *deleted.mutable_touchpoint() = late;
  deleted.mutable_touchpoint()->set_state(tv1::TOUCHPOINT_STATE_DELETED);
  ApplyTouchpoints(Envelope(deleted, now_));
  EXPECT_THAT(Path(customer),
              ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-03 open c2"));
  EXPECT_EQ(JourneyEvents().back(), "StagePathRederived");
}

TEST_F(JourneyStateTest, MergeFoldsTheJourneysIntoTheSurvivorAndUnmergeRestoresThem) {
  const std::string survivor = ids::NewUuid(), merged = ids::NewUuid();
  Created(survivor, "华东", kDay0);
  Created(merged, "华东", kDay0);
  Recorded(Touchpoint(ids::NewUuid(), merged, kDay0 + absl::Hours(24), tv1::CHANNEL_STORE_VISIT));
  EXPECT_EQ(Path(survivor).size(), 1u);
  EXPECT_EQ(Path(merged).size(), 2u);

  ev::CustomersMerged merge;
  *merge.mutable_survivor() = Customer(survivor, 2, "华东");
  *merge.mutable_merged() = Customer(merged, 2, "华东");
  merge.mutable_merged()->set_state(cv1::CUSTOMER_STATE_MERGED);
  merge.mutable_merged()->set_merged_into_customer_id(survivor);
  merge.mutable_merge()->set_merge_id(ids::NewUuid());
  ApplyCustomers(Envelope(merge, kDay0 + absl::Hours(72)));
  // The survivor has the further stage, from the merged customer's touchpoint; the merged
  // customer's history stays, but it is on no journey.
  EXPECT_THAT(Path(survivor),
              ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-02 open c2"));
  EXPECT_EQ(Path(merged).size(), 2u);
  TL_ASSERT_OK_AND_ASSIGN(const auto merged_journeys, store_->CustomerJourneys(kTenant, merged));
  EXPECT_TRUE(merged_journeys.empty());

  ev::CustomersUnmerged unmerge;
  *unmerge.mutable_survivor() = Customer(survivor, 3, "华东");
  *unmerge.mutable_restored() = Customer(merged, 3, "华东");
  ApplyCustomers(Envelope(unmerge, kDay0 + absl::Hours(96)));
  EXPECT_THAT(Path(survivor), ElementsAre("awareness<@03-01 open c1"));
  EXPECT_THAT(Path(merged),
              ElementsAre("awareness<@03-01 c1", "consideration<awareness@03-02 open c2"));
}

TEST_F(JourneyStateTest, APublishedVersionEntersExistingCustomersInPasses) {
  std::vector<std::string> customers;
  for (int i = 0; i < 7; ++i) {
    customers.push_back(ids::NewUuid());
    Created(customers.back(), i < 5 ? "华北" : "华东", kDay0);
  }
  v1::Journey north = B2cJourney(ids::NewUuid());
  north.mutable_entry_rule()->set_regions(0, "华北");
  Publish(north);
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "INSERT INTO journey_entry_passes (tenant_id, journey_id, version) VALUES "
        "($1, $2::uuid, 1)",
        kTenant, north.journey_id());
    return absl::OkStatus();
  }));
  int passes = 0;
  while (true) {
    bool more = false;
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      TL_ASSIGN_OR_RETURN(more, RunEntryPass(txn, 2, now_));
      return absl::OkStatus();
    }));
    if (!more) break;
    ASSERT_LT(++passes, 10);
  }
  EXPECT_EQ(passes, 4);  // 7 customers, 2 at a time: the fourth page is short
  int on_north = 0;
  for (const std::string& c : customers) {
    TL_ASSERT_OK_AND_ASSIGN(const auto journeys, store_->CustomerJourneys(kTenant, c));
    for (const auto& j : journeys) on_north += j.journey_id() == north.journey_id() ? 1 : 0;
  }
  EXPECT_EQ(on_north, 5);
}

TEST_F(JourneyStateTest, ManualMovesAreCheckedAuditedAndHappenOnce) {
  const std::string mine = ids::NewUuid(), theirs = ids::NewUuid();
  Created(mine, "华东", kDay0, "u-rep");
  Created(theirs, "华东", kDay0, "u-other");
  v1::MoveCustomerRequest move;
  move.set_customer_id(mine);
  move.set_journey_id(journey_id_);
  move.set_to_stage_id("purchase");
  move.set_reason("客户在展会上签约");
  move.set_request_id("move-1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::MoveCustomerResponse moved,
                          manager_->MoveCustomer(Rep(), move));
  EXPECT_EQ(moved.journey().stage_id(), "purchase");
  EXPECT_TRUE(moved.journey().completed());
  // The same request again: the same answer, no second move.
  TL_ASSERT_OK_AND_ASSIGN(const v1::MoveCustomerResponse again,
                          manager_->MoveCustomer(Rep(), move));
  EXPECT_EQ(again.journey().stage_id(), "purchase");
  EXPECT_EQ(Path(mine).size(), 2u);
  EXPECT_EQ(Path(mine).back(), "purchase<awareness@04-30 open c4");

  move.set_reason("another reason");
  EXPECT_THAT(manager_->MoveCustomer(Rep(), move), StatusIs(absl::StatusCode::kAlreadyExists));
  move.set_request_id("");
  move.set_customer_id(theirs);
  EXPECT_THAT(manager_->MoveCustomer(Rep(), move), StatusIs(absl::StatusCode::kNotFound));
  move.set_customer_id(mine);
  move.set_to_stage_id("nowhere");
  EXPECT_THAT(manager_->MoveCustomer(Admin(), move), StatusIs(absl::StatusCode::kInvalidArgument));
  move.set_to_stage_id("consideration");
  move.set_reason("");
  EXPECT_THAT(manager_->MoveCustomer(Admin(), move), StatusIs(absl::StatusCode::kInvalidArgument));

  int audited = 0;
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
    audited = txn.exec("SELECT count(*) FROM outbox WHERE topic = 'audit'")[0][0].as<int>();
    return absl::OkStatus();
  }));
  EXPECT_EQ(audited, 1);
}

TEST_F(JourneyStateTest, StageListsFollowTheScopeAndPage) {
  for (int i = 0; i < 5; ++i) {
    Created(ids::NewUuid(), "华东", kDay0 + absl::Hours(i), i < 3 ? "u-rep" : "u-other");
  }
  v1::ListCustomersInStageRequest request;
  request.set_journey_id(journey_id_);
  request.set_stage_id("awareness");
  request.set_page_size(2);
  std::vector<std::string> seen;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const auto page, manager_->ListCustomersInStage(Admin(), request));
    for (const auto& m : page.customers()) seen.push_back(m.customer_id());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(seen.size(), 5u);
  request.set_page_size(10);
  TL_ASSERT_OK_AND_ASSIGN(const auto mine, manager_->ListCustomersInStage(Rep(), request));
  EXPECT_EQ(mine.customers_size(), 3);
  request.set_min_days_in_stage(61);  // now is 60 days after they entered
  TL_ASSERT_OK_AND_ASSIGN(const auto stalled, manager_->ListCustomersInStage(Admin(), request));
  EXPECT_EQ(stalled.customers_size(), 0);
  request.set_min_days_in_stage(59);
  TL_ASSERT_OK_AND_ASSIGN(const auto all, manager_->ListCustomersInStage(Admin(), request));
  EXPECT_EQ(all.customers_size(), 5);
  request.set_page_token("garbage");
  EXPECT_THAT(manager_->ListCustomersInStage(Admin(), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JourneyStateTest, HistoryPagesAndHidesInvisibleCustomers) {
  const std::string customer = ids::NewUuid();
  Created(customer, "华东", kDay0, "u-rep");
  Recorded(Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(24), tv1::CHANNEL_STORE_VISIT));
  Recorded(Touchpoint(ids::NewUuid(), customer, kDay0 + absl::Hours(48), tv1::CHANNEL_PHONE,
                      tv1::OUTCOME_WON));
  v1::ListStageHistoryRequest request;
  request.set_customer_id(customer);
  request.set_journey_id(journey_id_);
  request.set_page_size(2);
  TL_ASSERT_OK_AND_ASSIGN(const auto first, manager_->ListStageHistory(Rep(), request));
  ASSERT_EQ(first.visits_size(), 2);
  EXPECT_TRUE(first.visits(0).cause().entered());
  EXPECT_FALSE(first.visits(1).cause().touchpoint_id().empty());
  request.set_page_token(first.next_page_token());
  TL_ASSERT_OK_AND_ASSIGN(const auto second, manager_->ListStageHistory(Rep(), request));
  ASSERT_EQ(second.visits_size(), 1);
  EXPECT_EQ(second.visits(0).stage_id(), "purchase");
  EXPECT_TRUE(second.next_page_token().empty());
  request.clear_page_token();
  EXPECT_THAT(manager_->ListStageHistory(Rep("u-stranger"), request),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace touchline::journeys
