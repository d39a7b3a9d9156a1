// GetStageAnalytics against real PostgreSQL: the mapper fed as the consumers feed it (as
// state/journey_state_pgtest.cc does), the aggregates it keeps, and every figure compared with
// a brute-force computation over stage_visits and journey_members of the customers each scope
// sees.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/service_host/service_host.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/journeys/analytics/analytics_manager.h"
#include "services/journeys/analytics/stage_stats.h"
#include "services/journeys/analytics/stage_stats_store.h"
#include "services/journeys/state/journey_mapper.h"
#include "services/journeys/state/sql.h"
#include "services/journeys/state/visit_rows.h"
#include "services/journeys/testing/migrated_pool.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::journeys {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::TimeUtil;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kDay0 = absl::FromCivil(absl::CivilDay(2026, 3, 1), absl::UTCTimeZone());
const std::vector<std::string> kStages = {"awareness", "consideration", "negotiation", "purchase",
                                          "lost"};

// Every customer enters; store visits and calls make it consider, emails negotiate (and back:
// allow_backward), a win is the goal, a loss while considering the exit.
v1::Journey DealerJourney(const std::string& id) {
  v1::Journey j;
  j.set_journey_id(id);
  j.set_version(1);
  j.set_state(v1::JOURNEY_STATE_PUBLISHED);
  j.set_display_name("经销商旅程");
  j.set_allow_backward(true);
  const auto stage = [&](const char* stage_id, const char* name, v1::StageKind kind,
                         int stalled_days) {
    v1::Stage* s = j.add_stages();
    s->set_stage_id(stage_id);
    s->set_display_name(name);
    s->set_kind(kind);
    s->set_stalled_after_days(stalled_days);
  };
  stage("awareness", "认知", v1::STAGE_KIND_ENTRY, 5);
  stage("consideration", "考虑", v1::STAGE_KIND_NORMAL, 3);
  stage("negotiation", "谈判", v1::STAGE_KIND_NORMAL, 0);
  stage("purchase", "购买", v1::STAGE_KIND_GOAL, 0);
  stage("lost", "流失", v1::STAGE_KIND_EXIT, 0);
  const auto rule = [&](const char* to, const char* from) {
    v1::MappingRule* r = j.add_mapping_rules();
    r->set_to_stage_id(to);
    if (from != nullptr) r->add_from_stage_ids(from);
    return r->mutable_touchpoint();
  };
  rule("purchase", nullptr)->add_outcomes(tv1::OUTCOME_WON);
  rule("lost", "consideration")->add_outcomes(tv1::OUTCOME_LOST);
  tv1::Channel channels[] = {tv1::CHANNEL_STORE_VISIT, tv1::CHANNEL_PHONE};
  for (tv1::Channel c : channels) rule("consideration", nullptr)->add_channels(c);
  rule("negotiation", nullptr)->add_channels(tv1::CHANNEL_EMAIL);
  return j;
}

// A figure of one stage as the brute force computes it.
struct Expected {
  int64_t reached = 0, current = 0, stalled = 0, exits = 0;
  int64_t exit_micros = 0;
  std::vector<int> buckets;  // of every ended stay
  int64_t touchpoints = 0;
  std::array<int64_t, 4> sentiments{};  // by Sentiment number
  std::map<int, int64_t> emotions;      // by EmotionLabel number
  std::map<std::vector<int>, int64_t> paths;
};

// The path length and count every comparison asks for.
constexpr int kPathLength = 2;
constexpr int kPathCount = 20;

// The bucket of a stay of `micros`, computed independently of stage_stats.cc.
int BruteBucket(int64_t micros) {
  const int64_t minutes = micros / 60000000;
  int bucket = 0;
  while (bucket < 31 && minutes >= (int64_t{1} << bucket)) ++bucket;
  return bucket;
}

absl::Duration BruteMiddle(int bucket) { return absl::Minutes(std::pow(2.0, bucket - 0.5)); }

absl::Duration NearestRank(std::vector<int> buckets, int percent) {
  std::sort(buckets.begin(), buckets.end());
  const size_t rank = static_cast<size_t>(
      std::max<double>(1, std::ceil(percent / 100.0 * static_cast<double>(buckets.size()))));
  return BruteMiddle(buckets[rank - 1]);
}

class AnalyticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    store_ = std::make_unique<analytics::PgStageStatsStore>(pool_.get());
    manager_ = std::make_unique<AnalyticsManager>(store_.get(), [this] { return now_; });
    Publish(DealerJourney(journey_id_));
  }

  void Exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
      txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
      return absl::OkStatus();
    }));
  }

  void Publish(const v1::Journey& journey) {
    Exec(
        "INSERT INTO journeys (tenant_id, journey_id, version, state, display_name, body, "
        "create_time, update_time, publish_time) VALUES ($1, $2::uuid, $3::int, $4::smallint, $5, "
        "decode($6, 'hex'), now(), now(), now())",
        {kTenant, journey.journey_id(), absl::StrCat(journey.version()),
         absl::StrCat(static_cast<int>(journey.state())), journey.display_name(),
         absl::BytesToHexString(journey.SerializeAsString())});
  }

  ev::EventEnvelope Envelope(const google::protobuf::Message& payload, absl::Time at) {
    ev::EventEnvelope e = events::MakeEnvelope(payload, kTenant, "x", "x", "req-1", "u-actor");
    *e.mutable_occur_time() = ToProtoTime(at);
    return e;
  }

  // The customer as the test keeps it; contacts' version grows with every event.
  struct Person {
    std::string id;
    std::string owner, region;
    int level = 1;
    int version = 0;
    std::string merged_into;
  };

  static Person NewPerson(std::string owner, std::string region) {
    Person p;
    p.id = ids::NewUuid();
    p.owner = std::move(owner);
    p.region = std::move(region);
    return p;
  }

  cv1::Customer CustomerOf(Person& p) {
    cv1::Customer c;
    c.set_customer_id(p.id);
    c.set_etag(absl::StrCat(++p.version));
    c.set_state(p.merged_into.empty() ? cv1::CUSTOMER_STATE_ACTIVE : cv1::CUSTOMER_STATE_MERGED);
    c.set_merged_into_customer_id(p.merged_into);
    c.set_region(p.region);
    c.set_owner_id(p.owner);
    c.set_level(static_cast<cv1::CustomerLevel>(p.level));
    return c;
  }

  void ApplyCustomers(const google::protobuf::Message& payload, absl::Time at) {
    const ev::EventEnvelope e = Envelope(payload, at);
    TL_ASSERT_OK(
        pool_->Transact([&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, e); }));
  }

  void Created(Person& p, absl::Time at) {
    ev::CustomerCreated created;
    *created.mutable_customer() = CustomerOf(p);
    ApplyCustomers(created, at);
  }

  void Updated(Person& p, absl::Time at) {
    ev::CustomerUpdated updated;
    *updated.mutable_customer() = CustomerOf(p);
    ApplyCustomers(updated, at);
  }

  void Merge(Person& survivor, Person& merged, absl::Time at) {
    merged.merged_into = survivor.id;
    ev::CustomersMerged merge;
    *merge.mutable_survivor() = CustomerOf(survivor);
    *merge.mutable_merged() = CustomerOf(merged);
    merge.mutable_merge()->set_merge_id(ids::NewUuid());
    ApplyCustomers(merge, at);
  }

  void Unmerge(Person& survivor, Person& restored, absl::Time at) {
    restored.merged_into.clear();
    ev::CustomersUnmerged unmerge;
    *unmerge.mutable_survivor() = CustomerOf(survivor);
    *unmerge.mutable_restored() = CustomerOf(restored);
    ApplyCustomers(unmerge, at);
  }

  void Touch(const tv1::Touchpoint& t, bool deleted = false) {
    ev::EventEnvelope e;
    if (deleted) {
      ev::TouchpointDeleted d;
      *d.mutable_touchpoint() = t;
      e = Envelope(d, FromProtoTime(t.occur_time()));
    } else {
      ev::TouchpointRecorded r;
      *r.mutable_touchpoint() = t;
      e = Envelope(r, FromProtoTime(t.occur_time()));
    }
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) { return ApplyTouchpointEvent(txn, e); }));
  }

  static tv1::Touchpoint Touchpoint(const std::string& customer, absl::Time at,
                                    tv1::Channel channel,
                                    tv1::Outcome outcome = tv1::OUTCOME_UNSPECIFIED,
                                    tv1::Sentiment sentiment = tv1::SENTIMENT_UNSPECIFIED,
                                    std::vector<tv1::EmotionLabel> emotions = {}) {
    tv1::Touchpoint t;
    t.set_touchpoint_id(ids::NewUuid());
    t.set_customer_id(customer);
    *t.mutable_occur_time() = ToProtoTime(at);
    t.set_channel(channel);
    t.set_outcome(outcome);
    t.set_sentiment(sentiment);
    for (tv1::EmotionLabel label : emotions) t.add_emotion_labels(label);
    t.set_state(tv1::TOUCHPOINT_STATE_ACTIVE);
    return t;
  }

  void Share(const std::string& customer, const std::string& grantee) {
    Exec(
        "INSERT INTO customer_shares (tenant_id, customer_id, grantee, edit) "
        "VALUES ($1, $2::uuid, $3, false)",
        {kTenant, customer, grantee});
  }

  static auth::RequestContext Caller(pv1::EffectiveScope proto) {
    if (proto.user_id().empty()) proto.set_user_id("u-caller");
    if (proto.role_id().empty()) proto.set_role_id("role");
    proto.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
    std::string user = proto.user_id();
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(user));
  }

  // The scopes the figures are checked for, by name.
  static std::map<std::string, auth::RequestContext> Scopes() {
    std::map<std::string, auth::RequestContext> scopes;
    scopes["admin"] = Caller(auth::testing::AdminScope(kTenant, "u-admin"));
    pv1::EffectiveScope rep;
    rep.set_rank(10);
    rep.add_owner_ids("u-1");
    scopes["rep"] = Caller(rep);
    pv1::EffectiveScope manager;
    manager.set_rank(30);
    manager.set_vip_visible(true);
    manager.add_owner_ids("u-2");
    manager.add_regions("华东");
    scopes["regional manager"] = Caller(manager);
    scopes["partner"] = Caller(auth::testing::PartnerScope("p-1"));
    pv1::EffectiveScope territory;  // VIP-blind, with a team's shares
    territory.set_rank(20);
    territory.add_regions("华东");
    territory.add_regions("华南");
    territory.add_grantees("team:t-1");
    scopes["vip-blind territory"] = Caller(territory);
    pv1::EffectiveScope tenant_vip_blind;
    tenant_vip_blind.set_rank(20);
    tenant_vip_blind.set_all_customers(true);
    scopes["vip-blind tenant"] = Caller(tenant_vip_blind);
    return scopes;
  }

  // The figures of every stage for the members `caller` sees who entered in [from, before),
  // from stage_visits and journey_members as they are, at now_.
  std::map<std::string, Expected> BruteForce(const auth::RequestContext& caller,
                                             std::optional<absl::CivilDay> from,
                                             std::optional<absl::CivilDay> before,
                                             int64_t* entered) {
    std::map<std::string, auth::CustomerAttributes> customers;
    std::map<std::string, absl::Time> members;
    std::map<std::string, Expected> expected;
    *entered = 0;
    const absl::CivilDay today = analytics::UtcDay(now_);
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      for (const pqxx::row& row :
           txn.exec_params("SELECT customer_id::text, owner_id, region, level FROM customers "
                           "WHERE tenant_id = $1",
                           kTenant)) {
        customers[row[0].as<std::string>()] = auth::CustomerAttributes{row[0].as<std::string>(),
                                                                       row[1].as<std::string>(),
                                                                       row[2].as<std::string>(),
                                                                       row[3].as<int>(),
                                                                       {}};
      }
      for (const pqxx::row& row : txn.exec_params(
               "SELECT customer_id::text, grantee, edit FROM customer_shares WHERE tenant_id = $1",
               kTenant)) {
        customers[row[0].as<std::string>()].shares.push_back(
            {row[1].as<std::string>(), row[2].as<bool>()});
      }
      for (const pqxx::row& row :
           txn.exec_params("SELECT customer_id::text, " TL_PG_TO_MICROS(
                               "enter_time") " FROM journey_members WHERE tenant_id = $1 AND "
                                             "journey_id = $2::uuid",
                           kTenant, journey_id_)) {
        const std::string id = row[0].as<std::string>();
        const absl::Time enter = TimeOfMicros(row[1]);
        const absl::CivilDay day = analytics::UtcDay(enter);
        if (!caller.scope->Allows(auth::Access::kRead, customers.at(id))) continue;
        if ((from && day < *from) || (before && day >= *before)) continue;
        members[id] = enter;
        ++*entered;
      }
      // Each member's touchpoints and visits in fold order: (micros, fact id or cause id).
      using Key = std::pair<int64_t, std::string>;
      std::map<std::string, std::map<Key, tv1::Touchpoint>> touchpoints;
      for (const pqxx::row& row : txn.exec_params(
               "SELECT customer_id::text, body FROM customer_facts WHERE tenant_id = $1",
               kTenant)) {
        internal::Fact fact;
        if (!members.contains(row[0].as<std::string>()) || !ParseBody(row[1], fact) ||
            !fact.has_touchpoint()) {
          continue;
        }
        touchpoints[row[0].as<std::string>()][{absl::ToUnixMicros(FromProtoTime(fact.occur_time())),
                                               fact.fact_id()}] = fact.touchpoint();
      }
      std::map<std::string, std::vector<std::pair<Key, std::string>>> starts;  // -> stage
      std::map<std::string, std::set<std::string>> reached;
      for (const pqxx::row& row : txn.exec_params(
               "SELECT customer_id::text, stage_id, " TL_PG_TO_MICROS(
                   "enter_time") ", " TL_PG_TO_MICROS("exit_time") ", cause_id FROM "
                                                                         "stage_visits WHERE "
                                                                         "tenant_id = $1 "
                                                                         "AND journey_id = "
                                                                         "$2::uuid ORDER BY "
                                                                         "customer_id, seq",
               kTenant, journey_id_)) {
        const std::string id = row[0].as<std::string>();
        if (!members.contains(id)) continue;
        const std::string stage = row[1].as<std::string>();
        Expected& e = expected[stage];
        const Key start{row[2].as<int64_t>(), row[4].as<std::string>()};
        starts[id].emplace_back(start, stage);
        if (reached[id].insert(stage).second) {
          ++e.reached;
          // The channels of the last kPathLength touchpoints at or before the first visit.
          std::vector<int> path;
          for (const auto& [key, t] : touchpoints[id]) {
            if (key <= start) path.push_back(t.channel());
          }
          if (path.size() > kPathLength) path.erase(path.begin(), path.end() - kPathLength);
          if (!path.empty()) ++e.paths[path];
        }
        const absl::Time enter = TimeOfMicros(row[2]);
        if (row[3].is_null()) {
          ++e.current;
          const int days = stage == "awareness" ? 5 : stage == "consideration" ? 3 : 0;
          if (days > 0 && analytics::UtcDay(enter) <= today - days) ++e.stalled;
          continue;
        }
        const int64_t micros = row[3].as<int64_t>() - row[2].as<int64_t>();
        ++e.exits;
        e.exit_micros += micros;
        e.buckets.push_back(BruteBucket(micros));
      }
      // Each touchpoint counts in the stage of the last visit that began at or before it.
      for (const auto& [id, by_key] : touchpoints) {
        for (const auto& [key, t] : by_key) {
          const std::string* stage = nullptr;
          for (const auto& [start, stage_id] : starts[id]) {
            if (start <= key) stage = &stage_id;
          }
          if (stage == nullptr) continue;
          Expected& e = expected[*stage];
          ++e.touchpoints;
          ++e.sentiments[t.sentiment()];
          for (const int label : t.emotion_labels()) ++e.emotions[label];
        }
      }
      return absl::OkStatus();
    }));
    return expected;
  }

  // Every figure of GetStageAnalytics for `caller` equals the brute force's.
  void ExpectFiguresMatch(const std::string& name, const auth::RequestContext& caller,
                          std::optional<absl::CivilDay> from = std::nullopt,
                          std::optional<absl::CivilDay> before = std::nullopt, int version = 0) {
    SCOPED_TRACE(
        absl::StrCat(name, from ? absl::FormatCivilTime(*from) : "", " version ", version));
    v1::GetStageAnalyticsRequest request;
    request.set_journey_id(journey_id_);
    request.set_version(version);
    request.set_path_length(kPathLength);
    request.set_path_count(kPathCount);
    const auto at = [](absl::CivilDay day) {
      return ToProtoTime(absl::FromCivil(day, absl::UTCTimeZone()) + absl::Hours(13));
    };
    if (from) *request.mutable_entered_after() = at(*from);
    if (before) *request.mutable_entered_before() = at(*before);
    TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response,
                            manager_->GetStageAnalytics(caller, request));
    int64_t entered = 0;
    std::map<std::string, Expected> expected = BruteForce(caller, from, before, &entered);
    EXPECT_EQ(response.entered(), entered);
    ASSERT_EQ(response.stages_size(), static_cast<int>(kStages.size()));
    int64_t previous = -1;
    for (int i = 0; i < response.stages_size(); ++i) {
      const v1::StageFigures& got = response.stages(i);
      const Expected& want = expected[kStages[i]];
      SCOPED_TRACE(kStages[i]);
      EXPECT_EQ(got.stage_id(), kStages[i]);
      EXPECT_EQ(got.reached(), want.reached);
      EXPECT_EQ(got.current(), want.current);
      EXPECT_EQ(got.stalled(), want.stalled);
      EXPECT_EQ(got.completed_stays(), want.exits);
      EXPECT_EQ(got.touchpoints(), want.touchpoints);
      EXPECT_EQ(got.sentiment().positive(), want.sentiments[tv1::SENTIMENT_POSITIVE]);
      EXPECT_EQ(got.sentiment().neutral(), want.sentiments[tv1::SENTIMENT_NEUTRAL]);
      EXPECT_EQ(got.sentiment().negative(), want.sentiments[tv1::SENTIMENT_NEGATIVE]);
      std::map<int, int64_t> emotions;
      for (const v1::EmotionCount& emotion : got.emotions()) {
        emotions[emotion.label()] = emotion.touchpoints();
      }
      EXPECT_EQ(emotions, want.emotions);
      // The kPathCount most frequent, ties in channel order.
      std::vector<std::pair<std::vector<int>, int64_t>> ranked(want.paths.begin(),
                                                               want.paths.end());
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      if (ranked.size() > kPathCount) ranked.resize(kPathCount);
      std::vector<std::pair<std::vector<int>, int64_t>> paths;
      for (const v1::ChannelPath& path : got.common_paths()) {
        paths.emplace_back(std::vector<int>(path.channels().begin(), path.channels().end()),
                           path.customers());
      }
      EXPECT_EQ(paths, ranked);
      if (previous < 0) {
        EXPECT_EQ(got.conversion_from_previous(), 1);
        EXPECT_EQ(got.dropped_off(), 0);
      } else {
        EXPECT_DOUBLE_EQ(got.conversion_from_previous(),
                         previous == 0 ? 0 : static_cast<double>(want.reached) / previous);
        EXPECT_EQ(got.dropped_off(), std::max<int64_t>(0, previous - want.reached));
      }
      previous = want.reached;
      if (want.exits == 0) {
        EXPECT_FALSE(got.has_mean_time_in_stage());
        continue;
      }
      const auto nanos = [](const google::protobuf::Duration& d) {
        return TimeUtil::DurationToNanoseconds(d);
      };
      EXPECT_NEAR(nanos(got.mean_time_in_stage()),
                  1000.0 * static_cast<double>(want.exit_micros) / want.exits, 1000);
      EXPECT_NEAR(nanos(got.p50_time_in_stage()),
                  absl::ToInt64Nanoseconds(NearestRank(want.buckets, 50)), 1000);
      EXPECT_NEAR(nanos(got.p90_time_in_stage()),
                  absl::ToInt64Nanoseconds(NearestRank(want.buckets, 90)), 1000);
    }
  }

  int64_t NegativeRows() {
    int64_t negative = 0;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      negative = txn.exec(
                        "SELECT (SELECT count(*) FROM stage_stats WHERE reached < 0 OR current < 0 "
                        "OR exits < 0 OR exit_seconds < 0 OR 0 > ANY(exit_histogram) "
                        "OR touchpoints < 0 OR 0 > ANY(sentiments) OR 0 > ANY(emotions)) + "
                        "(SELECT count(*) FROM stage_current WHERE current < 0) + "
                        "(SELECT count(*) FROM stage_paths WHERE customers < 0)")[0][0]
                     .as<int64_t>();
      return absl::OkStatus();
    }));
    return negative;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"journeys_analytics"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<analytics::PgStageStatsStore> store_;
  std::unique_ptr<AnalyticsManager> manager_;
  absl::Time now_ = kDay0 + absl::Hours(24 * 25);
  const std::string journey_id_ = ids::NewUuid();
};

TEST_F(AnalyticsTest, RandomHistoriesGiveTheBruteForceFiguresForEveryScope) {
  std::mt19937 rng(20261207);
  const auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> owners = {"u-1", "u-2", "u-3"};
  const std::vector<std::string> regions = {"华东", "华南", "华北"};
  std::vector<Person> people(36);
  std::vector<tv1::Touchpoint> recorded;
  for (Person& p : people) {
    p.id = ids::NewUuid();
    p.owner = owners[pick(3)];
    p.region = regions[pick(3)];
    p.level = 1 + pick(3);                           // 3: VIP
    Created(p, kDay0 + absl::Hours(pick(24 * 75)));  // March to mid-May: months and days
    if (pick(3) == 0) Share(p.id, "partner:p-1");
    if (pick(4) == 0) Share(p.id, "team:t-1");
  }
  const tv1::Channel channels[] = {tv1::CHANNEL_STORE_VISIT, tv1::CHANNEL_PHONE, tv1::CHANNEL_EMAIL,
                                   tv1::CHANNEL_WECOM};
  const tv1::Outcome outcomes[] = {tv1::OUTCOME_UNSPECIFIED, tv1::OUTCOME_UNSPECIFIED,
                                   tv1::OUTCOME_WON, tv1::OUTCOME_LOST};
  const auto scopes = Scopes();
  // Stays begin up to day 100, a quarter of them in the last 6 days: stalled and not yet.
  now_ = kDay0 + absl::Hours(24 * 102);
  for (int step = 0; step < 260; ++step) {
    const absl::Time at = pick(4) == 0 ? now_ - absl::Minutes(pick(60 * 24 * 6))
                                       : kDay0 + absl::Minutes(pick(60 * 24 * 100));
    Person& p = people[pick(static_cast<int>(people.size()))];
    const int what = pick(20);
    if (what < 13) {  // a touchpoint, often late (times are random)
      std::vector<tv1::EmotionLabel> emotions;
      for (int label = 1; label <= 6; ++label) {
        if (pick(5) == 0) emotions.push_back(static_cast<tv1::EmotionLabel>(label));
      }
      recorded.push_back(Touchpoint(p.id, at, channels[pick(4)], outcomes[pick(4)],
                                    static_cast<tv1::Sentiment>(pick(4)), emotions));
      Touch(recorded.back());
    } else if (what < 15 && !recorded.empty()) {  // a deletion
      const size_t i = pick(static_cast<int>(recorded.size()));
      Touch(recorded[i], /*deleted=*/true);
      recorded.erase(recorded.begin() + static_cast<long>(i));
    } else if (what < 17) {  // owner, region or level
      if (pick(2) == 0) p.owner = owners[pick(3)];
      if (pick(2) == 0) p.region = regions[pick(3)];
      if (pick(2) == 0) p.level = 1 + pick(3);
      Updated(p, at);
    } else if (what < 19) {  // a merge into another customer on no merge
      Person& into = people[pick(static_cast<int>(people.size()))];
      const bool folded_into_p = std::any_of(
          people.begin(), people.end(), [&](const Person& o) { return o.merged_into == p.id; });
      if (&into != &p && p.merged_into.empty() && into.merged_into.empty() && !folded_into_p) {
        Merge(into, p, at);
      }
    } else if (!p.merged_into.empty()) {  // an unmerge
      Person& survivor = *std::find_if(people.begin(), people.end(),
                                       [&](const Person& o) { return o.id == p.merged_into; });
      if (survivor.merged_into.empty()) Unmerge(survivor, p, at);
    }
    if (step % 65 == 64) {
      for (const auto& [name, caller] : scopes) ExpectFiguresMatch(name, caller);
    }
  }
  for (const auto& [name, caller] : scopes) {
    ExpectFiguresMatch(name, caller);
    // Days of one month; whole months; days, a month and days; open ends mid-month.
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 3, 4), absl::CivilDay(2026, 3, 8));
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 4, 1), absl::CivilDay(2026, 5, 1));
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 3, 20), absl::CivilDay(2026, 5, 10));
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 3, 6), std::nullopt, 1);
    ExpectFiguresMatch(name, caller, std::nullopt, absl::CivilDay(2026, 4, 17));
  }
  EXPECT_EQ(NegativeRows(), 0);
}

TEST_F(AnalyticsTest, EmotionCurveAndCommonPaths) {
  const auto at = [](int hours) { return kDay0 + absl::Hours(hours); };
  // Three app visits, then a call: consideration. Another customer calls straight away.
  Person app = NewPerson("u-1", "华东");
  Person direct = NewPerson("u-2", "华南");
  Created(app, at(0));
  Created(direct, at(0));
  for (int i = 1; i <= 3; ++i) {
    Touch(Touchpoint(app.id, at(i), tv1::CHANNEL_APP, tv1::OUTCOME_UNSPECIFIED,
                     tv1::SENTIMENT_POSITIVE));
  }
  Touch(Touchpoint(app.id, at(4), tv1::CHANNEL_PHONE, tv1::OUTCOME_UNSPECIFIED,
                   tv1::SENTIMENT_NEGATIVE, {tv1::EMOTION_LABEL_COMPLAINT}));
  Touch(Touchpoint(direct.id, at(5), tv1::CHANNEL_PHONE, tv1::OUTCOME_UNSPECIFIED,
                   tv1::SENTIMENT_NEGATIVE,
                   {tv1::EMOTION_LABEL_COMPLAINT, tv1::EMOTION_LABEL_ANGER}));
  // A complaint synced late, while `direct` was still in awareness.
  Touch(Touchpoint(direct.id, at(2), tv1::CHANNEL_WECOM, tv1::OUTCOME_UNSPECIFIED,
                   tv1::SENTIMENT_NEUTRAL, {tv1::EMOTION_LABEL_ANXIETY}));

  v1::GetStageAnalyticsRequest request;
  request.set_journey_id(journey_id_);
  request.set_path_length(4);
  TL_ASSERT_OK_AND_ASSIGN(
      const v1::GetStageAnalyticsResponse response,
      manager_->GetStageAnalytics(Caller(auth::testing::AdminScope(kTenant, "u")), request));
  const v1::StageFigures& awareness = response.stages(0);
  EXPECT_EQ(awareness.touchpoints(), 4);  // three app visits, the late WeCom message
  EXPECT_EQ(awareness.sentiment().positive(), 3);
  EXPECT_EQ(awareness.sentiment().neutral(), 1);
  EXPECT_DOUBLE_EQ(awareness.mean_sentiment(), 0.75);
  EXPECT_THAT(awareness.common_paths(), ::testing::IsEmpty());
  const v1::StageFigures& consideration = response.stages(1);
  EXPECT_EQ(consideration.touchpoints(), 2);  // the calls that moved them there
  EXPECT_EQ(consideration.sentiment().negative(), 2);
  EXPECT_DOUBLE_EQ(consideration.mean_sentiment(), -1);
  ASSERT_EQ(consideration.emotions_size(), 2);
  EXPECT_EQ(consideration.emotions(0).label(), tv1::EMOTION_LABEL_COMPLAINT);
  EXPECT_EQ(consideration.emotions(0).touchpoints(), 2);
  EXPECT_EQ(consideration.emotions(1).label(), tv1::EMOTION_LABEL_ANGER);
  ASSERT_EQ(consideration.common_paths_size(), 2);
  // One customer each: ties in channel number order, element by element (WeCom 8 < app 13).
  EXPECT_THAT(consideration.common_paths(0).channels(),
              ::testing::ElementsAre(tv1::CHANNEL_WECOM, tv1::CHANNEL_PHONE));
  EXPECT_EQ(consideration.common_paths(0).customers(), 1);
  EXPECT_DOUBLE_EQ(consideration.common_paths(0).share(), 0.5);
  EXPECT_THAT(consideration.common_paths(1).channels(),
              ::testing::ElementsAre(tv1::CHANNEL_APP, tv1::CHANNEL_APP, tv1::CHANNEL_APP,
                                     tv1::CHANNEL_PHONE));
  // path_length out of range names the field.
  request.set_path_length(6);
  EXPECT_THAT(manager_->GetStageAnalytics(Caller(auth::testing::AdminScope(kTenant, "u")), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Members filed before migration 0003 (filed NULL, aggregates without touchpoints or paths)
// are completed by their next change.
TEST_F(AnalyticsTest, MembersFiledBeforeTheEmotionCurveAreCompletedByTheirNextChange) {
  Person p = NewPerson("u-1", "华东");
  Created(p, kDay0);
  Touch(Touchpoint(p.id, kDay0 + absl::Hours(1), tv1::CHANNEL_APP, tv1::OUTCOME_UNSPECIFIED,
                   tv1::SENTIMENT_POSITIVE));
  Touch(Touchpoint(p.id, kDay0 + absl::Hours(2), tv1::CHANNEL_PHONE));
  const auth::RequestContext admin = Caller(auth::testing::AdminScope(kTenant, "u"));
  // What the aggregates and the member held before 0003.
  Exec("UPDATE journey_members SET filed = NULL");
  Exec(
      "UPDATE stage_stats SET touchpoints = 0, sentiments = '{0,0,0}', emotions = "
      "'{0,0,0,0,0,0}'");
  Exec("DELETE FROM stage_paths");
  Touch(Touchpoint(p.id, kDay0 + absl::Hours(3), tv1::CHANNEL_EMAIL, tv1::OUTCOME_UNSPECIFIED,
                   tv1::SENTIMENT_NEGATIVE, {tv1::EMOTION_LABEL_ANXIETY}));
  ExpectFiguresMatch("admin", admin);
  ExpectFiguresMatch("rep", Scopes().at("rep"));
  EXPECT_EQ(NegativeRows(), 0);
}

TEST_F(AnalyticsTest, StalledCountsThoseInTheStageSinceTheCutOff) {
  Person p = NewPerson("u-1", "华东");
  Created(p, kDay0);
  Touch(Touchpoint(p.id, kDay0 + absl::Hours(30), tv1::CHANNEL_PHONE));  // consideration 03-02
  const auto stalled = [&](absl::Time now) {
    now_ = now;
    v1::GetStageAnalyticsRequest request;
    request.set_journey_id(journey_id_);
    const absl::StatusOr<v1::GetStageAnalyticsResponse> response =
        manager_->GetStageAnalytics(Caller(auth::testing::AdminScope(kTenant, "u")), request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response->stages(1).stalled();
  };
  // stalled_after_days 3: stalled from 03-05 (UTC days).
  EXPECT_EQ(stalled(kDay0 + absl::Hours(24 * 4 - 1)), 0);
  EXPECT_EQ(stalled(kDay0 + absl::Hours(24 * 4)), 1);
  EXPECT_EQ(stalled(kDay0 + absl::Hours(24 * 30)), 1);
  Touch(Touchpoint(p.id, kDay0 + absl::Hours(24 * 6), tv1::CHANNEL_EMAIL));  // negotiation
  EXPECT_EQ(stalled(kDay0 + absl::Hours(24 * 30)), 0);
}

// Stays that began on each day around the stalled cut-off, for every scope (each detail of the
// aggregates) and entry range: the stalled counts read only the days after the longest
// threshold's cut-off, so a day too many or too few shows.
TEST_F(AnalyticsTest, StalledCountsOnEveryDayAroundTheCutOffForEveryScope) {
  const std::vector<std::string> owners = {"u-1", "u-2", "u-3"};
  const std::vector<std::string> regions = {"华东", "华南"};
  int i = 0;
  for (int day = 0; day < 9; ++day) {
    for (int k = 0; k < 3; ++k, ++i) {
      Person p = NewPerson(owners[i % 3], regions[i % 2]);
      p.level = 1 + i % 3;  // 3: VIP
      // In awareness (stalled after 5 days) from 02-27 to 03-07, 02-27 and 02-28 in February.
      Created(p, kDay0 + absl::Hours(24 * (day - 2) + k));
      // Two of three to consideration (stalled after 3 days) on `day`, 03-01 to 03-09.
      if (k < 2) Touch(Touchpoint(p.id, kDay0 + absl::Hours(24 * day + 5 * k), tv1::CHANNEL_PHONE));
    }
  }
  now_ = kDay0 + absl::Hours(24 * 6 + 12);  // 03-07: stalled from 03-04 and before
  for (const auto& [name, caller] : Scopes()) {
    ExpectFiguresMatch(name, caller);
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 3, 1));
    ExpectFiguresMatch(name, caller, absl::CivilDay(2026, 2, 10), std::nullopt);
  }
  v1::GetStageAnalyticsRequest request;
  request.set_journey_id(journey_id_);
  TL_ASSERT_OK_AND_ASSIGN(
      const v1::GetStageAnalyticsResponse all,
      manager_->GetStageAnalytics(Caller(auth::testing::AdminScope(kTenant, "u")), request));
  EXPECT_EQ(all.stages(0).current(), 9);
  EXPECT_EQ(all.stages(0).stalled(), 4);  // entered on 02-27 to 03-02
  EXPECT_EQ(all.stages(1).current(), 18);
  EXPECT_EQ(all.stages(1).stalled(), 8);  // entered on 03-01 to 03-04
}

TEST_F(AnalyticsTest, EntryDaysFilterTheMembers) {
  Person early = NewPerson("u-1", "华东");
  Person late = NewPerson("u-1", "华东");
  Created(early, kDay0 + absl::Hours(23));         // 03-01
  Created(late, kDay0 + absl::Hours(24 * 2 + 1));  // 03-03
  const auto entered = [&](std::optional<absl::Time> after, std::optional<absl::Time> before) {
    v1::GetStageAnalyticsRequest request;
    request.set_journey_id(journey_id_);
    if (after) *request.mutable_entered_after() = ToProtoTime(*after);
    if (before) *request.mutable_entered_before() = ToProtoTime(*before);
    const absl::StatusOr<v1::GetStageAnalyticsResponse> response =
        manager_->GetStageAnalytics(Caller(auth::testing::AdminScope(kTenant, "u")), request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response->entered();
  };
  EXPECT_EQ(entered(std::nullopt, std::nullopt), 2);
  // Days, not times: 03-01 23:59 is "on or after 03-01", entered_before 03-03 12:00 excludes 03-03.
  EXPECT_EQ(entered(kDay0 + absl::Hours(23) + absl::Minutes(59), std::nullopt), 2);
  EXPECT_EQ(entered(kDay0 + absl::Hours(24), std::nullopt), 1);
  EXPECT_EQ(entered(std::nullopt, kDay0 + absl::Hours(24 * 2 + 12)), 1);
  EXPECT_EQ(entered(std::nullopt, kDay0 + absl::Hours(24 * 3)), 2);
  // A late touchpoint moves the late customer's entry to 03-01: re-keyed.
  Touch(Touchpoint(late.id, kDay0 + absl::Hours(2), tv1::CHANNEL_WECOM));
  EXPECT_EQ(entered(std::nullopt, kDay0 + absl::Hours(24)), 2);
}

TEST_F(AnalyticsTest, RowsFallToZeroNeverBelow) {
  Person survivor = NewPerson("u-1", "华东");
  Person merged = NewPerson("u-2", "华南");
  Created(survivor, kDay0);
  Created(merged, kDay0 + absl::Hours(24 * 3));
  Touch(Touchpoint(merged.id, kDay0 + absl::Hours(24 * 4), tv1::CHANNEL_PHONE));
  Merge(survivor, merged, kDay0 + absl::Hours(24 * 5));
  // The merged customer's rows are all zero now, and stay.
  int64_t rows = -1, nonzero = -1;
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
    const pqxx::row r = txn.exec_params1(
        "SELECT count(*), count(*) FILTER (WHERE reached <> 0 OR current <> 0 OR exits <> 0) "
        "FROM stage_stats WHERE tenant_id = $1 AND owner_id = 'u-2'",
        kTenant);
    rows = r[0].as<int64_t>();
    nonzero = r[1].as<int64_t>();
    return absl::OkStatus();
  }));
  EXPECT_EQ(rows, 4);  // awareness, consideration; by day and by month
  EXPECT_EQ(nonzero, 0);
  EXPECT_EQ(NegativeRows(), 0);
  ExpectFiguresMatch("admin", Caller(auth::testing::AdminScope(kTenant, "u")));
  // A contribution taken away twice would go negative: the statement fails.
  analytics::Contribution c;
  c.stages["awareness"].reached = 1;
  const analytics::ContributionKey key{.version = 1,
                                       .owner_id = "u-2",
                                       .region = "华南",
                                       .level = 1,
                                       .entry_day = absl::CivilDay(2026, 3, 4)};
  EXPECT_THAT(pool_->Transact([&](pqxx::work& txn) {
    analytics::ApplyStatsDelta(txn, kTenant, journey_id_, analytics::Diff(key, c, key, {}));
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(NegativeRows(), 0);
  Unmerge(survivor, merged, kDay0 + absl::Hours(24 * 6));
  ExpectFiguresMatch("admin", Caller(auth::testing::AdminScope(kTenant, "u")));
}

TEST_F(AnalyticsTest, RequestsAreChecked) {
  const auth::RequestContext admin = Caller(auth::testing::AdminScope(kTenant, "u"));
  v1::GetStageAnalyticsRequest request;
  request.set_journey_id("not-a-uuid");
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_journey_id(journey_id_);
  request.set_version(-1);
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_version(0);
  request.mutable_entered_after()->set_nanos(-1);
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  *request.mutable_entered_after() = ToProtoTime(kDay0 + absl::Hours(30));
  *request.mutable_entered_before() = ToProtoTime(kDay0 + absl::Hours(25));  // the same day
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.clear_entered_before();
  request.set_version(2);
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request), StatusIs(absl::StatusCode::kNotFound));
  request.set_version(0);
  request.set_journey_id(ids::NewUuid());
  EXPECT_THAT(manager_->GetStageAnalytics(admin, request), StatusIs(absl::StatusCode::kNotFound));
  request.set_journey_id(journey_id_);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response,
                          manager_->GetStageAnalytics(admin, request));
  ASSERT_EQ(response.stages_size(), 5);
  EXPECT_EQ(response.stages(1).display_name(), "考虑");
  EXPECT_EQ(response.stages(3).kind(), v1::STAGE_KIND_GOAL);
}

// Migration 0005 files the aggregates of 0002 and 0003 (per owner, region, level and entry day)
// again at its three details by day and by month: every scope sums what it summed before.
TEST(StageRollupsMigrationTest, RefilesTheKeyedRowsAtEveryDetailAndPeriod) {
  touchline::testing::ScopedSchema schema{"journeys_rollups"};
  const std::string dsn = touchline::testing::TestPgDsn();
  const std::vector<pg::Migration>& all = pg::journeys_migrations();
  ASSERT_EQ(all[4].version, 5);
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "journeys", {all.begin(), all.begin() + 4}));
  pg::PoolOptions options;
  options.dsn = dsn;
  options.search_path = schema.name();
  TL_ASSERT_OK_AND_ASSIGN(const std::unique_ptr<pg::Pool> pool, pg::Pool::Create(options));
  const std::string journey = ids::NewUuid();
  TL_ASSERT_OK(pool->Transact([&](pqxx::work& txn) {
    // Two customers' worth in 华东 (one day in February, one in March) and one in 华南, the
    // last also in the _all table as 0002 kept it; the _all rows are not read again.
    for (const auto& [owner, region, level, day, reached] :
         {std::tuple{"u-1", "华东", 1, "2026-02-27", 2},
          std::tuple{"u-2", "华东", 2, "2026-03-02", 1},
          std::tuple{"u-2", "华南", 1, "2026-03-02", 1}}) {
      txn.exec_params(
          "INSERT INTO stage_stats VALUES ('t', $1, 1, 'a', $2, $3, $4, $5, $6, $6, 1, 90, "
          "array_fill(0::bigint, ARRAY[32]), 3, '{1,1,1}', '{0,0,2,0,0,0}')",
          journey, owner, region, level, day, reached);
      txn.exec_params("INSERT INTO stage_current VALUES ('t', $1, 1, 'a', $2, $3, $4, $5, $5, $6)",
                      journey, owner, region, level, day, reached);
      txn.exec_params(
          "INSERT INTO stage_paths VALUES ('t', $1, 1, 'a', $2, $3, $4, $5, '{1,4,2}', $6)",
          journey, owner, region, level, day, reached);
    }
    txn.exec_params(
        "INSERT INTO stage_stats_all (tenant_id, journey_id, version, stage_id, entry_day, "
        "reached, current, exits, exit_seconds, exit_histogram) VALUES ('t', $1, 1, 'a', "
        "'2026-03-02', 9, 9, 9, 9, array_fill(0::bigint, ARRAY[32]))",
        journey);
    return absl::OkStatus();
  }));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "journeys", all));
  // The tenant's rows: one a day and one a month (February, March); the two March days sum.
  TL_ASSERT_OK(pool->Transact([&](pqxx::work& txn) {
    EXPECT_EQ(txn.exec("SELECT array_agg(entry_day::text || ':' || reached ORDER BY entry_day) "
                       "FROM stage_stats WHERE detail = 0 AND months")[0][0]
                  .as<std::string>(),
              "{2026-02-01:2,2026-03-01:2}");
    EXPECT_EQ(txn.exec("SELECT count(*) FROM stage_stats WHERE detail = 0 AND NOT months")[0][0]
                  .as<int>(),
              2);
    return absl::OkStatus();
  }));

  analytics::PgStageStatsStore store(pool.get());
  const auto totals =
      [&](const pv1::EffectiveScope& proto, std::optional<absl::CivilDay> from,
          std::optional<absl::CivilDay> before) -> absl::StatusOr<analytics::TotalsByStage> {
    TL_ASSIGN_OR_RETURN(const std::shared_ptr<const auth::Scope> scope,
                        auth::Scope::Compile(proto));
    return store.Totals(analytics::TotalsQuery{.tenant_id = "t",
                                               .journey_id = journey,
                                               .from_day = from,
                                               .before_day = before,
                                               .scope = scope.get(),
                                               .current_since_after = absl::CivilDay(2026, 1, 1)});
  };
  pv1::EffectiveScope admin = auth::testing::AdminScope("t", "u");
  pv1::EffectiveScope east;
  east.set_tenant_id("t");
  east.set_user_id("u-m");
  east.set_vip_visible(true);
  east.add_regions("华东");
  pv1::EffectiveScope owner = east;
  owner.clear_regions();
  owner.add_owner_ids("u-2");
  using Day = std::optional<absl::CivilDay>;
  const Day open;
  const Day march(absl::CivilDay(2026, 3, 1));
  struct Case {
    pv1::EffectiveScope scope;
    Day from, before;
    int64_t reached;  // = current = members on the path
    int64_t rows;     // old rows summed: 3 touchpoints and 2 of emotion 3 each
  };
  for (const Case& c :
       {Case{admin, open, open, 4, 3}, Case{east, open, open, 3, 2}, Case{owner, open, open, 2, 2},
        Case{admin, open, march, 2, 1},
        Case{east, Day(absl::CivilDay(2026, 2, 1)), Day(absl::CivilDay(2026, 4, 1)), 3, 2},
        Case{owner, Day(absl::CivilDay(2026, 3, 2)), open, 2, 2},
        Case{east, Day(absl::CivilDay(2026, 2, 28)), march, 0, 0}}) {
    SCOPED_TRACE(absl::StrCat(c.scope.ShortDebugString(), " ", c.reached));
    TL_ASSERT_OK_AND_ASSIGN(const analytics::TotalsByStage got, totals(c.scope, c.from, c.before));
    if (c.rows == 0) {
      EXPECT_THAT(got, ::testing::IsEmpty());
      continue;
    }
    ASSERT_EQ(got.size(), 1u);
    const analytics::StageTotals& a = got.begin()->second;
    EXPECT_EQ(a.figures.reached, c.reached);
    EXPECT_EQ(a.figures.current, c.reached);
    EXPECT_EQ(a.figures.exits, c.rows);
    EXPECT_DOUBLE_EQ(a.figures.exit_seconds, 90.0 * c.rows);
    EXPECT_EQ(a.figures.touchpoints, 3 * c.rows);
    EXPECT_EQ(a.figures.sentiments, (analytics::SentimentCounts{c.rows, c.rows, c.rows}));
    EXPECT_EQ(a.figures.emotions[2], 2 * c.rows);
    int64_t current = 0;
    for (const auto& [day, count] : a.current_since) current += count;
    EXPECT_EQ(current, c.reached);
    EXPECT_EQ(a.paths, (std::map<analytics::ChannelPath, int64_t>{{{1, 4, 2}, c.reached}}));
  }
}

}  // namespace
}  // namespace touchline::journeys
