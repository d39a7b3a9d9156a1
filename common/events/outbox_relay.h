// Publishes the outbox of one schema to Redis Streams, each event exactly once.
#ifndef TOUCHLINE_COMMON_EVENTS_OUTBOX_RELAY_H_
#define TOUCHLINE_COMMON_EVENTS_OUTBOX_RELAY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"

namespace touchline::events {

struct RelayOptions {
  // libpq connection string of the database holding the outbox.
  std::string dsn;
  // The schema whose outbox table (OutboxMigrations) is relayed. Required.
  std::string schema;
  // Prefix of the Redis keys: see StreamKey and RelayStateKey.
  std::string stream_prefix = "touchline";
  // Most events per batch (one Lua script call, one DELETE). Must be >= 1.
  int batch_size = 256;
  // How often the background thread looks for new events when nobody calls Wake().
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Longest wait between attempts while PostgreSQL or Redis fails; waits double from
  // poll_interval up to this.
  absl::Duration max_backoff = absl::Seconds(5);
  // The hard upper bound on the length of streams (XADD MAXLEN ~; --events_stream_max_len);
  // 0 = none. Streams are trimmed to what their consumer groups still need by StreamTrimmer;
  // this guard cuts entries even a group still needs, which StreamTrimmer reports. Must be >= 0.
  long long stream_max_len = 1000000;
  // Test seam, empty in production: called after a batch was added to its stream and before
  // it is deleted from the outbox. Throwing here acts like a relay that dies at that point.
  std::function<void(int64_t batch_id)> after_publish_for_test;
};

// Moves committed outbox rows to the Redis stream of their topic, once each and in order of
// planning per topic, with no per-event deduplication state in Redis:
//  1. Plan: in one transaction, the oldest pending rows of one topic (up to batch_size, in id
//     order) get the next batch id from a sequence. Batches planned earlier and not yet
//     deleted (left by a relay that stopped) are finished first, in batch order.
//  2. Publish: one Lua script adds the batch to the stream and records its id in the relay
//     state key of this schema and topic (RelayStateKey), unless that key already holds this
//     batch id or a later one.
//  3. Ack: the batch's rows are deleted.
// A stop between any two steps leads to the same batch being run again, which step 2 turns
// into a no-op in Redis: no event is lost and none is added twice. While Redis is down the
// rows stay in PostgreSQL and go out when it is back. Relays of several schemas may publish to
// one topic (each service's audit events go to "audit"): each keeps its own state key, so
// neither skips the other's batches; their events interleave in the stream in no set order.
// (State keys were per topic only before; a batch published but not yet deleted when a relay
// first runs with per-schema keys is added once more, which consumers skip by event id.)
//
// One relay per schema works at a time: it holds a session-level advisory lock on a
// connection of its own that does all its PostgreSQL work; other relays (other replicas) stand
// by and take over when that connection ends. Thread-safe.
class OutboxRelay {
 public:
  // `redis` must outlive the relay.
  OutboxRelay(RelayOptions options, redis::Pool* redis);
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;
  // Stops.
  ~OutboxRelay();

  // Starts a background thread that publishes, then waits poll_interval (or until Wake()),
  // and after a failure waits with exponential backoff up to max_backoff, logging the failure
  // to stderr. No-op if already running.
  void Start();
  // Stops the background thread (after the batch in progress) and releases the connection
  // and with it the lock, so a standby relay takes over. Safe to call twice or without Start.
  void Stop();
  // Makes the background thread publish now rather than at the next poll: call it after
  // committing a transaction that appended to the outbox. Cheap; ignored while backing off.
  void Wake();

  // Publishes synchronously until nothing is pending, and returns how many events this call
  // added to streams (batches that turn out to be published already count 0). Returns 0 if
  // another relay holds the lock. Errors: INVALID_ARGUMENT for bad options; UNAVAILABLE if
  // PostgreSQL or Redis cannot be reached or the lock was lost (the rows stay pending);
  // INTERNAL if Redis rejects the script; the mapped PostgreSQL error otherwise.
  absl::StatusOr<int> PublishPending();

 private:
  struct Batch;

  // Publishes until nothing is pending or `*cancel` becomes true.
  absl::StatusOr<int> Pass(const std::atomic<bool>* cancel) ABSL_LOCKS_EXCLUDED(pass_mu_);
  absl::StatusOr<int> PassLocked(const std::atomic<bool>* cancel)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // Whether this relay holds the lock, taking it if it is free.
  bool TakeLeadership() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // Releases the lock if this relay holds it. Never throws.
  void ReleaseLeadership() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // Throws unless the lock is still held by the session of the open transaction.
  void CheckLeadership() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // The batch to publish next, planning one if none is left over; nullopt when nothing is
  // pending.
  std::optional<Batch> NextBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // Runs the Lua script for `batch`; returns how many entries it added (0: done before).
  absl::StatusOr<int> Publish(Batch batch);
  void Ack(int64_t batch_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  void Run();

  const RelayOptions options_;
  redis::Pool* const redis_;

  // One pass at a time, from the background thread or PublishPending.
  absl::Mutex pass_mu_;
  std::unique_ptr<pqxx::connection> conn_ ABSL_GUARDED_BY(pass_mu_);
  // Backend pid of the session that took the lock; 0 when not holding it. libpqxx may reopen a
  // broken connection on its own: a different pid then means the lock is gone.
  int lock_backend_pid_ ABSL_GUARDED_BY(pass_mu_) = 0;

  // Start and Stop, one at a time.
  absl::Mutex lifecycle_mu_;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);

  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set by Stop: ends the background thread's pass after the batch in progress.
  std::atomic<bool> cancel_{false};
};

}  // namespace touchline::events

#endif  // TOUCHLINE_COMMON_EVENTS_OUTBOX_RELAY_H_
