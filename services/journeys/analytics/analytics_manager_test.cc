// AnalyticsManager's rules against the in-memory store: no PostgreSQL, no Redis. The members'
// contributions are written by hand, so every figure below is the manager's arithmetic over
// known sums.
#include "services/journeys/analytics/analytics_manager.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/journeys/analytics/testing/in_memory_stage_stats_store.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/state/visit_rows.h"
#include "tests/testing/status_matchers.h"

namespace touchline::journeys {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using analytics::Contribution;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kJourney[] = "20000000-0000-4000-8000-000000000001";
const absl::CivilDay kDay0(2026, 3, 1);

absl::Time Noon(absl::CivilDay day) {
  return absl::FromCivil(day, absl::UTCTimeZone()) + absl::Hours(12);
}

// A stage of the journey with its stalled threshold.
v1::Stage StageOf(const std::string& id, v1::StageKind kind, int stalled_after_days = 0,
                  const std::string& name = "") {
  v1::Stage stage = testing::StageOf(id, name.empty() ? absl::StrCat(id, "名") : name, kind);
  stage.set_stalled_after_days(stalled_after_days);
  return stage;
}

// Version `version` of the journey with `stages`, in `state`.
v1::Journey JourneyOf(int version, std::vector<v1::Stage> stages,
                      v1::JourneyState state = v1::JOURNEY_STATE_PUBLISHED,
                      const std::string& id = kJourney) {
  v1::Journey journey;
  journey.set_journey_id(id);
  journey.set_version(version);
  journey.set_state(state);
  journey.set_display_name("经销商旅程");
  for (v1::Stage& stage : stages) *journey.add_stages() = std::move(stage);
  return journey;
}

// The dealers' funnel: awareness (stalled after 5 days) -> consideration (3) -> negotiation
// -> purchase (goal), or lost (exit).
v1::Journey Dealer(int version = 1) {
  return JourneyOf(
      version, {StageOf("awareness", v1::STAGE_KIND_ENTRY, 5),
                StageOf("consideration", v1::STAGE_KIND_NORMAL, 3),
                StageOf("negotiation", v1::STAGE_KIND_NORMAL),
                StageOf("purchase", v1::STAGE_KIND_GOAL), StageOf("lost", v1::STAGE_KIND_EXIT)});
}

// A member who reached `stages` in order, each but the last left after `stay`, and is in the
// last since `since`.
Contribution Walked(const std::vector<std::string>& stages, absl::CivilDay since = kDay0,
                    absl::Duration stay = absl::Hours(1)) {
  Contribution c;
  for (size_t i = 0; i < stages.size(); ++i) {
    analytics::StageContribution& figures = c.stages[stages[i]];
    figures.reached = 1;
    if (i + 1 == stages.size()) {
      figures.current = 1;
      continue;
    }
    figures.exits = 1;
    figures.exit_seconds = absl::ToDoubleSeconds(stay);
    ++figures.histogram[analytics::HistogramBucket(stay)];
  }
  c.current_stage = stages.back();
  c.current_since = since;
  return c;
}

// The field of each violation of `status`, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    fields.push_back(field);
  }
  return fields;
}

int64_t Nanos(const google::protobuf::Duration& d) { return TimeUtil::DurationToNanoseconds(d); }

class AnalyticsManagerTest : public ::testing::Test {
 protected:
  AnalyticsManagerTest() { store_.AddJourney(kTenant, Dealer()); }

  static auth::RequestContext Caller(pv1::EffectiveScope proto, std::string caller_id) {
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(caller_id));
  }
  static auth::RequestContext Admin() {
    return Caller(auth::testing::AdminScope(kTenant, "u-admin"), "u-admin");
  }
  // A rep who sees the customers of u-1.
  static auth::RequestContext Rep() {
    return Caller(auth::testing::RepScope("u-1"), "u-1");
  }
  static auth::RequestContext Partner() {
    return Caller(auth::testing::PartnerScope("p-1"), "u-partner");
  }

  // A member of `version` whose customer (of `owner`, `level`, shared with `grantee` when
  // set) entered on `entry_day`.
  void AddMember(Contribution contribution, const std::string& owner = "u-1",
                 absl::CivilDay entry_day = kDay0, int version = 1, const std::string& grantee = "",
                 cv1::CustomerLevel level = cv1::CUSTOMER_LEVEL_STANDARD) {
    analytics::testing::StatsMember member;
    member.customer.customer_id = absl::StrFormat("00000000-0000-4000-8000-%012d", ++customers_);
    member.customer.owner_id = owner;
    member.customer.region = "华东";
    member.customer.level = level;
    if (!grantee.empty()) member.customer.shares.push_back({.grantee = grantee});
    member.version = version;
    member.entry_day = entry_day;
    member.contribution = std::move(contribution);
    store_.AddMember(kTenant, kJourney, std::move(member));
  }

  static v1::GetStageAnalyticsRequest Request(int version = 0) {
    v1::GetStageAnalyticsRequest request;
    request.set_journey_id(kJourney);
    request.set_version(version);
    return request;
  }

  absl::StatusOr<v1::GetStageAnalyticsResponse> Analytics(
      const v1::GetStageAnalyticsRequest& request, const auth::RequestContext& caller = Admin()) {
    return manager_.GetStageAnalytics(caller, request);
  }

  // The stage ids of the response, in order.
  static std::vector<std::string> StageIds(const v1::GetStageAnalyticsResponse& response) {
    std::vector<std::string> ids;
    for (const v1::StageFigures& stage : response.stages()) ids.push_back(stage.stage_id());
    return ids;
  }

  // (channels, customers) of each common path of `figures`.
  static std::vector<std::pair<std::vector<int>, int64_t>> Paths(const v1::StageFigures& figures) {
    std::vector<std::pair<std::vector<int>, int64_t>> paths;
    for (const v1::ChannelPath& path : figures.common_paths()) {
      paths.emplace_back(std::vector<int>(path.channels().begin(), path.channels().end()),
                         path.customers());
    }
    return paths;
  }

  absl::Time now_ = Noon(kDay0 + 20);
  int customers_ = 0;
  analytics::testing::InMemoryStageStatsStore store_;
  const AnalyticsManager manager_{&store_, [this] { return now_; }};
};

TEST_F(AnalyticsManagerTest, RequestsNameTheirBadFields) {
  v1::GetStageAnalyticsRequest request = Request();
  request.set_journey_id("j-1");
  EXPECT_THAT(Analytics(request), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(Analytics(request).status()), ElementsAre("journey_id"));

  request = Request(-1);
  request.set_path_length(6);
  request.set_path_count(21);
  request.mutable_entered_after()->set_nanos(-1);
  request.mutable_entered_before()->set_seconds(-62135596801);  // before the year 1
  EXPECT_THAT(
      Fields(Analytics(request).status()),
      ElementsAre("version", "path_length", "path_count", "entered_after", "entered_before"));
  request = Request();
  request.set_path_length(-1);
  request.set_path_count(-1);
  EXPECT_THAT(Fields(Analytics(request).status()), ElementsAre("path_length", "path_count"));

  // Days, not times: 13:00 and 20:00 of one day are no range.
  request = Request();
  *request.mutable_entered_after() = ToProtoTime(Noon(kDay0 + 1) + absl::Hours(1));
  *request.mutable_entered_before() = ToProtoTime(Noon(kDay0 + 1) + absl::Hours(8));
  EXPECT_THAT(Fields(Analytics(request).status()), ElementsAre("entered_before"));
  *request.mutable_entered_before() = ToProtoTime(Noon(kDay0 + 2) - absl::Hours(11));
  TL_EXPECT_OK(Analytics(request));

  request = Request();
  request.set_path_length(analytics::kMaxPathLength);
  request.set_path_count(20);
  TL_EXPECT_OK(Analytics(request));
}

TEST_F(AnalyticsManagerTest, AJourneyOrVersionTheTenantLacksIsNotFound) {
  EXPECT_THAT(Analytics(Request(2)),
              StatusIs(absl::StatusCode::kNotFound,
                       absl::StrCat("journey ", kJourney, " has no version 2")));
  v1::GetStageAnalyticsRequest request = Request();
  const std::string other = "20000000-0000-4000-8000-000000000002";
  request.set_journey_id(other);
  EXPECT_THAT(Analytics(request),
              StatusIs(absl::StatusCode::kNotFound, absl::StrCat("journey ", other, " not found")));
  // Another tenant's journey is not this tenant's.
  store_.AddJourney("globex", JourneyOf(1, {StageOf("a", v1::STAGE_KIND_ENTRY)},
                                        v1::JOURNEY_STATE_PUBLISHED, other));
  EXPECT_THAT(Analytics(request), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AnalyticsManagerTest, FunnelConversionAndDropOff) {
  AddMember(Walked({"awareness", "consideration", "negotiation", "purchase"}));
  AddMember(Walked({"awareness", "consideration", "lost"}), "u-2");
  AddMember(Walked({"awareness", "consideration"}), "u-2");
  AddMember(Walked({"awareness"}));

  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response, Analytics(Request()));
  EXPECT_EQ(response.entered(), 4);
  ASSERT_THAT(StageIds(response),
              ElementsAre("awareness", "consideration", "negotiation", "purchase", "lost"));
  const int64_t reached[] = {4, 3, 1, 1, 1};
  const int64_t current[] = {1, 1, 0, 1, 1};
  const int64_t dropped[] = {0, 1, 2, 0, 0};
  const double conversion[] = {1, 0.75, 1.0 / 3, 1, 1};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(response.stages(i).stage_id());
    EXPECT_EQ(response.stages(i).reached(), reached[i]);
    EXPECT_EQ(response.stages(i).current(), current[i]);
    EXPECT_EQ(response.stages(i).dropped_off(), dropped[i]);
    EXPECT_DOUBLE_EQ(response.stages(i).conversion_from_previous(), conversion[i]);
  }
  EXPECT_EQ(response.stages(1).display_name(), "consideration名");
  EXPECT_EQ(response.stages(3).kind(), v1::STAGE_KIND_GOAL);

  // The rep sees its two customers: after a stage no one reached, conversion and drop-off
  // are 0.
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse mine, Analytics(Request(), Rep()));
  EXPECT_EQ(mine.entered(), 2);
  EXPECT_EQ(mine.stages(0).reached(), 2);
  EXPECT_EQ(mine.stages(1).reached(), 1);
  EXPECT_DOUBLE_EQ(mine.stages(1).conversion_from_previous(), 0.5);
  EXPECT_EQ(mine.stages(4).reached(), 0);
  EXPECT_EQ(mine.stages(4).dropped_off(), 1);  // from purchase
  EXPECT_DOUBLE_EQ(mine.stages(4).conversion_from_previous(), 0);
}

TEST_F(AnalyticsManagerTest, AfterAStageNoOneReachedNothingDropsOff) {
  AddMember(Walked({"awareness"}));
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response, Analytics(Request()));
  EXPECT_EQ(response.stages(1).dropped_off(), 1);
  EXPECT_EQ(response.stages(2).reached(), 0);
  EXPECT_EQ(response.stages(2).dropped_off(), 0);
  EXPECT_DOUBLE_EQ(response.stages(2).conversion_from_previous(), 0);
}

TEST_F(AnalyticsManagerTest, TimeInStageFromTheEndedStays) {
  for (const absl::Duration stay :
       {absl::Seconds(30), absl::Minutes(3), absl::Minutes(3), absl::Minutes(100)}) {
    AddMember(Walked({"awareness", "consideration"}, kDay0, stay));
  }
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response, Analytics(Request()));
  const v1::StageFigures& awareness = response.stages(0);
  EXPECT_EQ(awareness.completed_stays(), 4);
  EXPECT_EQ(Nanos(awareness.mean_time_in_stage()), int64_t{1597500000000});  // 6390 s / 4
  // Nearest rank: the 2nd of 4 (3 minutes: [2, 4) minutes, 2^1.5) and the 4th (100 minutes:
  // [64, 128), 2^6.5).
  EXPECT_NEAR(Nanos(awareness.p50_time_in_stage()),
              absl::ToInt64Nanoseconds(absl::Minutes(std::pow(2.0, 1.5))), 1000);
  EXPECT_NEAR(Nanos(awareness.p90_time_in_stage()),
              absl::ToInt64Nanoseconds(absl::Minutes(std::pow(2.0, 6.5))), 1000);
  const v1::StageFigures& consideration = response.stages(1);
  EXPECT_EQ(consideration.completed_stays(), 0);
  EXPECT_FALSE(consideration.has_mean_time_in_stage());
  EXPECT_FALSE(consideration.has_p50_time_in_stage());
  EXPECT_FALSE(consideration.has_p90_time_in_stage());
}

TEST_F(AnalyticsManagerTest, StalledCountsByTheClockAndEachVersionsThreshold) {
  // Version 2 lets customers consider for 10 days before they count as stalled.
  v1::Journey second = Dealer(2);
  second.mutable_stages(1)->set_stalled_after_days(10);
  store_.AddJourney(kTenant, second);
  AddMember(Walked({"awareness", "consideration"}, kDay0 + 1));  // since 03-02
  AddMember(Walked({"awareness", "consideration"}, kDay0 + 3));  // since 03-04
  AddMember(Walked({"awareness", "consideration"}, kDay0 + 3));
  AddMember(Walked({"awareness", "negotiation"}, kDay0));  // no threshold
  AddMember(Walked({"awareness", "consideration"}, kDay0 + 1), "u-1", kDay0, 2);

  const auto stalled = [&](absl::Time now, int stage = 1) -> int64_t {
    now_ = now;
    const absl::StatusOr<v1::GetStageAnalyticsResponse> response = Analytics(Request());
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->stages(stage).stalled() : -1;
  };
  const absl::Time midnight_0305 = absl::FromCivil(kDay0 + 4, absl::UTCTimeZone());
  // 3 days: stalled from the UTC day 03-05 for those since 03-02.
  EXPECT_EQ(stalled(midnight_0305 - absl::Nanoseconds(1)), 0);
  EXPECT_EQ(stalled(midnight_0305), 1);
  EXPECT_EQ(stalled(Noon(kDay0 + 6)), 3);   // 03-07: since 03-04 as well
  EXPECT_EQ(stalled(Noon(kDay0 + 10)), 3);  // version 2's member: not before 03-12
  EXPECT_EQ(stalled(Noon(kDay0 + 11)), 4);
  EXPECT_EQ(stalled(Noon(kDay0 + 100), 2), 0);  // negotiation has no threshold
  EXPECT_EQ(stalled(Noon(kDay0 + 100), 0), 0);  // no one is in awareness
}

TEST_F(AnalyticsManagerTest, EmotionsMostFrequentFirstAndMeanSentiment) {
  const auto with_touchpoints = [](Contribution c, const std::string& stage, int64_t touchpoints,
                                   analytics::SentimentCounts sentiments,
                                   analytics::EmotionCounts emotions) {
    analytics::StageContribution& figures = c.stages[stage];
    figures.touchpoints = touchpoints;
    figures.sentiments = sentiments;
    figures.emotions = emotions;
    return c;
  };
  // Emotions by label - 1: complaint, praise, anger, anxiety, confusion, satisfaction.
  Contribution first = with_touchpoints(Walked({"awareness", "consideration"}), "awareness", 3,
                                        {2, 0, 1}, {1, 0, 3, 0, 0, 0});
  first = with_touchpoints(std::move(first), "consideration", 2, {0, 0, 0}, {});
  AddMember(std::move(first));
  AddMember(with_touchpoints(Walked({"awareness", "negotiation"}), "awareness", 3, {1, 1, 0},
                             {1, 0, 0, 0, 0, 2}));
  AddMember(
      with_touchpoints(Walked({"awareness", "negotiation"}), "negotiation", 2, {0, 0, 2}, {}));

  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse response, Analytics(Request()));
  const v1::StageFigures& awareness = response.stages(0);
  EXPECT_EQ(awareness.touchpoints(), 6);
  EXPECT_EQ(awareness.sentiment().positive(), 3);
  EXPECT_EQ(awareness.sentiment().neutral(), 1);
  EXPECT_EQ(awareness.sentiment().negative(), 1);
  EXPECT_DOUBLE_EQ(awareness.mean_sentiment(), 0.4);  // (3 - 1) / 5 rated
  std::vector<std::pair<tv1::EmotionLabel, int64_t>> emotions;
  for (const v1::EmotionCount& e : awareness.emotions())
    emotions.emplace_back(e.label(), e.touchpoints());
  // Anger 3, then complaint and satisfaction (2 each) in label order; none of the others.
  EXPECT_THAT(emotions, ElementsAre(std::pair(tv1::EMOTION_LABEL_ANGER, int64_t{3}),
                                    std::pair(tv1::EMOTION_LABEL_COMPLAINT, int64_t{2}),
                                    std::pair(tv1::EMOTION_LABEL_SATISFACTION, int64_t{2})));
  // Touchpoints without a sentiment: no mean, no emotions.
  const v1::StageFigures& consideration = response.stages(1);
  EXPECT_EQ(consideration.touchpoints(), 2);
  EXPECT_EQ(consideration.mean_sentiment(), 0);
  EXPECT_THAT(consideration.emotions(), IsEmpty());
  EXPECT_DOUBLE_EQ(response.stages(2).mean_sentiment(), -1);
}

TEST_F(AnalyticsManagerTest, CommonPathsRankedAndCutToTheirLength) {
  const int phone = tv1::CHANNEL_PHONE, email = tv1::CHANNEL_EMAIL, wecom = tv1::CHANNEL_WECOM;
  const int store = tv1::CHANNEL_STORE_VISIT, app = tv1::CHANNEL_APP;
  const std::vector<std::vector<int>> paths = {{phone},
                                               {phone},
                                               {store, phone},
                                               {store, phone},
                                               {app, app, app, phone},
                                               {email, phone},
                                               {wecom, app, app, phone},
                                               {}};  // the last reached it with none
  for (const std::vector<int>& path : paths) {
    Contribution c = Walked({"awareness", "consideration"});
    if (!path.empty()) c.paths["consideration"] = path;
    AddMember(std::move(c));
  }
  const auto common = [&](int length, int count) {
    v1::GetStageAnalyticsRequest request = Request();
    request.set_path_length(length);
    request.set_path_count(count);
    const absl::StatusOr<v1::GetStageAnalyticsResponse> response = Analytics(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->stages(1) : v1::StageFigures();
  };
  using Ranked = std::vector<std::pair<std::vector<int>, int64_t>>;

  // Length 3 and 5 paths by default: both app paths end app, app, phone. Ties in channel
  // number order, element by element.
  const v1::StageFigures by_default = common(0, 0);
  EXPECT_EQ(
      Paths(by_default),
      (Ranked{{{phone}, 2}, {{store, phone}, 2}, {{app, app, phone}, 2}, {{email, phone}, 1}}));
  // The share is of the customers who reached the stage, with or without a path.
  EXPECT_EQ(by_default.reached(), 8);
  EXPECT_DOUBLE_EQ(by_default.common_paths(0).share(), 0.25);
  EXPECT_DOUBLE_EQ(by_default.common_paths(3).share(), 0.125);
  EXPECT_EQ(Paths(common(3, 2)), (Ranked{{{phone}, 2}, {{store, phone}, 2}}));
  // One channel: every path is the call.
  const v1::StageFigures last_only = common(1, 0);
  EXPECT_EQ(Paths(last_only), (Ranked{{{phone}, 7}}));
  EXPECT_DOUBLE_EQ(last_only.common_paths(0).share(), 0.875);
  EXPECT_EQ(Paths(common(5, 20)), (Ranked{{{phone}, 2},
                                          {{store, phone}, 2},
                                          {{email, phone}, 1},
                                          {{wecom, app, app, phone}, 1},
                                          {{app, app, app, phone}, 1}}));
  // Five by default: of those with one customer, the first two in channel order.
  for (const std::vector<int>& path : {std::vector<int>{wecom}, std::vector<int>{phone, wecom}}) {
    Contribution c = Walked({"awareness", "consideration"});
    c.paths["consideration"] = path;
    AddMember(std::move(c));
  }
  EXPECT_EQ(Paths(common(0, 0)), (Ranked{{{phone}, 2},
                                         {{store, phone}, 2},
                                         {{app, app, phone}, 2},
                                         {{phone, wecom}, 1},
                                         {{email, phone}, 1}}));
}

TEST_F(AnalyticsManagerTest, EveryVersionListsTheLatestStagesThenEarlierOnesNewestFirst) {
  const std::string id = "20000000-0000-4000-8000-000000000003";
  const auto add = [&](int version, std::vector<v1::Stage> stages,
                       v1::JourneyState state = v1::JOURNEY_STATE_PUBLISHED) {
    store_.AddJourney(kTenant, JourneyOf(version, std::move(stages), state, id));
  };
  add(1, {StageOf("awareness", v1::STAGE_KIND_ENTRY), StageOf("lost", v1::STAGE_KIND_EXIT)});
  add(2, {StageOf("awareness", v1::STAGE_KIND_ENTRY), StageOf("dormant", v1::STAGE_KIND_NORMAL)});
  add(3,
      {StageOf("awareness", v1::STAGE_KIND_ENTRY, 0, "认知"),
       StageOf("consideration", v1::STAGE_KIND_NORMAL), StageOf("purchase", v1::STAGE_KIND_GOAL)});
  add(4, {StageOf("awareness", v1::STAGE_KIND_ENTRY), StageOf("extra", v1::STAGE_KIND_NORMAL)},
      v1::JOURNEY_STATE_DRAFT);
  const auto member = [&](int version, const std::vector<std::string>& stages) {
    analytics::testing::StatsMember m;
    m.customer.customer_id = absl::StrFormat("00000000-0000-4000-8000-%012d", ++customers_);
    m.customer.owner_id = "u-1";
    m.version = version;
    m.entry_day = kDay0;
    m.contribution = Walked(stages);
    store_.AddMember(kTenant, id, std::move(m));
  };
  member(1, {"awareness", "lost"});
  member(2, {"awareness", "dormant"});
  member(3, {"awareness", "consideration"});
  member(3, {"awareness"});

  v1::GetStageAnalyticsRequest request = Request();
  request.set_journey_id(id);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse every, Analytics(request));
  EXPECT_THAT(StageIds(every),
              ElementsAre("awareness", "consideration", "purchase", "dormant", "lost"));
  // A stage's name and kind are the latest published version's; its figures every version's.
  EXPECT_EQ(every.stages(0).display_name(), "认知");
  EXPECT_EQ(every.stages(0).reached(), 4);
  EXPECT_EQ(every.stages(3).reached(), 1);
  EXPECT_EQ(every.stages(3).kind(), v1::STAGE_KIND_NORMAL);
  EXPECT_EQ(every.stages(4).reached(), 1);
  EXPECT_EQ(every.entered(), 4);

  request.set_version(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse first, Analytics(request));
  EXPECT_THAT(StageIds(first), ElementsAre("awareness", "lost"));
  EXPECT_EQ(first.stages(0).reached(), 1);
  EXPECT_EQ(first.stages(0).display_name(), "awareness名");
  EXPECT_EQ(first.entered(), 1);
  // A draft asked for by number lists its stages, with no one on them.
  request.set_version(4);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse draft, Analytics(request));
  EXPECT_THAT(StageIds(draft), ElementsAre("awareness", "extra"));
  EXPECT_EQ(draft.entered(), 0);
  EXPECT_EQ(draft.stages(0).reached(), 0);

  // A journey never published: its latest draft's stages.
  const std::string drafted = "20000000-0000-4000-8000-000000000004";
  store_.AddJourney(kTenant, JourneyOf(1, {StageOf("a", v1::STAGE_KIND_ENTRY)},
                                       v1::JOURNEY_STATE_DRAFT, drafted));
  store_.AddJourney(kTenant, JourneyOf(2, {StageOf("b", v1::STAGE_KIND_ENTRY)},
                                       v1::JOURNEY_STATE_DRAFT, drafted));
  request = Request();
  request.set_journey_id(drafted);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse drafts, Analytics(request));
  EXPECT_THAT(StageIds(drafts), ElementsAre("b"));
}

TEST_F(AnalyticsManagerTest, FiguresCountTheCustomersTheScopeSeesWhoEnteredInTheRange) {
  AddMember(Walked({"awareness"}), "u-1", kDay0);
  AddMember(Walked({"awareness", "consideration"}), "u-1", kDay0 + 2);
  AddMember(Walked({"awareness"}), "u-2", kDay0 + 1, 1, "partner:p-1");
  AddMember(Walked({"awareness"}), "u-3", kDay0 + 1, 1, "partner:p-1", cv1::CUSTOMER_LEVEL_VIP);

  const auto entered = [&](const auth::RequestContext& caller,
                           std::optional<absl::CivilDay> after = std::nullopt,
                           std::optional<absl::CivilDay> before = std::nullopt) -> int64_t {
    v1::GetStageAnalyticsRequest request = Request();
    if (after) *request.mutable_entered_after() = ToProtoTime(Noon(*after) + absl::Hours(11));
    if (before) *request.mutable_entered_before() = ToProtoTime(Noon(*before));
    const absl::StatusOr<v1::GetStageAnalyticsResponse> response = Analytics(request, caller);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->entered() : -1;
  };
  EXPECT_EQ(entered(Admin()), 4);
  EXPECT_EQ(entered(Rep()), 2);
  EXPECT_EQ(entered(Partner()), 1);  // not the VIP shared with it
  // Days, not times: entered_after 03-02 23:00 takes those of 03-02.
  EXPECT_EQ(entered(Admin(), kDay0 + 1), 3);
  EXPECT_EQ(entered(Admin(), kDay0 + 1, kDay0 + 2), 2);
  EXPECT_EQ(entered(Admin(), std::nullopt, kDay0 + 1), 1);
  EXPECT_EQ(entered(Rep(), kDay0 + 1), 1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetStageAnalyticsResponse mine, Analytics(Request(), Rep()));
  EXPECT_EQ(mine.stages(0).reached(), 2);
  EXPECT_EQ(mine.stages(1).reached(), 1);
}

}  // namespace
}  // namespace touchline::journeys
