// How every service reports to the audit log, which the permissions service keeps as one hash
// chain per tenant (services/permissions/audit/audit_log.h) from the "audit" topic.
//
// Changes: durable. Append the envelope to the outbox in the transaction of the change:
//   events::AppendToOutbox(txn, events::kAuditTopic,
//                  MakeAuditEnvelope(caller, "customer.updated", "customer", id, paths));
// so the change is audited if and only if it commits, even if the process dies right after.
//
// Reads of sensitive fields: best-effort. A read must not gain a database write, so
// AuditPublisher queues the envelope in memory and a background thread adds it to the topic's
// stream. An envelope is lost if the process dies before it is flushed, if Redis stays down
// longer than the queue holds (the oldest are dropped first, counted in
// touchline_audit_events_dropped_total), or if Redis is down when the publisher stops.
#ifndef TOUCHLINE_COMMON_AUDIT_AUDIT_H_
#define TOUCHLINE_COMMON_AUDIT_AUDIT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/events/topics.h"
#include "common/redis/pool.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::audit {

// An envelope (MakeEnvelope) of tenant caller.tenant_id, aggregate_type "audit", aggregate_id
// `resource_id`, request and actor ids of `caller`, whose payload is a
// touchline.events.v1.AuditRecorded of an AuditEvent with occur_time now, `action` (e.g.
// "customer.updated", "customer.read_sensitive"), actor_id caller.caller_id, client
// caller.client, the resource, `fields` (proto field paths read or changed), `detail` and
// request_id caller.request_id.
touchline::events::v1::EventEnvelope MakeAuditEnvelope(
    const auth::RequestContext& caller, std::string action, std::string resource_type,
    std::string resource_id, std::vector<std::string> fields, std::string detail = "");

struct AuditPublisherOptions {
  // Prefix of the Redis keys: the stream is events::StreamKey(stream_prefix, events::kAuditTopic).
  std::string stream_prefix = "touchline";
  // Most envelopes held in memory. When full, Publish drops the oldest. Must be >= 1.
  size_t queue_capacity = 10000;
  // Most envelopes per pipelined round trip. Must be >= 1.
  int batch_size = 256;
  // The guard on the stream's length (XADD MAXLEN ~), as the outbox relay's
  // (--events_stream_max_len); 0: none. The stream is trimmed to what its consumer groups
  // still need by events::StreamTrimmer.
  long long stream_max_len = 1000000;
  // First wait after Redis failed; waits double up to max_backoff. Must be > 0.
  absl::Duration retry_interval = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

// Publishes audit envelopes of reads to the audit topic's stream without touching PostgreSQL
// and without making the reader wait for Redis. Entries have exactly the fields the outbox
// relay writes (event_id, type, tenant, aggregate, event), so the audit topic's
// StreamConsumer takes them like relayed ones. Delivery is at least once (a round trip that
// fails half-way is sent again; the consumer skips repeats by event id) and best-effort: see
// the top of this file. Thread-safe.
class AuditPublisher {
 public:
  // INVALID_ARGUMENT for options outside their limits or a null `redis`, which must outlive
  // the publisher.
  static absl::StatusOr<std::unique_ptr<AuditPublisher>> Create(AuditPublisherOptions options,
                                                                redis::Pool* redis);

  AuditPublisher(const AuditPublisher&) = delete;
  AuditPublisher& operator=(const AuditPublisher&) = delete;
  // Stops.
  ~AuditPublisher();

  // Starts the background thread: it sends queued envelopes in batches as they come, and
  // while Redis fails keeps them queued and retries with exponential backoff, logging each
  // failure. No-op if already running.
  void Start();
  // Stops the background thread, then sends what is queued until the queue is empty or a
  // round trip fails; whatever is left then is dropped and counted. Also flushes when the
  // thread was never started. Safe to call twice.
  void Stop();

  // Queues `envelope` (MakeAuditEnvelope) and returns at once: never waits for Redis. When
  // the queue is full the oldest envelope is dropped, counted and logged.
  void Publish(touchline::events::v1::EventEnvelope envelope);

  // Envelopes this publisher dropped: queue full, left over at Stop, or refused by Redis.
  int64_t dropped() const { return dropped_.load(); }
  // Envelopes waiting to be sent.
  size_t queued() const;

 private:
  AuditPublisher(AuditPublisherOptions options, redis::Pool* redis);

  void Run();
  // Sends up to batch_size queued envelopes in one pipelined round trip. When the round trip
  // fails they go back to the front of the queue (as far as it has room) and its error is
  // returned; entries Redis refused one by one are dropped.
  absl::Status SendBatch() ABSL_LOCKS_EXCLUDED(mu_);
  // Sends until the queue is empty or a round trip fails, then drops what is left.
  void Drain() ABSL_LOCKS_EXCLUDED(mu_);
  // Counts `count` dropped envelopes in dropped() and the metric.
  void CountDropped(int64_t count, const char* reason);

  const AuditPublisherOptions options_;
  redis::Pool* const redis_;
  const std::string stream_key_;

  // Start and Stop, one at a time.
  absl::Mutex lifecycle_mu_;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);

  mutable absl::Mutex mu_;
  std::deque<touchline::events::v1::EventEnvelope> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Whether envelopes were dropped for a full queue since the last successful send: the
  // first drop of such a run is logged, the rest only counted.
  bool overflowing_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<int64_t> dropped_{0};
};

}  // namespace touchline::audit

#endif  // TOUCHLINE_COMMON_AUDIT_AUDIT_H_
