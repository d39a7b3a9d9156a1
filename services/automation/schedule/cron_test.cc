#include "services/automation/schedule/cron.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

absl::TimeZone Zone(std::string_view name) {
  absl::StatusOr<absl::TimeZone> zone = LoadZone(name);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return zone.value_or(absl::UTCTimeZone());
}

// The instant of a civil time in `zone` (its first occurrence).
absl::Time At(std::string_view zone, int year, int month, int day, int hour, int minute,
              int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), Zone(zone));
}

absl::Time Utc(int year, int month, int day, int hour, int minute, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

std::string Rfc3339(absl::Time time) { return absl::FormatTime(time, absl::UTCTimeZone()); }

// The first `count` times `expression` fires after `after` in `zone`, in RFC 3339 UTC.
std::vector<std::string> Fires(std::string_view expression, absl::Time after,
                               std::string_view zone = "UTC", int count = 1) {
  absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression);
  EXPECT_TRUE(schedule.ok()) << expression << ": " << schedule.status();
  std::vector<std::string> fires;
  if (!schedule.ok()) return fires;
  for (int i = 0; i < count; ++i) {
    after = schedule->Next(after, Zone(zone));
    fires.push_back(Rfc3339(after));
  }
  return fires;
}

absl::Status ParseError(std::string_view expression) {
  return CronSchedule::Parse(expression).status();
}

TEST(CronParseTest, AcceptsFieldsSeparatedByAnyWhiteSpace) {
  EXPECT_THAT(ParseError("0 9 * * 1-5"), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(ParseError("  0\t9  *\n* 1-5 "), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(ParseError("0-59/1,5 0-23 1-31 1-12 0-7"), StatusIs(absl::StatusCode::kOk));
}

// Each expression is INVALID_ARGUMENT with exactly its message.
void ExpectInvalid(std::initializer_list<std::pair<std::string_view, std::string_view>> cases) {
  for (const auto& [expression, message] : cases) {
    EXPECT_THAT(ParseError(expression),
                StatusIs(absl::StatusCode::kInvalidArgument, std::string(message)))
        << expression;
  }
}

TEST(CronParseTest, CountsFields) {
  ExpectInvalid({
      {"* * * * * *", "expected 5 fields, found 6"},
      {"* * * *", "expected 5 fields, found 4"},
      {"", "expected 5 fields, found 0"},
      {" \t ", "expected 5 fields, found 0"},
  });
}

TEST(CronParseTest, LimitsLength) {
  const std::string longest = std::string(kMaxCronLength - 9, ' ') + "0 9 * * *";
  ASSERT_EQ(longest.size(), 256u);
  EXPECT_THAT(ParseError(longest), StatusIs(absl::StatusCode::kOk));
  ExpectInvalid({{longest + " ", "expected at most 256 characters, found 257"}});
}

TEST(CronParseTest, NamesTheFieldAndPositionOfAValueOutOfRange) {
  ExpectInvalid({
      {"0 9 * * 1-8", "day of week: 8 at character 11 is out of range 0-7"},
      {"60 * * * *", "minute: 60 at character 1 is out of range 0-59"},
      {"0 24 * * *", "hour: 24 at character 3 is out of range 0-23"},
      {"0 0  0 * *", "day of month: 0 at character 6 is out of range 1-31"},
      {"0 0 1,32 * *", "day of month: 32 at character 7 is out of range 1-31"},
      {"0 0 * 13 *", "month: 13 at character 7 is out of range 1-12"},
      {"0 0 * 0 *", "month: 0 at character 7 is out of range 1-12"},
      {"99999999999 * * * *", "minute: 99999999999 at character 1 is out of range 0-59"},
  });
}

TEST(CronParseTest, RejectsEmptyRangesAndBadSteps) {
  ExpectInvalid({
      {"0 5-1 * * *", "hour: range 5-1 at character 3 is empty"},
      {"0 0 * * 1,SAT-MON", "day of week: range SAT-MON at character 11 is empty"},
      {"*/0 * * * *", "minute: step 0 at character 3 is out of range 1-59"},
      {"0 1-10/24 * * *", "hour: step 24 at character 8 is out of range 1-23"},
      {"*/ * * * *", "minute: expected a step (1-59) at character 3, found the end of the field"},
      {"0 0 * */x *", "month: expected a step (1-12) at character 9, found 'x'"},
  });
}

TEST(CronParseTest, RejectsGarbage) {
  ExpectInvalid({
      {"1,,2 * * * *", "minute: expected a value (0-59) at character 3, found ','"},
      {"1, * * * *", "minute: expected a value (0-59) at character 3, found the end of the field"},
      {"0 -1 * * *", "hour: expected a value (0-23) at character 3, found '-'"},
      {"1a * * * *", "minute: unexpected 'a' at character 2"},
      {"** * * * *", "minute: unexpected '*' at character 2"},
      {"0 1-2-3 * * *", "hour: unexpected '-' at character 6"},
      {"0 0 ? * *", "day of month: expected a value (1-31) at character 5, found '?'"},
      {"0 0 1 * 1#2", "day of week: unexpected '#' at character 10"},
      {"0 0 1 * 1\xff", "day of week: unexpected '\\xff' at character 10"},
  });
}

TEST(CronParseTest, TakesNamesOnlyWhereTheFieldHasThem) {
  EXPECT_THAT(ParseError("0 0 1 jan,Feb,MAR-dec/2 sun,Mon-fri"), StatusIs(absl::StatusCode::kOk));
  ExpectInvalid({
      {"0 0 * FOO *", "month: 'FOO' at character 7 is not a value (1-12 or JAN-DEC)"},
      {"0 0 * * MONDAY", "day of week: 'MONDAY' at character 9 is not a value (0-7 or SUN-SAT)"},
      {"0 0 * * JAN", "day of week: 'JAN' at character 9 is not a value (0-7 or SUN-SAT)"},
      {"MON * * * *", "minute: 'MON' at character 1 is not a value (0-59)"},
      {"0 0 * * MON/x", "day of week: expected a step (1-7) at character 13, found 'x'"},
  });
}

// 2026-12-07 is a Monday.
const absl::Time kMonday = Utc(2026, 12, 7, 10, 7, 30);

TEST(CronNamesTest, MeanTheirNumbers) {
  EXPECT_EQ(Fires("0 0 1 jan,Feb,MAR *", kMonday, "UTC", 4),
            Fires("0 0 1 1,2,3 *", kMonday, "UTC", 4));
  EXPECT_EQ(Fires("0 0 * * mon-FRI", kMonday, "UTC", 6), Fires("0 0 * * 1-5", kMonday, "UTC", 6));
  EXPECT_THAT(Fires("0 0 * * SUN", kMonday, "UTC", 2),
              ElementsAre("2026-12-13T00:00:00+00:00", "2026-12-20T00:00:00+00:00"));
  EXPECT_EQ(Fires("0 0 * * 7", kMonday, "UTC", 2), Fires("0 0 * * SUN", kMonday, "UTC", 2));
  EXPECT_EQ(Fires("0 0 * * 0", kMonday, "UTC", 2), Fires("0 0 * * SUN", kMonday, "UTC", 2));
  EXPECT_THAT(Fires("0 0 1 nov-DEC *", kMonday, "UTC", 3),
              ElementsAre("2027-11-01T00:00:00+00:00", "2027-12-01T00:00:00+00:00",
                          "2028-11-01T00:00:00+00:00"));
}

TEST(CronStepsTest, StepThroughTheirRange) {
  EXPECT_THAT(Fires("*/15 * * * *", kMonday, "UTC", 4),
              ElementsAre("2026-12-07T10:15:00+00:00", "2026-12-07T10:30:00+00:00",
                          "2026-12-07T10:45:00+00:00", "2026-12-07T11:00:00+00:00"));
  EXPECT_THAT(Fires("1-30/5 10 * * *", kMonday, "UTC", 6),
              ElementsAre("2026-12-07T10:11:00+00:00", "2026-12-07T10:16:00+00:00",
                          "2026-12-07T10:21:00+00:00", "2026-12-07T10:26:00+00:00",
                          "2026-12-08T10:01:00+00:00", "2026-12-08T10:06:00+00:00"));
  // 5/10 is 5-59/10.
  EXPECT_THAT(Fires("5/10 10 * * *", kMonday, "UTC", 6),
              ElementsAre("2026-12-07T10:15:00+00:00", "2026-12-07T10:25:00+00:00",
                          "2026-12-07T10:35:00+00:00", "2026-12-07T10:45:00+00:00",
                          "2026-12-07T10:55:00+00:00", "2026-12-08T10:05:00+00:00"));
  EXPECT_THAT(Fires("0 */7 * * *", kMonday, "UTC", 4),
              ElementsAre("2026-12-07T14:00:00+00:00", "2026-12-07T21:00:00+00:00",
                          "2026-12-08T00:00:00+00:00", "2026-12-08T07:00:00+00:00"));
  // 1/2 over 0-7 is 1, 3, 5 and 7: Monday, Wednesday, Friday and Sunday.
  EXPECT_THAT(Fires("0 0 * * 1/2", kMonday, "UTC", 4),
              ElementsAre("2026-12-09T00:00:00+00:00", "2026-12-11T00:00:00+00:00",
                          "2026-12-13T00:00:00+00:00", "2026-12-14T00:00:00+00:00"));
}

TEST(CronNextTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_THAT(Fires("* * * * *", kMonday, "UTC", 2),
              ElementsAre("2026-12-07T10:08:00+00:00", "2026-12-07T10:09:00+00:00"));
  EXPECT_THAT(Fires("* * * * *", Utc(2026, 12, 7, 10, 8), "UTC"),
              ElementsAre("2026-12-07T10:09:00+00:00"));
  EXPECT_THAT(Fires("* * * * *", Utc(2026, 12, 31, 23, 59, 59), "UTC"),
              ElementsAre("2027-01-01T00:00:00+00:00"));
}

TEST(CronNextTest, Hourly) {
  EXPECT_THAT(Fires("0 * * * *", Utc(2026, 12, 7, 10, 0), "UTC", 3),
              ElementsAre("2026-12-07T11:00:00+00:00", "2026-12-07T12:00:00+00:00",
                          "2026-12-07T13:00:00+00:00"));
}

TEST(CronNextTest, WeekdaysAtNineInShanghai) {
  // Friday 2026-12-04 10:00 in Shanghai (UTC+8): the next is Monday 09:00 there, 01:00 UTC.
  const absl::Time friday = At("Asia/Shanghai", 2026, 12, 4, 10, 0);
  EXPECT_EQ(friday, Utc(2026, 12, 4, 2, 0));
  EXPECT_THAT(Fires("0 9 * * 1-5", friday, "Asia/Shanghai", 2),
              ElementsAre("2026-12-07T01:00:00+00:00", "2026-12-08T01:00:00+00:00"));
  // The empty zone is Shanghai's.
  EXPECT_THAT(Fires("0 9 * * 1-5", friday, "", 1), ElementsAre("2026-12-07T01:00:00+00:00"));
  // Read in UTC the same fields still fire on Friday, at 09:00 UTC.
  EXPECT_THAT(Fires("0 9 * * 1-5", friday, "UTC", 1), ElementsAre("2026-12-04T09:00:00+00:00"));
}

TEST(CronNextTest, MonthEndsSkipShorterMonths) {
  EXPECT_THAT(Fires("0 0 31 * *", Utc(2027, 1, 31, 0, 0), "UTC", 4),
              ElementsAre("2027-03-31T00:00:00+00:00", "2027-05-31T00:00:00+00:00",
                          "2027-07-31T00:00:00+00:00", "2027-08-31T00:00:00+00:00"));
  EXPECT_THAT(Fires("59 23 30 * *", Utc(2027, 1, 31, 0, 0), "UTC", 2),
              ElementsAre("2027-03-30T23:59:00+00:00", "2027-04-30T23:59:00+00:00"));
}

TEST(CronNextTest, February29thInLeapYearsOnly) {
  EXPECT_THAT(Fires("0 12 29 2 *", Utc(2025, 1, 1, 0, 0), "UTC", 3),
              ElementsAre("2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00",
                          "2036-02-29T12:00:00+00:00"));
  // 2100 is not a leap year: eight years from 2096 to 2104, still found.
  EXPECT_THAT(Fires("0 12 29 2 *", Utc(2096, 3, 1, 0, 0), "UTC"),
              ElementsAre("2104-02-29T12:00:00+00:00"));
}

TEST(CronNextTest, NeverFiring) {
  const absl::Time after = Utc(2026, 1, 1, 0, 0);
  for (std::string_view expression : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 2 *"}) {
    absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression);
    ASSERT_TRUE(schedule.ok()) << schedule.status();
    EXPECT_EQ(schedule->Next(after, absl::UTCTimeZone()), absl::InfiniteFuture()) << expression;
  }
  absl::StatusOr<CronSchedule> every_minute = CronSchedule::Parse("* * * * *");
  ASSERT_TRUE(every_minute.ok());
  EXPECT_EQ(every_minute->Next(absl::InfiniteFuture(), absl::UTCTimeZone()),
            absl::InfiniteFuture());
}

TEST(CronNextTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 13th or a Friday: Friday 11th, Sunday 13th, Friday 18th.
  EXPECT_THAT(Fires("0 0 13 * 5", kMonday, "UTC", 3),
              ElementsAre("2026-12-11T00:00:00+00:00", "2026-12-13T00:00:00+00:00",
                          "2026-12-18T00:00:00+00:00"));
  EXPECT_THAT(Fires("0 0 13 * FRI", kMonday, "UTC", 3), Fires("0 0 13 * 5", kMonday, "UTC", 3));
  // Only one restricted: it decides.
  EXPECT_THAT(Fires("0 0 13 * *", kMonday, "UTC", 2),
              ElementsAre("2026-12-13T00:00:00+00:00", "2027-01-13T00:00:00+00:00"));
  EXPECT_THAT(Fires("0 0 * * 5", kMonday, "UTC", 2),
              ElementsAre("2026-12-11T00:00:00+00:00", "2026-12-18T00:00:00+00:00"));
  // A field that begins with `*` is not restricted (Vixie cron): odd days that are Mondays.
  EXPECT_THAT(Fires("0 0 */2 * 1", kMonday, "UTC", 3),
              ElementsAre("2026-12-21T00:00:00+00:00", "2027-01-11T00:00:00+00:00",
                          "2027-01-25T00:00:00+00:00"));
}

TEST(CronNextTest, SpringForwardGapFiresOnceAtItsEnd) {
  // 2026-03-08 in New York: 02:00 EST becomes 03:00 EDT (07:00 UTC); 02:30 does not exist.
  const absl::Time saturday = At("America/New_York", 2026, 3, 7, 0, 0);
  EXPECT_THAT(Fires("30 2 * * *", saturday, "America/New_York", 3),
              ElementsAre("2026-03-07T07:30:00+00:00", "2026-03-08T07:00:00+00:00",
                          "2026-03-09T06:30:00+00:00"));
  // Every minute of the missing hour matches: one firing for all of them, then 03:01.
  EXPECT_THAT(Fires("* * * * *", Utc(2026, 3, 8, 6, 58), "America/New_York", 3),
              ElementsAre("2026-03-08T06:59:00+00:00", "2026-03-08T07:00:00+00:00",
                          "2026-03-08T07:01:00+00:00"));
  EXPECT_THAT(Fires("*/10 2 * * *", Utc(2026, 3, 8, 6, 0), "America/New_York", 2),
              ElementsAre("2026-03-08T07:00:00+00:00", "2026-03-09T06:00:00+00:00"));
}

TEST(CronNextTest, FallBackOverlapFiresOnceAtTheFirstOccurrence) {
  // 2026-11-01 in New York: 02:00 EDT becomes 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
  const absl::Time saturday = At("America/New_York", 2026, 10, 31, 12, 0);
  EXPECT_THAT(Fires("30 1 * * *", saturday, "America/New_York", 2),
              ElementsAre("2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"));
  // From within the second 01:xx, an every-minute schedule waits for 02:00 EST.
  EXPECT_THAT(Fires("* * * * *", Utc(2026, 11, 1, 6, 10), "America/New_York", 2),
              ElementsAre("2026-11-01T07:00:00+00:00", "2026-11-01T07:01:00+00:00"));
  // From the last minute of the first 01:xx likewise.
  EXPECT_THAT(Fires("* * * * *", Utc(2026, 11, 1, 5, 59), "America/New_York", 1),
              ElementsAre("2026-11-01T07:00:00+00:00"));
}

TEST(LoadZoneTest, DefaultsToShanghaiAndNamesTheUnknown) {
  absl::StatusOr<absl::TimeZone> zone = LoadZone("");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->name(), "Asia/Shanghai");
  zone = LoadZone("America/New_York");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->name(), "America/New_York");
  EXPECT_THAT(LoadZone("Mars/Olympus_Mons"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      "unknown time zone 'Mars/Olympus_Mons'"));
  for (std::string_view name : {"/etc/passwd", "../../../etc/passwd", "file:/etc/passwd",
                                "localtime", "Asia//Shanghai", "Asia/", "Fixed/UTC+08:00"}) {
    EXPECT_THAT(LoadZone(name), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)));
  }
}

// The property test's own model of an expression: the values of each field and whether the
// day fields begin with `*`, built beside the text it renders.
struct RandomCron {
  std::string text;
  std::array<std::set<int>, 5> values;
  bool day_of_month_star = false;
  bool day_of_week_star = false;

  bool Matches(absl::CivilMinute at) const {
    int weekday = 0;
    for (absl::CivilDay day = absl::CivilDay(at); absl::GetWeekday(day) != absl::Weekday::sunday;
         --day) {
      ++weekday;
    }
    const bool day_of_month = values[2].contains(at.day());
    const bool day_of_week = values[4].contains(weekday) || (weekday == 0 && values[4].contains(7));
    const bool day = !day_of_month_star && !day_of_week_star ? day_of_month || day_of_week
                                                             : day_of_month && day_of_week;
    return values[0].contains(at.minute()) && values[1].contains(at.hour()) && day &&
           values[3].contains(at.month());
  }
};

RandomCron MakeRandomCron(std::mt19937& random) {
  constexpr std::array<int, 5> kMin = {0, 0, 1, 1, 0};
  constexpr std::array<int, 5> kMax = {59, 23, 31, 12, 7};
  constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed",
                                                     "thu", "fri", "sat"};
  auto uniform = [&random](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  RandomCron cron;
  std::vector<std::string> fields;
  for (int field = 0; field < 5; ++field) {
    const int min = kMin[field];
    const int max = kMax[field];
    // Values written as names now and then, in any case.
    auto write = [&](int value) {
      std::string text = absl::StrCat(value);
      // SUN is 0 only: 7 has no name.
      if (uniform(0, 2) == 0 && (field == 3 || (field == 4 && value < 7))) {
        text = field == 3 ? kMonths[value - 1] : kDays[value];
        if (uniform(0, 1) == 0) absl::AsciiStrToUpper(&text);
      }
      return text;
    };
    // Hours near the small hours, where the clocks change, half the time.
    auto value = [&] {
      return field == 1 && uniform(0, 1) == 0 ? uniform(0, 3) : uniform(min, max);
    };
    std::set<int>& values = cron.values[field];
    std::vector<std::string> items;
    // Month and days mostly `*`, so that most schedules fire within the year scanned.
    const int star_percent = field >= 2 ? 60 : 35;
    if (uniform(0, 99) < star_percent) {
      items.push_back("*");
      for (int v = min; v <= max; ++v) values.insert(v);
      if (uniform(0, 3) == 0) {
        const int step = uniform(1, max);
        items.back() = absl::StrCat("*/", step);
        values.clear();
        for (int v = min; v <= max; v += step) values.insert(v);
      }
    } else {
      const int count = uniform(1, 3);
      for (int i = 0; i < count; ++i) {
        int low = value();
        int high = low;
        std::string item = write(low);
        const int shape = uniform(0, 3);  // 0, 1: value; 2: range; 3: value/step
        if (shape == 2) {
          high = uniform(low, max);
          absl::StrAppend(&item, "-", write(high));
        }
        int step = 1;
        if (shape == 3 || (shape == 2 && uniform(0, 1) == 0)) {
          step = uniform(1, max);
          absl::StrAppend(&item, "/", step);
          if (shape == 3) high = max;
        }
        for (int v = low; v <= high; v += step) values.insert(v);
        items.push_back(std::move(item));
      }
    }
    fields.push_back(absl::StrJoin(items, ","));
  }
  cron.day_of_month_star = fields[2][0] == '*';
  cron.day_of_week_star = fields[4][0] == '*';
  cron.text = absl::StrJoin(fields, uniform(0, 3) == 0 ? " \t" : " ");
  return cron;
}

// The first `count` times `cron` fires after `after` within `limit`, minute by minute over
// instants: at a minute whose civil time matches and is its first occurrence, or at the end
// of a gap that skipped a matching civil minute.
std::vector<absl::Time> ScanForFirings(const RandomCron& cron, absl::Time after,
                                       absl::TimeZone zone, absl::Duration limit, size_t count) {
  std::vector<absl::Time> fires;
  absl::Time at = absl::FromUnixSeconds((absl::ToUnixSeconds(after) / 60 + 1) * 60);
  absl::CivilMinute previous = absl::ToCivilMinute(at - absl::Minutes(1), zone);
  for (; at <= after + limit && fires.size() < count; at += absl::Minutes(1)) {
    const absl::CivilMinute civil = absl::ToCivilMinute(at, zone);
    bool fire = cron.Matches(civil) && zone.At(absl::CivilSecond(civil)).pre == at;
    for (absl::CivilMinute skipped = previous + 1; !fire && skipped < civil; ++skipped) {
      fire = cron.Matches(skipped);
    }
    if (fire) fires.push_back(at);
    previous = civil;
  }
  return fires;
}

TEST(CronPropertyTest, NextAgreesWithAMinuteByMinuteScan) {
  constexpr std::array<std::string_view, 8> kZones = {"UTC",
                                                      "Asia/Shanghai",
                                                      "America/New_York",
                                                      "Europe/London",
                                                      "Asia/Kathmandu",
                                                      "Australia/Lord_Howe",
                                                      "America/Sao_Paulo",
                                                      "America/Santiago"};
  constexpr size_t kFirings = 4;
  std::mt19937 random(20261207);
  const absl::Time first = Utc(2015, 1, 1, 0, 0);
  const absl::Time last = Utc(2031, 1, 1, 0, 0);
  const absl::Duration limit = absl::Hours(24 * 366);
  int fired = 0;
  for (int i = 0; i < 300; ++i) {
    const RandomCron cron = MakeRandomCron(random);
    const std::string_view zone_name = kZones[i % kZones.size()];
    const absl::TimeZone zone = Zone(zone_name);
    absl::Time after = absl::FromUnixSeconds(std::uniform_int_distribution<int64_t>(
        absl::ToUnixSeconds(first), absl::ToUnixSeconds(last))(random));
    // Every other start a few hours before a change of the clocks, where gaps and overlaps
    // decide.
    absl::TimeZone::CivilTransition transition;
    if (i % 2 == 1 && zone.NextTransition(after, &transition)) {
      after = absl::FromCivil(transition.from, zone) -
              absl::Seconds(std::uniform_int_distribution<int>(0, 4 * 3600)(random));
    }
    absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(cron.text);
    ASSERT_TRUE(schedule.ok()) << cron.text << ": " << schedule.status();
    const std::vector<absl::Time> scanned = ScanForFirings(cron, after, zone, limit, kFirings);
    std::vector<std::string> expected;
    for (absl::Time fire : scanned) expected.push_back(Rfc3339(fire));
    std::vector<std::string> actual;
    for (absl::Time next = schedule->Next(after, zone);
         next <= after + limit && actual.size() < kFirings; next = schedule->Next(next, zone)) {
      actual.push_back(Rfc3339(next));
    }
    EXPECT_EQ(actual, expected) << "'" << cron.text << "' in " << zone_name << " after "
                                << Rfc3339(after);
    if (!scanned.empty()) ++fired;
  }
  // Most schedules fire within the year, so the comparison above is mostly of instants.
  EXPECT_GT(fired, 200);
}

}  // namespace
}  // namespace touchline::automation
