#include "common/config/common_flags.h"

#include <cstdint>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/flags.h"
#include "common/log/log.h"

ABSL_FLAG(std::string, listen_address, "127.0.0.1:0",
          "host:port the gRPC server listens on; port 0 picks a free port.");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:0",
          "host:port serving Prometheus /metrics; empty disables it.");
ABSL_FLAG(std::string, pg_dsn, "", "libpq connection string of the service's database.");
ABSL_FLAG(int, pg_pool_size, 16, "Database connections kept open.");
ABSL_FLAG(std::string, redis_addr, "127.0.0.1:6379", "host:port of Redis.");
ABSL_FLAG(int, redis_pool_size, 32,
          "Redis connections open at once: every stream consumer holds one while it waits for "
          "entries, so keep it above their number (the gateway's cache and rate limits use "
          "them too).");
ABSL_FLAG(int, worker_threads, 32, "Threads running request handlers.");
ABSL_FLAG(int, max_queued_calls, 4096,
          "Requests waiting for a worker before new ones get RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "How long shutdown lets in-flight calls finish before cancelling them.");
ABSL_FLAG(std::string, log_level, "info", "Minimum level logged: debug, info, warning, error.");
ABSL_FLAG(bool, access_log, false, "Log every RPC, not only failed ones.");
ABSL_FLAG(std::string, events_stream_prefix, "touchline",
          "Prefix of the Redis stream keys events are published to and consumed from.");
ABSL_FLAG(int64_t, events_stream_max_len, 1000000,
          "Hard upper bound on each event stream's length (XADD MAXLEN ~); 0 = none. Streams are "
          "trimmed to what every consumer group still needs; this guard cuts even those entries, "
          "for a group that falls this far behind.");
ABSL_FLAG(absl::Duration, events_trim_interval, absl::Seconds(10),
          "How often event streams are trimmed to what every consumer group has acknowledged.");
ABSL_FLAG(int64_t, events_dead_letter_max_len, 100000,
          "Most entries kept in each dead-letter stream; older ones are dropped (and counted).");
ABSL_FLAG(
    absl::Duration, inbox_retention, absl::Hours(7 * 24),
    "How long a consumer's inbox remembers an applied event (redelivery is refused past it).");
ABSL_FLAG(absl::Duration, idempotency_retention, absl::Hours(7 * 24),
          "How long a request_id is remembered: at least as long as a client may retry.");
ABSL_FLAG(absl::Duration, purge_interval, absl::Minutes(1),
          "How often inbox rows and idempotency keys past their retention are purged.");
ABSL_FLAG(std::string, jwt_public_key_file, "",
          "PEM file of the RSA public key access tokens are signed with (required).");
ABSL_FLAG(std::string, permissions_addr, "",
          "host:port of the permissions service, which compiles callers' scopes (required by "
          "every other service).");
ABSL_FLAG(std::string, edge_secret_file, "",
          "File of the secret (at least 32 bytes) the gateway signs the client addresses it "
          "forwards with, and the permissions service verifies them with; the same file for "
          "both. Empty: the gateway signs none, and permissions uses each call's peer address.");

namespace touchline::config {
namespace {

absl::Status AtLeastOne(const char* name, int value) {
  if (value >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", name, ": must be at least 1, not ", value));
}

}  // namespace

absl::Status ValidateCommonFlags() {
  if (absl::GetFlag(FLAGS_listen_address).empty()) {
    return absl::InvalidArgumentError("--listen_address: must not be empty");
  }
  for (const absl::Status& status :
       {AtLeastOne("pg_pool_size", absl::GetFlag(FLAGS_pg_pool_size)),
        AtLeastOne("redis_pool_size", absl::GetFlag(FLAGS_redis_pool_size)),
        AtLeastOne("worker_threads", absl::GetFlag(FLAGS_worker_threads)),
        AtLeastOne("max_queued_calls", absl::GetFlag(FLAGS_max_queued_calls))}) {
    if (!status.ok()) return status;
  }
  if (absl::GetFlag(FLAGS_drain_timeout) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--drain_timeout: must not be negative");
  }
  if (absl::GetFlag(FLAGS_events_stream_max_len) < 0) {
    return absl::InvalidArgumentError("--events_stream_max_len: must not be negative (0 = none)");
  }
  if (const int64_t cap = absl::GetFlag(FLAGS_events_dead_letter_max_len); cap < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--events_dead_letter_max_len: must be at least 1, not ", cap));
  }
  for (const auto& [name, value] :
       {std::pair("events_trim_interval", absl::GetFlag(FLAGS_events_trim_interval)),
        std::pair("purge_interval", absl::GetFlag(FLAGS_purge_interval)),
        std::pair("inbox_retention", absl::GetFlag(FLAGS_inbox_retention))}) {
    if (value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": must be positive"));
    }
  }
  // A client retrying across a short outage must still find its key.
  if (absl::GetFlag(FLAGS_idempotency_retention) < absl::Hours(1)) {
    return absl::InvalidArgumentError("--idempotency_retention: must be at least 1h");
  }
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_level: must be debug, info, warning or error, not '",
                     absl::GetFlag(FLAGS_log_level), "'"));
  }
  return absl::OkStatus();
}

void ApplyCommonFlags() {
  if (const absl::Status valid = ValidateCommonFlags(); !valid.ok()) {
    Fatal(std::string_view(valid.message().data(), valid.message().size()));
  }
  log::Level level = log::Level::kInfo;
  log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level);  // Validated above.
  log::SetMinLevel(level);
}

}  // namespace touchline::config
