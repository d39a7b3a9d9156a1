#include "services/permissions/identity/login_throttle.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/errors.h"

namespace touchline::permissions {
namespace {

// Typed usernames are cut to this many bytes for the counter keys; no username is longer.
constexpr size_t kMaxUsernameBytes = 128;
// Forgotten counters deleted per failure, so that a flood of failures also cleans up.
constexpr int kForgottenDeletedPerFailure = 100;

// clang-format off
#define TL_MICROS(n) \
  "(timestamptz 'epoch' + NULLIF($" #n "::bigint, -1) * interval '1 microsecond')"
#define TL_READ(column) "coalesce((extract(epoch FROM " column ") * 1000000)::bigint, -1)"

constexpr char kSelectCounters[] =
    "SELECT counter, failures, " TL_READ("last_failure_time") ", " TL_READ("blocked_until") ", "
    TL_READ("last_success_time") " FROM login_throttle WHERE tenant_id = $1 AND counter = ANY($2)";
// Creates the row if needed so that FOR UPDATE has one to lock: concurrent failures on two
// replicas then count twice, not once.
constexpr char kEnsureCounter[] =
    "INSERT INTO login_throttle (tenant_id, counter) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr char kLockCounter[] =
    "SELECT failures, " TL_READ("last_failure_time") ", " TL_READ("blocked_until") " "
    "FROM login_throttle WHERE tenant_id = $1 AND counter = $2 FOR UPDATE";
constexpr char kSaveCounter[] =
    "UPDATE login_throttle SET failures = $3, "
    "last_failure_time = " TL_MICROS(4) ", blocked_until = " TL_MICROS(5) " "
    "WHERE tenant_id = $1 AND counter = $2";
constexpr char kRecordSuccess[] =
    "INSERT INTO login_throttle (tenant_id, counter, last_success_time) "
    "VALUES ($1, $2, " TL_MICROS(3) ") ON CONFLICT (tenant_id, counter) DO UPDATE SET "
    "failures = 0, blocked_until = NULL, last_success_time = EXCLUDED.last_success_time";
// A counter is forgotten once its last failure is older than the memory; an address stays
// known to an account for as long after its last success.
constexpr char kDeleteForgotten[] =
    "DELETE FROM login_throttle WHERE ctid IN (SELECT ctid FROM login_throttle "
    "WHERE tenant_id = $1 "
    "AND (last_failure_time IS NULL OR last_failure_time < " TL_MICROS(2) ") "
    "AND (last_success_time IS NULL OR last_success_time < " TL_MICROS(2) ") LIMIT $3)";

#undef TL_MICROS
#undef TL_READ
// clang-format on

int64_t Micros(const std::optional<absl::Time>& t) { return t ? absl::ToUnixMicros(*t) : -1; }

std::optional<absl::Time> TimeOf(const pqxx::field& field) {
  const auto micros = field.as<int64_t>();
  if (micros < 0) return std::nullopt;
  return absl::FromUnixMicros(micros);
}

// "{a,b}" for a text[] parameter; keys hold no quotes, braces or commas of their own after
// EscapeKey.
std::string TextArray(const std::vector<std::string>& keys) {
  std::string array = "{";
  for (const std::string& key : keys) {
    if (array.size() > 1) array += ",";
    array += "\"" + key + "\"";
  }
  return array + "}";
}

// `text` with the bytes that would break a key or an array literal replaced.
std::string EscapeKey(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    const bool plain = c != '"' && c != '\\' && c != ',' && c != '{' && c != '}' && c != ' ' &&
                       static_cast<unsigned char>(c) >= 0x20;
    escaped += plain ? std::string(1, c)
                     : absl::StrCat("%", static_cast<int>(static_cast<unsigned char>(c)));
  }
  return escaped;
}

}  // namespace

ThrottleCounter AfterFailure(const ThrottleCounter& counter, int threshold,
                             const ThrottlePolicy& policy, absl::Time now) {
  ThrottleCounter next;
  const bool forgotten =
      !counter.last_failure_time || *counter.last_failure_time < now - policy.memory;
  next.failures = forgotten ? 1 : counter.failures + 1;
  next.last_failure_time = now;
  if (next.failures >= threshold) {
    // 2^doublings; 40 doublings of a microsecond exceed any sensible cap already.
    const int doublings = std::min(next.failures - threshold, 40);
    next.blocked_until =
        now + std::min(policy.max_delay, policy.first_delay * std::ldexp(1.0, doublings));
  }
  return next;
}

LoginThrottle::LoginThrottle(const ThrottlePolicy& policy, std::string_view tenant_id,
                             std::string_view address, std::string_view username)
    : policy_(policy), tenant_id_(tenant_id) {
  const std::string who = EscapeKey(absl::AsciiStrToLower(
      absl::string_view(username.data(), std::min(username.size(), kMaxUsernameBytes))));
  const std::string where = EscapeKey(address);
  counters_ = {
      {absl::StrCat("address_account ", where, " ", who), policy.address_account_failures, false},
      {absl::StrCat("account ", who), policy.account_failures, true},
      {absl::StrCat("address ", where), policy.account_failures, false},
      {"tenant", policy.tenant_failures, true},
  };
}

std::optional<absl::Time> LoginThrottle::RefusedUntil(pqxx::transaction_base& txn,
                                                      absl::Time now) const {
  std::vector<std::string> keys;
  for (const Counter& counter : counters_) keys.push_back(counter.key);
  const pqxx::result rows = txn.exec_params(kSelectCounters, tenant_id_, TextArray(keys));
  bool known_address = false;
  for (const pqxx::row& row : rows) {
    known_address |= row[0].as<std::string>() == counters_[0].key && TimeOf(row[4]).has_value();
  }
  std::optional<absl::Time> until;
  for (const pqxx::row& row : rows) {
    const std::string key = row[0].as<std::string>();
    const auto counter = std::find_if(counters_.begin(), counters_.end(),
                                      [&](const Counter& c) { return c.key == key; });
    if (counter == counters_.end() || (counter->spares_known_address && known_address)) continue;
    const std::optional<absl::Time> blocked = TimeOf(row[3]);
    if (blocked && *blocked > now) until = std::max(until.value_or(*blocked), *blocked);
  }
  return until;
}

void LoginThrottle::RecordFailure(pqxx::transaction_base& txn, absl::Time now) const {
  for (const Counter& counter : counters_) {
    txn.exec_params(kEnsureCounter, tenant_id_, counter.key);
    const pqxx::row row = txn.exec_params1(kLockCounter, tenant_id_, counter.key);
    const ThrottleCounter next = AfterFailure({.failures = row[0].as<int>(),
                                               .last_failure_time = TimeOf(row[1]),
                                               .blocked_until = TimeOf(row[2])},
                                              counter.threshold, policy_, now);
    txn.exec_params(kSaveCounter, tenant_id_, counter.key, next.failures,
                    Micros(next.last_failure_time), Micros(next.blocked_until));
  }
  txn.exec_params(kDeleteForgotten, tenant_id_, Micros(now - policy_.memory),
                  kForgottenDeletedPerFailure);
}

void LoginThrottle::RecordSuccess(pqxx::transaction_base& txn, absl::Time now) const {
  txn.exec_params(kRecordSuccess, tenant_id_, counters_[0].key, Micros(now));
}

absl::Status LoginThrottle::Refusal(absl::Time until, absl::Time now) {
  const absl::Duration wait = until - now;
  return status::WithErrorInfo(
      status::WithRetryInfo(
          absl::ResourceExhaustedError(
              absl::StrCat("too many failed logins; retry in ",
                           static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(wait))), " s")),
          wait),
      "LOGIN_THROTTLED");
}

}  // namespace touchline::permissions
