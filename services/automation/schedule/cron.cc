#include "services/automation/schedule/cron.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/macros.h"

namespace touchline::automation {
namespace {

constexpr std::array<absl::string_view, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<absl::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                        "THU", "FRI", "SAT"};

// What one of the five fields accepts.
struct FieldSpec {
  absl::string_view name;
  int min;
  int max;
  // Names of min, min + 1, ...; empty when the field takes numbers only.
  std::span<const absl::string_view> names;
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month", 1, 12, kMonthNames},
    {"day of week", 0, 7, kDayNames},
}};

// A field's text: [begin, end) of the expression.
struct FieldText {
  size_t begin;
  size_t end;
};

// Reads one field of an expression; positions in messages count from the expression's start.
class FieldParser {
 public:
  FieldParser(absl::string_view expression, FieldText text, const FieldSpec& spec)
      : expression_(expression), pos_(text.begin), end_(text.end), spec_(spec) {}

  // One bit per value from spec.min to spec.max that the field matches (bit v for value v).
  absl::StatusOr<uint64_t> Parse() {
    uint64_t bits = 0;
    while (true) {
      TL_ASSIGN_OR_RETURN(uint64_t item, ParseItem());
      bits |= item;
      if (pos_ == end_) return bits;
      if (expression_[pos_] != ',') {
        return Error(
            absl::StrCat("unexpected '", Quote(pos_, pos_ + 1), "' at character ", pos_ + 1));
      }
      ++pos_;
    }
  }

 private:
  // `*`, `v` or `a-b`, with an optional `/step`.
  absl::StatusOr<uint64_t> ParseItem() {
    const size_t item_begin = pos_;
    int low = spec_.min;
    int high = spec_.max;
    bool single = false;
    if (pos_ < end_ && expression_[pos_] == '*') {
      ++pos_;
    } else {
      TL_ASSIGN_OR_RETURN(low, ParseValue());
      high = low;
      single = true;
      if (pos_ < end_ && expression_[pos_] == '-') {
        ++pos_;
        TL_ASSIGN_OR_RETURN(high, ParseValue());
        single = false;
        if (high < low) {
          return Error(absl::StrCat("range ", Quote(item_begin, pos_), " at character ",
                                    item_begin + 1, " is empty"));
        }
      }
    }
    int step = 1;
    if (pos_ < end_ && expression_[pos_] == '/') {
      ++pos_;
      TL_ASSIGN_OR_RETURN(step, ParseStep());
      if (single) high = spec_.max;  // `5/10` is `5-max/10`
    }
    uint64_t bits = 0;
    for (int value = low; value <= high; value += step) bits |= uint64_t{1} << value;
    return bits;
  }

  // A number or, where the field has names, a name.
  absl::StatusOr<int> ParseValue() {
    const size_t begin = pos_;
    if (pos_ < end_ && absl::ascii_isdigit(expression_[pos_])) {
      return ParseNumber(spec_.min, spec_.max, "");
    }
    while (pos_ < end_ && absl::ascii_isalpha(expression_[pos_])) ++pos_;
    const absl::string_view word = expression_.substr(begin, pos_ - begin);
    if (word.empty()) return Expected("a value", Accepted(), begin);
    for (size_t i = 0; i < spec_.names.size(); ++i) {
      if (absl::EqualsIgnoreCase(word, spec_.names[i])) return spec_.min + static_cast<int>(i);
    }
    return Error(absl::StrCat("'", Quote(begin, pos_), "' at character ", begin + 1,
                              " is not a value (", Accepted(), ")"));
  }

  absl::StatusOr<int> ParseStep() {
    if (pos_ == end_ || !absl::ascii_isdigit(expression_[pos_])) {
      return Expected("a step", absl::StrCat("1-", spec_.max), pos_);
    }
    return ParseNumber(1, spec_.max, "step ");
  }

  // The digits at pos_, which must lie in [min, max]; `what` prefixes the value in a message.
  absl::StatusOr<int> ParseNumber(int min, int max, absl::string_view what) {
    const size_t begin = pos_;
    int value = 0;
    while (pos_ < end_ && absl::ascii_isdigit(expression_[pos_])) {
      // Past 1000 the value is out of range whatever it is; stop before it can overflow.
      if (value <= 1000) value = value * 10 + (expression_[pos_] - '0');
      ++pos_;
    }
    if (value < min || value > max) {
      return Error(absl::StrCat(what, Quote(begin, pos_), " at character ", begin + 1,
                                " is out of range ", min, "-", max));
    }
    return value;
  }

  // "expected <what> (<accepted>) at character <at>, found ..."
  absl::Status Expected(absl::string_view what, absl::string_view accepted, size_t at) const {
    return Error(absl::StrCat(
        "expected ", what, " (", accepted, ") at character ", at + 1, ", found ",
        at == end_ ? "the end of the field" : absl::StrCat("'", Quote(at, at + 1), "'")));
  }

  // What the field accepts: "0-59", "1-12 or JAN-DEC".
  std::string Accepted() const {
    std::string accepted = absl::StrCat(spec_.min, "-", spec_.max);
    if (!spec_.names.empty()) {
      absl::StrAppend(&accepted, " or ", spec_.names.front(), "-", spec_.names.back());
    }
    return accepted;
  }

  // The expression's text in [begin, end), escaped for a message.
  std::string Quote(size_t begin, size_t end) const {
    return absl::CHexEscape(expression_.substr(begin, end - begin));
  }

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(spec_.name, ": ", message));
  }

  absl::string_view expression_;
  size_t pos_;
  size_t end_;
  const FieldSpec& spec_;
};

// The fields of `expression`, split at white space.
std::vector<FieldText> SplitFields(absl::string_view expression) {
  std::vector<FieldText> fields;
  size_t pos = 0;
  while (true) {
    while (pos < expression.size() && absl::ascii_isspace(expression[pos])) ++pos;
    if (pos == expression.size()) return fields;
    const size_t begin = pos;
    while (pos < expression.size() && !absl::ascii_isspace(expression[pos])) ++pos;
    fields.push_back({begin, pos});
  }
}

// The lowest set bit of `bits` above `value`, if any.
template <typename Bits>
std::optional<int> NextBit(Bits bits, int value) {
  const uint64_t above = static_cast<uint64_t>(bits) & ~((uint64_t{2} << value) - 1);
  if (above == 0) return std::nullopt;
  return std::countr_zero(above);
}

// Day of week with Sunday 0, as cron counts (absl::Weekday counts from Monday 0).
int CronWeekday(absl::CivilDay day) { return (static_cast<int>(absl::GetWeekday(day)) + 1) % 7; }

// Whether a zone name is one an IANA name could be: components of letters, digits, '_', '-'
// and '+', each starting with a letter, so no path ("/etc/passwd", "../x", "file:x") reaches
// the zone loader; and not a host-specific file of the zoneinfo directory.
bool IsZoneName(absl::string_view name) {
  if (name.size() > 64 || name == "localtime" || name == "posixrules") return false;
  bool component_start = true;
  for (const char c : name) {
    if (c == '/') {
      if (component_start) return false;
      component_start = true;
      continue;
    }
    if (component_start && !absl::ascii_isalpha(c)) return false;
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '+') return false;
    component_start = false;
  }
  return !component_start;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(std::string_view text) {
  const absl::string_view expression(text.data(), text.size());
  if (expression.size() > kMaxCronLength) {
    return absl::InvalidArgumentError(absl::StrCat("expected at most ", kMaxCronLength,
                                                   " characters, found ", expression.size()));
  }
  const std::vector<FieldText> fields = SplitFields(expression);
  if (fields.size() != kFields.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", kFields.size(), " fields, found ", fields.size()));
  }
  std::array<uint64_t, kFields.size()> bits;
  for (size_t i = 0; i < kFields.size(); ++i) {
    TL_ASSIGN_OR_RETURN(bits[i], FieldParser(expression, fields[i], kFields[i]).Parse());
  }
  CronSchedule schedule;
  schedule.minutes_ = bits[0];
  schedule.hours_ = static_cast<uint32_t>(bits[1]);
  schedule.days_of_month_ = static_cast<uint32_t>(bits[2]);
  schedule.months_ = static_cast<uint16_t>(bits[3]);
  // 7 is Sunday, as 0 is.
  schedule.days_of_week_ = static_cast<uint8_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  schedule.day_of_month_restricted_ = expression[fields[2].begin] != '*';
  schedule.day_of_week_restricted_ = expression[fields[4].begin] != '*';
  return schedule;
}

bool CronSchedule::DayMatches(absl::CivilDay day) const {
  const bool day_of_month = (days_of_month_ >> day.day()) & 1;
  const bool day_of_week = (days_of_week_ >> CronWeekday(day)) & 1;
  if (day_of_month_restricted_ && day_of_week_restricted_) return day_of_month || day_of_week;
  return day_of_month && day_of_week;
}

std::optional<absl::CivilMinute> CronSchedule::NextMatch(absl::CivilMinute from,
                                                         absl::CivilYear last_year) const {
  absl::CivilMinute at = from;
  while (absl::CivilYear(at) <= last_year) {
    if (!((months_ >> at.month()) & 1)) {
      at = absl::CivilMinute(absl::CivilMonth(at) + 1);
      continue;
    }
    const absl::CivilDay day(at);
    if (!DayMatches(day)) {
      at = absl::CivilMinute(day + 1);
      continue;
    }
    if (!((hours_ >> at.hour()) & 1)) {
      const std::optional<int> hour = NextBit(hours_, at.hour());
      at = hour ? absl::CivilMinute(at.year(), at.month(), at.day(), *hour, 0)
                : absl::CivilMinute(day + 1);
      continue;
    }
    if (!((minutes_ >> at.minute()) & 1)) {
      const std::optional<int> minute = NextBit(minutes_, at.minute());
      at = minute ? absl::CivilMinute(at.year(), at.month(), at.day(), at.hour(), *minute)
                  : absl::CivilMinute(absl::CivilHour(at) + 1);
      continue;
    }
    return at;
  }
  return std::nullopt;
}

absl::Time CronSchedule::Next(absl::Time after, absl::TimeZone zone) const {
  if (after == absl::InfiniteFuture() || after == absl::InfinitePast()) {
    return absl::InfiniteFuture();
  }
  // Every civil minute up to that of `after` fires (by the rules below) at or before it.
  const absl::CivilMinute from = absl::CivilMinute(zone.At(after).cs) + 1;
  const absl::CivilYear last_year = absl::CivilYear(from) + kCronSearchYears;
  // Civil minutes map to instants in order (a skipped one to the end of its gap, a repeated
  // one to its first occurrence), so the first whose instant is after `after` is the answer;
  // only minutes in a gap or an overlap can map to `after` or before it.
  for (std::optional<absl::CivilMinute> at = NextMatch(from, last_year); at;
       at = NextMatch(*at + 1, last_year)) {
    const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(*at));
    const absl::Time fires = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (fires > after) return fires;
  }
  return absl::InfiniteFuture();
}

absl::StatusOr<absl::TimeZone> LoadZone(std::string_view zone_name) {
  const absl::string_view name =
      zone_name.empty() ? kDefaultTimeZone : absl::string_view(zone_name.data(), zone_name.size());
  absl::TimeZone zone;
  if (!IsZoneName(name) || !absl::LoadTimeZone(name, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone '", absl::CHexEscape(name), "'"));
  }
  return zone;
}

}  // namespace touchline::automation
