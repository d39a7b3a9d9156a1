#include "services/journeys/analytics/stage_stats.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

TEST(ContributionTest, TailsOverTheSameEarlierVisitsDiffLikeWholePaths) {
  const absl::Time t1 = kT0 + absl::Hours(1), t2 = t1 + absl::Hours(2), t3 = t2 + absl::Hours(3);
  const std::vector<Visit> earlier = {Stay("a", kT0, t1), Stay("b", t1, t2)};
  const Visit open_a = Stay("a", t2);
  const std::vector<Visit> moved = {Stay("a", t2, t3), Stay("b", t3)};
  std::vector<Visit> whole_before = earlier, whole_after = earlier;
  whole_before.push_back(open_a);
  whole_after.insert(whole_after.end(), moved.begin(), moved.end());
  const StatsDelta whole =
      Diff(Key("u"), ContributionOf(whole_before), Key("u"), ContributionOf(whole_after));
  const StatsDelta tail =
      Diff(Key("u"), TailContribution({open_a}, {"b"}), Key("u"), TailContribution(moved, {"b"}));
  ASSERT_EQ(whole.stats.size(), tail.stats.size());
  for (size_t i = 0; i < whole.stats.size(); ++i) {
    EXPECT_EQ(whole.stats[i].stage_id, tail.stats[i].stage_id);
    EXPECT_EQ(whole.stats[i].figures, tail.stats[i].figures);
  }
  // b was reached before: the move changes its current and a's stays, not b's reached.
  ASSERT_EQ(tail.stats.size(), 2u);
  EXPECT_EQ(tail.stats[1].stage_id, "b");
  EXPECT_EQ(tail.stats[1].figures.reached, 0);
  EXPECT_EQ(tail.stats[1].figures.current, 1);
  EXPECT_EQ(tail.stats[0].figures.current, -1);
  EXPECT_EQ(tail.stats[0].figures.exits, 1);
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
  ASSERT_EQ(d.stats.size(), 2u);
  EXPECT_EQ(d.stats[0].stage_id, "a");
  EXPECT_EQ(d.stats[0].figures.reached, 0);
  EXPECT_EQ(d.stats[0].figures.current, -1);
  EXPECT_EQ(d.stats[0].figures.exits, 1);
  EXPECT_DOUBLE_EQ(d.stats[0].figures.exit_seconds, 600);
  EXPECT_EQ(d.stats[0].figures.histogram[4], 1);  // [8, 16) minutes
  EXPECT_EQ(d.stats[1].stage_id, "b");
  EXPECT_EQ(d.stats[1].figures.reached, 1);
  EXPECT_EQ(d.stats[1].figures.current, 1);
  ASSERT_EQ(d.current.size(), 2u);
  EXPECT_EQ(d.current[0].stage_id, "a");
  EXPECT_EQ(d.current[0].current, -1);
  EXPECT_EQ(d.current[1].stage_id, "b");
  EXPECT_EQ(d.current[1].current, 1);
  EXPECT_EQ(d.current[1].stage_enter_day, absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(d.stats_all.size(), 2u);
  EXPECT_EQ(d.current_all.size(), 2u);
}

TEST(DiffTest, AChangeOfOwnerMovesTheKeyedRowsOnly) {
  const Contribution c =
      ContributionOf({Stay("a", kT0, kT0 + absl::Hours(1)), Stay("b", kT0 + absl::Hours(1))});
  const StatsDelta d = Diff(Key("u-1"), c, Key("u-2"), c);
  EXPECT_THAT(d.stats_all, IsEmpty());
  EXPECT_THAT(d.current_all, IsEmpty());
  ASSERT_EQ(d.stats.size(), 4u);  // a and b, under each owner
  for (const StatsDelta::Stats& row : d.stats) {
    EXPECT_EQ(row.figures.reached, row.key.owner_id == "u-1" ? -1 : 1);
  }
  ASSERT_EQ(d.current.size(), 2u);
}

TEST(DiffTest, AnotherEntryDayMovesEveryRow) {
  const Contribution c = ContributionOf({Stay("a", kT0)});
  const StatsDelta d = Diff(Key("u", absl::CivilDay(2026, 3, 2)), c, Key("u"), c);
  ASSERT_EQ(d.stats_all.size(), 2u);
  EXPECT_EQ(d.stats_all[0].key.entry_day, absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(d.stats_all[0].figures.reached, 1);
  EXPECT_EQ(d.stats_all[1].figures.reached, -1);
  EXPECT_EQ(d.stats_all[0].key.owner_id, "");
}

TEST(DiffTest, LeavingAndEnteringAreTheWholeContribution) {
  const Contribution c =
      ContributionOf({Stay("a", kT0, kT0 + absl::Hours(1)), Stay("b", kT0 + absl::Hours(1))});
  const StatsDelta gone = Diff(Key("u"), c, Key("u"), {});
  const StatsDelta back = Diff(Key("u"), {}, Key("u"), c);
  ASSERT_EQ(gone.stats.size(), 2u);
  ASSERT_EQ(back.stats.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    StageContribution sum = gone.stats[i].figures;
    AddFigures(sum, back.stats[i].figures);
    EXPECT_EQ(sum, StageContribution{});
  }
  EXPECT_THAT(back.current_all.front().stage_id, "b");
  EXPECT_THAT(ContributionOf({}).stages, IsEmpty());
}

}  // namespace
}  // namespace touchline::journeys::analytics
