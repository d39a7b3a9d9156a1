// Cron schedules of automation rules (touchline.automation.v1.Schedule): five-field cron
// expressions, parsed with the position of any problem, and the times they fire at, read as
// civil time in the tenant's time zone. Pure: no clock, no I/O but the zone files LoadZone
// reads.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_SCHEDULE_CRON_H_
#define TOUCHLINE_SERVICES_AUTOMATION_SCHEDULE_CRON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace touchline::automation {

// The zone Schedule.time_zone names when it is empty.
inline constexpr char kDefaultTimeZone[] = "Asia/Shanghai";

// The longest cron expression Parse accepts, in characters.
inline constexpr size_t kMaxCronLength = 256;

// How many civil years after the year of `after` CronSchedule::Next searches. Eight covers
// the longest wait of any schedule that fires in every such span: February 29th (2096 to
// 2104 has no leap year between).
inline constexpr int kCronSearchYears = 8;

// A parsed cron expression. Immutable; copies are cheap.
class CronSchedule {
 public:
  // Parses `expression`: five fields separated by white space,
  //   minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC,
  //   day of week 0-7 (0 and 7 are Sunday) or SUN-SAT (names in any case).
  // Each field is a comma-separated list of items; an item is `*`, a value `v` or a range
  // `a-b` (a <= b), optionally followed by a step `/s` (1 <= s <= the field's maximum):
  // `*/15`, `1-30/5`, and `5/10` meaning `5-<max>/10`.
  // INVALID_ARGUMENT when it is longer than kMaxCronLength, has another number of fields
  // ("expected 5 fields, found 6"), or a field is malformed; the message then names the
  // field and the 1-based character position in `expression` of the problem ("day of week: 8
  // at character 11 is out of range 0-7", "hour: range 5-1 at character 3 is empty").
  static absl::StatusOr<CronSchedule> Parse(std::string_view expression);

  // The first time strictly after `after` at which the schedule fires: a civil minute (second
  // 0) in `zone` whose minute, hour and month are in their fields and whose day matches.
  // A day matches when it is in the day of month field and in the day of week field, except
  // that when both fields are restricted (neither begins with `*`) either suffices, as in
  // Vixie cron: "0 0 1,15 * 1" fires on the 1st, the 15th and every Monday, while
  // "0 0 */2 * 1" fires on odd-numbered days that are Mondays.
  // Daylight saving: a civil time that does not exist (skipped when the clocks go forward)
  // fires at the first instant after the gap, once however many of its minutes match; a
  // civil time that occurs twice (when the clocks go back) fires at its first occurrence
  // only.
  // Searches civil time up to the end of the year kCronSearchYears after the year `after`
  // falls in, and returns absl::InfiniteFuture() when the schedule does not fire by then
  // ("0 0 30 2 *" never does); also for an infinite `after`.
  absl::Time Next(absl::Time after, absl::TimeZone zone) const;

 private:
  CronSchedule() = default;

  // Whether the day matches the day of month and day of week fields (see Next).
  bool DayMatches(absl::CivilDay day) const;
  // The first civil minute at or after `from` whose fields match, if any up to the end of
  // `last_year`.
  std::optional<absl::CivilMinute> NextMatch(absl::CivilMinute from,
                                             absl::CivilYear last_year) const;

  // One bit per value that matches: minutes 0-59, hours 0-23, days of month 1-31, months
  // 1-12, days of week 0-6 (Sunday 0).
  uint64_t minutes_ = 0;
  uint32_t hours_ = 0;
  uint32_t days_of_month_ = 0;
  uint16_t months_ = 0;
  uint8_t days_of_week_ = 0;
  // Whether the day fields are restricted: written without a leading `*`.
  bool day_of_month_restricted_ = false;
  bool day_of_week_restricted_ = false;
};

// The time zone Schedule.time_zone names: an IANA name ("America/New_York"), or
// kDefaultTimeZone when `name` is empty. INVALID_ARGUMENT naming it when it is not a zone
// name (paths, "localtime" and the like are refused, not read) or no such zone is installed.
absl::StatusOr<absl::TimeZone> LoadZone(std::string_view name);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_SCHEDULE_CRON_H_
