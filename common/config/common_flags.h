// The flags every Touchline service takes. Defined once here so each service main reads them
// by the same name (and environment variable, see flags.h) without redefining them.
#ifndef TOUCHLINE_COMMON_CONFIG_COMMON_FLAGS_H_
#define TOUCHLINE_COMMON_CONFIG_COMMON_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

// host:port the gRPC server listens on; port 0 picks a free port.
ABSL_DECLARE_FLAG(std::string, listen_address);
// host:port serving Prometheus /metrics; empty disables it.
ABSL_DECLARE_FLAG(std::string, metrics_address);
// libpq connection string of the service's database.
ABSL_DECLARE_FLAG(std::string, pg_dsn);
// Database connections kept open.
ABSL_DECLARE_FLAG(int, pg_pool_size);
ABSL_DECLARE_FLAG(int, redis_pool_size);
// host:port of Redis.
ABSL_DECLARE_FLAG(std::string, redis_addr);
// Threads running request handlers (blocking database work).
ABSL_DECLARE_FLAG(int, worker_threads);
// Requests waiting for a worker thread before new ones are rejected with RESOURCE_EXHAUSTED.
ABSL_DECLARE_FLAG(int, max_queued_calls);
// How long shutdown lets in-flight calls finish before cancelling them.
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);
// Minimum level logged: debug, info, warning or error.
ABSL_DECLARE_FLAG(std::string, log_level);
// Log every RPC, not only failed ones.
ABSL_DECLARE_FLAG(bool, access_log);
// Prefix of the Redis stream keys events are published to and consumed from.
ABSL_DECLARE_FLAG(std::string, events_stream_prefix);
// Hard upper bound on the length of each event stream (XADD MAXLEN ~ by the outbox relay and
// the audit publisher); 0 leaves streams to the trimmer alone. Streams are normally trimmed to
// what every consumer group still needs (events::StreamTrimmer); this guard cuts the oldest
// entries even when a group still needs them, so it only matters for a group this far behind.
ABSL_DECLARE_FLAG(int64_t, events_stream_max_len);
// How often a service trims its event streams to what every consumer group has acknowledged,
// and refreshes the groups' lag metrics (events::StreamTrimmer::TrimOnce).
ABSL_DECLARE_FLAG(absl::Duration, events_trim_interval);
// Most entries kept in each dead-letter stream (events::ConsumerOptions::dead_letter_max_len).
ABSL_DECLARE_FLAG(int64_t, events_dead_letter_max_len);
// How long a consumer's inbox (applied_events) remembers an applied event
// (events::ConsumerOptions::inbox_retention, events::PurgeAppliedEvents).
ABSL_DECLARE_FLAG(absl::Duration, inbox_retention);
// How long an idempotency key (request_id) is kept: at least as long as a client may retry
// (idempotency::PurgeExpiredKeys).
ABSL_DECLARE_FLAG(absl::Duration, idempotency_retention);
// How often a service purges what outlived its retention (inbox rows, idempotency keys).
ABSL_DECLARE_FLAG(absl::Duration, purge_interval);
// PEM file of the RSA public key access tokens are signed with; every service verifies them.
ABSL_DECLARE_FLAG(std::string, jwt_public_key_file);
// host:port of the permissions service, where the other services fetch callers' scopes.
ABSL_DECLARE_FLAG(std::string, permissions_addr);
// File of the secret shared by the gateway and the permissions service that signs the client
// address the gateway forwards (common/auth/edge_address.h).
ABSL_DECLARE_FLAG(std::string, edge_secret_file);

namespace touchline::config {

// Checks the values of the flags above that every service relies on: listen_address not
// empty, pg_pool_size, redis_pool_size, worker_threads and max_queued_calls at least 1, drain_timeout not
// negative, log_level one of debug/info/warning/error, events_stream_max_len not negative,
// events_dead_letter_max_len at least 1, events_trim_interval and purge_interval positive,
// inbox_retention positive (events::ValidateConsumerOptions checks it against the consumer's
// claim window) and idempotency_retention at least one hour. INVALID_ARGUMENT naming the first bad
// flag, e.g. "--worker_threads: must be at least 1". Whether pg_dsn or redis_addr is required
// depends on the service, so they are not checked here.
absl::Status ValidateCommonFlags();

// What every service main does after ParseFlags: ValidateCommonFlags (Fatal, exit 2, on a bad
// value) and --log_level applied to the logger.
void ApplyCommonFlags();

}  // namespace touchline::config

#endif  // TOUCHLINE_COMMON_CONFIG_COMMON_FLAGS_H_
