#include "services/journeys/analytics/stage_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/journeys/path/testing/random_journeys.h"

namespace touchline::journeys::analytics {
namespace {

using ::testing::IsEmpty;

const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 3, 1, 23, 0, 0), absl::UTCTimeZone());

Visit Stay(const std::string& stage, absl::Time enter, absl::Time exit = absl::InfiniteFuture()) {
  Visit v;
  v.stage_id = stage;
  v.enter_time = enter;
  v.exit_time = exit;
  return v;
}

ContributionKey Key(const std::string& owner, absl::CivilDay day = absl::CivilDay(2026, 3, 1)) {
  return ContributionKey{
      .version = 1, .owner_id = owner, .region = "华东", .level = 2, .entry_day = day};
}

TEST(HistogramTest, BucketsArePowersOfTwoMinutes) {
  EXPECT_EQ(HistogramBucket(absl::ZeroDuration()), 0);
  EXPECT_EQ(HistogramBucket(absl::Seconds(59)), 0);
  EXPECT_EQ(HistogramBucket(absl::Minutes(1)), 1);
  EXPECT_EQ(HistogramBucket(absl::Seconds(119)), 1);
  EXPECT_EQ(HistogramBucket(absl::Minutes(2)), 2);
  EXPECT_EQ(HistogramBucket(absl::Minutes(3)), 2);
  EXPECT_EQ(HistogramBucket(absl::Minutes(4)), 3);
  EXPECT_EQ(HistogramBucket(absl::Hours(24)), 11);  // 1440 minutes: [1024, 2048)
  EXPECT_EQ(HistogramBucket(absl::Minutes(int64_t{1} << 29)), 30);
  EXPECT_EQ(HistogramBucket(absl::Minutes(int64_t{1} << 30)), 31);
  EXPECT_EQ(HistogramBucket(absl::Hours(24 * 365 * 5000)), 31);  // open-ended
  EXPECT_EQ(HistogramBucket(-absl::Minutes(5)), 0);
}

TEST(HistogramTest, PercentilesAreTheNearestRankBucketsGeometricMiddle) {
  Histogram h{};
  EXPECT_EQ(HistogramPercentile(h, 50), absl::ZeroDuration());
  h[1] = 5;   // [1, 2) minutes
  h[11] = 4;  // [1024, 2048) minutes
  h[12] = 1;  // [2048, 4096) minutes
  // 10 stays: the 5th is in bucket 1, the 9th in bucket 11.
  EXPECT_EQ(HistogramPercentile(h, 50), BucketMiddle(1));
  EXPECT_EQ(HistogramPercentile(h, 90), BucketMiddle(11));
  EXPECT_EQ(HistogramPercentile(h, 100), BucketMiddle(12));
  h[1] = 6;  // 11 stays: rank ceil(5.5) = 6, still bucket 1; rank ceil(9.9) = 10 in bucket 11
  EXPECT_EQ(HistogramPercentile(h, 50), BucketMiddle(1));
  EXPECT_EQ(HistogramPercentile(h, 90), BucketMiddle(11));
  // Geometric middles: sqrt(1 * 2) minutes, sqrt(1024 * 2048) minutes.
  EXPECT_NEAR(absl::ToDoubleSeconds(BucketMiddle(1)), 60 * std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(absl::ToDoubleMinutes(BucketMiddle(11)), std::sqrt(1024.0 * 2048.0), 1e-6);
  Histogram one{};
  one[0] = 1;
  EXPECT_EQ(HistogramPercentile(one, 90), BucketMiddle(0));
}

TEST(ContributionTest, EntryOnly) {
  const Contribution c = ContributionOf({Stay("awareness", kT0)});
  ASSERT_EQ(c.stages.size(), 1u);
  const StageContribution& a = c.stages.at("awareness");
  EXPECT_EQ(a.reached, 1);
  EXPECT_EQ(a.current, 1);
  EXPECT_EQ(a.exits, 0);
  EXPECT_EQ(c.current_stage, "awareness");
  EXPECT_EQ(c.current_since, absl::CivilDay(2026, 3, 1));
}

TEST(ContributionTest, MovesEndStaysAndCountTheirLengths) {
  const absl::Time t1 = kT0 + absl::Minutes(90), t2 = t1 + absl::Hours(25);
  const Contribution c = ContributionOf(
      {Stay("awareness", kT0, t1), Stay("consideration", t1, t2), Stay("purchase", t2)});
  const StageContribution& a = c.stages.at("awareness");
  EXPECT_EQ(a.reached, 1);
  EXPECT_EQ(a.current, 0);
  EXPECT_EQ(a.exits, 1);
  EXPECT_DOUBLE_EQ(a.exit_seconds, 5400);
  EXPECT_EQ(a.histogram[7], 1);  // 90 minutes: [64, 128)
  const StageContribution& b = c.stages.at("consideration");
  EXPECT_EQ(b.exits, 1);
  EXPECT_DOUBLE_EQ(b.exit_seconds, 25 * 3600);
  EXPECT_EQ(b.histogram[11], 1);  // 1500 minutes
  EXPECT_EQ(c.stages.at("purchase").current, 1);
  EXPECT_EQ(c.current_stage, "purchase");
  EXPECT_EQ(c.current_since, absl::CivilDay(2026, 3, 3));  // t2 = 03-03 00:30 UTC
}

TEST(ContributionTest, BackAndForthReachesOnceAndCountsEveryStay) {
  const absl::Time t1 = kT0 + absl::Minutes(1), t2 = t1 + absl::Minutes(2),
                   t3 = t2 + absl::Minutes(4);
  const Contribution c =
      ContributionOf({Stay("a", kT0, t1), Stay("b", t1, t2), Stay("a", t2, t3), Stay("b", t3)});
  EXPECT_EQ(c.stages.at("a").reached, 1);
  EXPECT_EQ(c.stages.at("a").exits, 2);
  EXPECT_DOUBLE_EQ(c.stages.at("a").exit_seconds, 60 + 240);
  EXPECT_EQ(c.stages.at("b").reached, 1);
  EXPECT_EQ(c.stages.at("b").exits, 1);
  EXPECT_EQ(c.stages.at("b").current, 1);
}

namespace tv1 = ::touchline::touchpoints::v1;

// Touchpoint fact `id` at `at`.
internal::Fact Touch(const std::string& id, absl::Time at, tv1::Channel channel,
                     tv1::Sentiment sentiment = tv1::SENTIMENT_UNSPECIFIED,
                     std::vector<tv1::EmotionLabel> emotions = {}) {
  internal::Fact fact = path_testing::FactAt(id, at);
  tv1::Touchpoint& t = *fact.mutable_touchpoint();
  t.set_touchpoint_id(id);
  t.set_channel(channel);
  t.set_sentiment(sentiment);
  for (tv1::EmotionLabel label : emotions) t.add_emotion_labels(label);
  return fact;
}

TEST(ContributionTest, TouchpointsCountInTheStayTheyFallInAndPathsEndAtTheFirstVisit) {
  const absl::Time t1 = kT0 + absl::Hours(1), t2 = t1 + absl::Hours(1), t3 = t2 + absl::Hours(1);
  Visit b = Stay("b", t2);
  b.cause = CauseKind::kTouchpoint;
  b.cause_id = "tp2";
  const std::vector<internal::Fact> facts = {
      Touch("tp3", t3, tv1::CHANNEL_STORE_VISIT, tv1::SENTIMENT_NEUTRAL),
      Touch("tp1", t1, tv1::CHANNEL_PHONE, tv1::SENTIMENT_POSITIVE, {tv1::EMOTION_LABEL_PRAISE}),
      Touch("tp2", t2, tv1::CHANNEL_WECOM, tv1::SENTIMENT_NEGATIVE,
            {tv1::EMOTION_LABEL_COMPLAINT, tv1::EMOTION_LABEL_ANGER})};
  const Contribution c = ContributionOf({Stay("a", kT0, t2), b}, facts);
  const StageContribution& a_figures = c.stages.at("a");
  EXPECT_EQ(a_figures.touchpoints, 1);
  EXPECT_EQ(a_figures.sentiments, (SentimentCounts{1, 0, 0}));
  EXPECT_EQ(a_figures.emotions, (EmotionCounts{0, 1, 0, 0, 0, 0}));
  // The touchpoint that moved the customer counts in the stage it moved it to.
  const StageContribution& b_figures = c.stages.at("b");
  EXPECT_EQ(b_figures.touchpoints, 2);
  EXPECT_EQ(b_figures.sentiments, (SentimentCounts{0, 1, 1}));
  EXPECT_EQ(b_figures.emotions, (EmotionCounts{1, 0, 1, 0, 0, 0}));
  // b's path ends with the touchpoint that moved the customer there; a had none before it.
  EXPECT_EQ(c.paths,
            (std::map<std::string, ChannelPath>{{"b", {tv1::CHANNEL_PHONE, tv1::CHANNEL_WECOM}}}));
  EXPECT_EQ(c.recent,
            (ChannelPath{tv1::CHANNEL_PHONE, tv1::CHANNEL_WECOM, tv1::CHANNEL_STORE_VISIT}));
}

TEST(ContributionTest, PathsKeepTheLastFiveTouchpointsOfTheFirstVisitOnly) {
  std::vector<internal::Fact> facts;
  for (int i = 0; i < 7; ++i) {
    facts.push_back(Touch(absl::StrCat("t", i), kT0 + absl::Minutes(i + 1),
                          i % 2 == 0 ? tv1::CHANNEL_APP : tv1::CHANNEL_PHONE));
  }
  const absl::Time t1 = kT0 + absl::Minutes(10), t2 = t1 + absl::Minutes(10);
  facts.push_back(Touch("t7", t2 + absl::Minutes(1), tv1::CHANNEL_EMAIL));
  // a, then b at t1 (by hand), then a again at t2: a's path is from before its first visit.
  Visit b = Stay("b", t1, t2);
  b.cause = CauseKind::kManual;
  b.cause_id = "m1";
  Visit again = Stay("a", t2);
  again.cause = CauseKind::kManual;
  again.cause_id = "m2";
  const Contribution c = ContributionOf({Stay("a", kT0, t1), b, again}, facts);
  EXPECT_EQ(
      c.paths,
      (std::map<std::string, ChannelPath>{{"b",
                                           {tv1::CHANNEL_APP, tv1::CHANNEL_PHONE, tv1::CHANNEL_APP,
                                            tv1::CHANNEL_PHONE, tv1::CHANNEL_APP}}}));
  EXPECT_EQ(c.stages.at("a").touchpoints, 8);
  EXPECT_EQ(c.recent.size(), 5u);
  EXPECT_EQ(c.recent.back(), tv1::CHANNEL_EMAIL);
}

// Advanced, fact by fact, always equals the contribution of the whole path and the facts so
// far, and the stored form keeps all of it.
TEST(ContributionPropertyTest, AdvancedEqualsContributionOfTheWholePath) {
  const absl::Time enter = kT0;
  path_testing::RandomJourneys random(20261207, enter);
  int touchpoints = 0, paths = 0;
  for (int iteration = 0; iteration < 300; ++iteration) {
    SCOPED_TRACE(absl::StrCat("iteration ", iteration));
    const v1::Journey journey = random.Journey();
    std::vector<internal::Fact> facts;
    // The mapper advances only facts at or after the member's entry.
    for (internal::Fact& fact : random.Facts(journey)) {
      if (absl::FromUnixSeconds(fact.occur_time().seconds()) >= enter) {
        facts.push_back(std::move(fact));
      }
    }
    std::sort(facts.begin(), facts.end(), path_testing::InOrder);
    std::vector<Visit> path = DerivePath(journey, enter, {});
    Contribution filed = ContributionOf(path);
    for (size_t i = 0; i < facts.size(); ++i) {
      std::vector<Visit> tail = {path.back()};
      Advance(journey, facts[i], tail);
      filed = Advanced(filed, facts[i], tail);
      path.back() = tail[0];
      if (tail.size() == 2) path.push_back(tail[1]);
      const std::span<const internal::Fact> so_far = std::span(facts).first(i + 1);
      ASSERT_EQ(filed, ContributionOf(DerivePath(journey, enter, so_far), so_far))
          << journey.DebugString() << "\nfact " << facts[i].DebugString();
      ASSERT_EQ(FromProto(ToProto(filed)), filed);
    }
    for (const auto& [stage, figures] : filed.stages) touchpoints += figures.touchpoints;
    paths += static_cast<int>(filed.paths.size());
  }
  // The generator must exercise touchpoints and paths, or the property holds vacuously.
  EXPECT_GT(touchpoints, 1000);
  EXPECT_GT(paths, 100);
}

// The rows of `rows` filed at `detail` by day (by month when `months`).
template <typename Row>
std::vector<Row> At(const std::vector<Row>& rows, Detail detail, bool months = false) {
  std::vector<Row> at;
  for (const Row& row : rows) {
    if (row.key.detail == detail && row.key.months == months) at.push_back(row);
  }
  return at;
}

TEST(RollupsTest, AMemberIsFiledAtEachDetailByDayAndByMonth) {
  const std::vector<RollupKey> rollups = RollupsOf(Key("u", absl::CivilDay(2026, 3, 17)));
  ASSERT_EQ(rollups.size(), 6u);
  for (const RollupKey& r : rollups) {
    EXPECT_EQ(r.key.version, 1);
    EXPECT_EQ(r.key.entry_day, r.months ? absl::CivilDay(2026, 3, 1) : absl::CivilDay(2026, 3, 17));
    EXPECT_EQ(r.key.owner_id, r.detail == Detail::kOwner ? "u" : "");
    EXPECT_EQ(r.key.region, r.detail == Detail::kTenant ? "" : "华东");
    EXPECT_EQ(r.key.level, r.detail == Detail::kTenant ? 0 : 2);
  }
  std::vector<RollupKey> sorted = rollups;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "six distinct rows";
}

TEST(DiffTest, APathChangeMovesOneCustomerBetweenPathRows) {
  Contribution before = ContributionOf({Stay("a", kT0)});
  before.paths["b"] = {1, 2};
  Contribution after = before;
  after.paths["b"] = {2, 2};
  after.recent = {9};  // not filed
  const StatsDelta d = Diff(Key("u"), before, Key("u"), after);
  EXPECT_THAT(d.stats, IsEmpty());
  ASSERT_EQ(d.paths.size(), 12u);  // two paths in each of the six rows
  for (const Detail detail : {Detail::kTenant, Detail::kRegion, Detail::kOwner}) {
    for (const bool months : {false, true}) {
      const std::vector<StatsDelta::Path> paths = At(d.paths, detail, months);
      ASSERT_EQ(paths.size(), 2u);
      EXPECT_EQ(paths[0].channels, (ChannelPath{1, 2}));
      EXPECT_EQ(paths[0].customers, -1);
      EXPECT_EQ(paths[1].channels, (ChannelPath{2, 2}));
      EXPECT_EQ(paths[1].customers, 1);
    }
  }
}

TEST(DiffTest, NothingChangedIsEmpty) {
  const Contribution c =
      ContributionOf({Stay("a", kT0, kT0 + absl::Hours(1)), Stay("b", kT0 + absl::Hours(1))});
  EXPECT_TRUE(Diff(Key("u"), c, Key("u"), c).empty());
}

TEST(DiffTest, AMoveChangesTheStagesInvolved) {
  const absl::Time t1 = kT0 + absl::Minutes(10);
  const StatsDelta d = Diff(Key("u"), ContributionOf({Stay("a", kT0)}), Key("u"),
                            ContributionOf({Stay("a", kT0, t1), Stay("b", t1)}));
  EXPECT_EQ(d.stats.size(), 12u);
  EXPECT_EQ(d.current.size(), 12u);
  const std::vector<StatsDelta::Stats> stats = At(d.stats, Detail::kOwner);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].stage_id, "a");
  EXPECT_EQ(stats[0].figures.reached, 0);
  EXPECT_EQ(stats[0].figures.current, -1);
  EXPECT_EQ(stats[0].figures.exits, 1);
  EXPECT_DOUBLE_EQ(stats[0].figures.exit_seconds, 600);
  EXPECT_EQ(stats[0].figures.histogram[4], 1);  // [8, 16) minutes
  EXPECT_EQ(stats[1].stage_id, "b");
  EXPECT_EQ(stats[1].figures.reached, 1);
  EXPECT_EQ(stats[1].figures.current, 1);
  // The same figures at every detail and period.
  for (const StatsDelta::Stats& row : d.stats) {
    EXPECT_EQ(row.figures, (row.stage_id == "a" ? stats[0] : stats[1]).figures);
  }
  const std::vector<StatsDelta::Current> current = At(d.current, Detail::kTenant, true);
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].stage_id, "a");
  EXPECT_EQ(current[0].current, -1);
  EXPECT_EQ(current[1].stage_id, "b");
  EXPECT_EQ(current[1].current, 1);
  EXPECT_EQ(current[1].stage_enter_day, absl::CivilDay(2026, 3, 1));
}

TEST(DiffTest, AChangeOfOwnerMovesTheOwnerRowsOnly) {
  const Contribution c =
      ContributionOf({Stay("a", kT0, kT0 + absl::Hours(1)), Stay("b", kT0 + absl::Hours(1))});
  const StatsDelta d = Diff(Key("u-1"), c, Key("u-2"), c);
  ASSERT_EQ(d.stats.size(), 8u);  // a and b, under each owner, by day and by month
  for (const StatsDelta::Stats& row : d.stats) {
    EXPECT_EQ(row.key.detail, Detail::kOwner);
    EXPECT_EQ(row.figures.reached, row.key.key.owner_id == "u-1" ? -1 : 1);
  }
  EXPECT_EQ(d.current.size(), 4u);
}

TEST(DiffTest, AnotherEntryDayOfTheSameMonthMovesTheDayRows) {
  const Contribution c = ContributionOf({Stay("a", kT0)});
  const StatsDelta d = Diff(Key("u", absl::CivilDay(2026, 3, 2)), c, Key("u"), c);
  ASSERT_EQ(d.stats.size(), 6u);  // the day rows of each detail, both days
  for (const Detail detail : {Detail::kTenant, Detail::kRegion, Detail::kOwner}) {
    const std::vector<StatsDelta::Stats> stats = At(d.stats, detail);
    ASSERT_EQ(stats.size(), 2u);
    EXPECT_EQ(stats[0].key.key.entry_day, absl::CivilDay(2026, 3, 1));
    EXPECT_EQ(stats[0].figures.reached, 1);
    EXPECT_EQ(stats[1].figures.reached, -1);
  }
  EXPECT_THAT(At(d.stats, Detail::kOwner, true), IsEmpty());
  // Into another month, the month rows move too.
  EXPECT_EQ(Diff(Key("u", absl::CivilDay(2026, 4, 1)), c, Key("u"), c).stats.size(), 12u);
}

TEST(DiffTest, LeavingAndEnteringAreTheWholeContribution) {
  const Contribution c =
      ContributionOf({Stay("a", kT0, kT0 + absl::Hours(1)), Stay("b", kT0 + absl::Hours(1))});
  const StatsDelta gone = Diff(Key("u"), c, Key("u"), {});
  const StatsDelta back = Diff(Key("u"), {}, Key("u"), c);
  ASSERT_EQ(gone.stats.size(), 12u);
  ASSERT_EQ(back.stats.size(), 12u);
  for (size_t i = 0; i < gone.stats.size(); ++i) {
    StageContribution sum = gone.stats[i].figures;
    AddFigures(sum, back.stats[i].figures);
    EXPECT_EQ(sum, StageContribution{});
  }
  EXPECT_THAT(back.current.front().stage_id, "b");
  EXPECT_THAT(ContributionOf({}).stages, IsEmpty());
}

}  // namespace
}  // namespace touchline::journeys::analytics
