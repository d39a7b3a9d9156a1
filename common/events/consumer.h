// Consumes the Redis stream of one topic in a consumer group and applies each event at most
// once per group, although Redis delivers at least once: every event is applied in the
// PostgreSQL transaction that records its id in an inbox table. A consumer may apply the
// entries of one read together, in one transaction (BatchApplyFn).
#ifndef TOUCHLINE_COMMON_EVENTS_CONSUMER_H_
#define TOUCHLINE_COMMON_EVENTS_CONSUMER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/transaction>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "prometheus/counter.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::events {

// The inbox table <schema>.applied_events(consumer_group, event_id, applied_at), one row per
// event a group applied, indexed by applied_at for PurgeAppliedEvents. Apply it to the schema
// of each consuming service:
//   pg::ApplyMigrations(dsn, schema, "inbox", InboxMigrations());
const std::vector<pg::Migration>& InboxMigrations();

// How far the clocks of Redis (which stamps stream entry ids), the consumers and PostgreSQL
// (which stamps applied_at) may disagree, plus the longest time between a consumer's age check
// and its apply transaction: the margin of the inbox retention argument (ConsumerOptions).
inline constexpr absl::Duration kInboxClockAllowance = absl::Hours(1);

// Deletes the inbox rows (of every group) applied more than `retention` ago by PostgreSQL's
// clock, at most `batch_size` rows per transaction (so no statement holds its locks for long)
// and as many transactions as it takes. Pass the consumers' ConsumerOptions::inbox_retention
// (--inbox_retention): see there why an event whose row is gone is never applied again. Run it
// periodically (--purge_interval) on the schema's pool; replicas may run it at once. Returns
// how many rows were deleted. Errors: INVALID_ARGUMENT for retention <= 0 or batch_size < 1;
// the mapped PostgreSQL error of the failing batch (the batches before it stay deleted).
absl::StatusOr<int64_t> PurgeAppliedEvents(pg::Pool& pool, absl::Duration retention,
                                           int batch_size = 1000);

struct ConsumerOptions {
  // Prefix of the Redis keys: see StreamKey (outbox.h) and DeadLetterKey.
  std::string stream_prefix = "touchline";
  // The topic whose stream is consumed. Required.
  std::string topic;
  // The consumer group, one per consuming service (e.g. "touchpoints"): each group sees every
  // event, and the replicas of a group share them. Required.
  std::string group;
  // This replica's name in the group. Required, unique per process: two replicas with one
  // name would take each other's pending entries for their own.
  std::string consumer;
  // Most entries per XREADGROUP and per XAUTOCLAIM. Must be >= 1. With a BatchApplyFn, also
  // the most events applied in one transaction.
  int batch_size = 64;
  // How long the background loop's XREADGROUP waits for new entries. Must be shorter than the
  // Redis pool's timeout, which would otherwise cut the wait short as a failure.
  absl::Duration block = absl::Milliseconds(500);
  // Entries pending longer than this on any consumer of the group (one that died, or this one
  // after a failed apply) are taken over (XAUTOCLAIM) and retried.
  absl::Duration claim_idle = absl::Seconds(30);
  // Most deliveries of an entry: once it has been delivered this many times without being
  // applied, its next delivery moves it to the dead-letter stream. Must be >= 1.
  int max_deliveries = 5;
  // Longest wait between passes of the background loop while Redis or PostgreSQL fails;
  // waits double from 10 ms up to this.
  absl::Duration max_backoff = absl::Seconds(5);
  // Most entries kept in the group's dead-letter stream (--events_dead_letter_max_len): each
  // dead letter trims it to exactly this length (dead letters are rare, so exact trimming costs
  // nothing), dropping the oldest, counted in touchline_events_dead_letters_dropped_total.
  // Must be >= 1.
  long long dead_letter_max_len = 100000;
  // How long the inbox keeps the row of an applied event (--inbox_retention; the same value
  // must go to PurgeAppliedEvents). A purged row cannot make an event apply twice, because an
  // event is applied again only if its entry is delivered again, and:
  //  - a new entry (XREADGROUP ">") was never delivered to the group, so never applied by it;
  //  - a delivered entry stays pending until acknowledged, which happens only after its inbox
  //    row committed; such an entry is delivered again only by Reclaim (XAUTOCLAIM), and
  //    Reclaim dead-letters instead of applying any entry that entered the stream (its id's
  //    time) more than inbox_retention - kInboxClockAllowance ago. The row of an entry was
  //    written after the entry entered the stream, so it is younger than that and still there.
  // A live group gives up on a failing entry after max_deliveries claims, claim_idle apart,
  // long before; the age check covers a group whose consumers were all down for longer than the
  // retention. Must be at least kInboxClockAllowance + claim_idle * (max_deliveries + 1).
  absl::Duration inbox_retention = absl::Hours(7 * 24);
};

// INVALID_ARGUMENT, naming the problem, unless `options` are complete and consistent as
// documented on ConsumerOptions. A service checks its options with this at start-up; every
// pass of a consumer checks them too.
absl::Status ValidateConsumerOptions(const ConsumerOptions& options);

// A consumer name unique to this process: "<hostname>-<pid>", for ConsumerOptions::consumer.
std::string ProcessConsumerName();

// The dead-letter stream of `group` on `topic`: "<prefix>:{<topic>}:dead:<group>", in the
// same Redis Cluster hash slot as the topic's stream. Its entries hold the fields of the
// original entry plus "error" (why it was given up, when known) and "group". It is capped at
// ConsumerOptions::dead_letter_max_len entries.
std::string DeadLetterKey(std::string_view prefix, std::string_view topic, std::string_view group);

// Applies one event inside the PostgreSQL transaction that records its id as applied, so an
// event is applied at most once per group even though delivery is at least once. Returning an
// error (or throwing) rolls the transaction back; the entry stays pending and is retried once
// it has been idle for claim_idle. Must not have effects outside `txn`: they would repeat.
using ApplyFn =
    std::function<absl::Status(pqxx::work& txn, const touchline::events::v1::EventEnvelope& event)>;

// Applies `events` (at least one, each new to the group, in stream order) inside the one
// PostgreSQL transaction that records all their ids as applied. Returning an error (or
// throwing) rolls the whole transaction back; the consumer then applies the same events one
// per transaction, calling this with one event each, so that an event that fails alone is
// retried and dead-lettered alone while the others are applied. Must not have effects outside
// `txn`: they would repeat.
using BatchApplyFn = std::function<absl::Status(
    pqxx::work& txn, std::span<const touchline::events::v1::EventEnvelope* const> events)>;

// Applies one event whose effect is harmless to repeat (dropping a cache entry, say), for a
// consumer that keeps no inbox: an event delivered twice is applied twice. Returning an error
// leaves the entry pending, as for ApplyFn.
using RepeatableApplyFn =
    std::function<absl::Status(const touchline::events::v1::EventEnvelope& event)>;

// One consumer of a group. For each entry, in one transaction: insert the event id into
// applied_events (ON CONFLICT DO NOTHING); if it was there, the event was applied before and
// is skipped, otherwise `apply` runs. The entry is acknowledged (XACK) only after the commit,
// so a crash in between leads to a redelivery that the inbox skips. Entries that cannot be
// parsed, entries delivered more than max_deliveries times, and redelivered entries older than
// the inbox retention (see ConsumerOptions::inbox_retention) are moved to the dead-letter stream
// and acknowledged in one MULTI/EXEC. Exports, labelled by topic and group,
// touchline_events_dead_lettered_total and touchline_events_dead_letters_dropped_total. With a
// BatchApplyFn the entries of one read (or one XAUTOCLAIM) go through that transaction together and
// are acknowledged together: see BatchApplyFn for what happens when it fails. Thread-safe.
class StreamConsumer {
 public:
  // `redis` and `pg` must outlive the consumer; the schema on pg's search_path holds
  // applied_events (InboxMigrations).
  StreamConsumer(ConsumerOptions options, redis::Pool* redis, pg::Pool* pg, ApplyFn apply);
  // As above, but applies up to batch_size events per transaction with `apply`: one inbox
  // insert and one commit for them all, for consumers whose events are many and small.
  StreamConsumer(ConsumerOptions options, redis::Pool* redis, pg::Pool* pg, BatchApplyFn apply);
  // Without an inbox: each entry is applied with `apply` and then acknowledged, so a crash in
  // between applies it again. For services that own no tables (the gateway).
  StreamConsumer(ConsumerOptions options, redis::Pool* redis, RepeatableApplyFn apply);
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;
  // Stops.
  ~StreamConsumer();

  // Starts a background thread that loops: take over idle pending entries, wait up to `block`
  // for new ones, apply and acknowledge them. While Redis or PostgreSQL fails it logs to
  // stderr and backs off exponentially up to max_backoff. No-op if already running.
  void Start();
  // Stops the background thread after its current pass (at most `block` plus the entries in
  // hand). Safe to call twice or without Start.
  void Stop();

  // One synchronous pass without blocking (tests, shutdown): creates the group if missing,
  // takes over entries pending longer than claim_idle, then reads new entries until none are
  // left, and processes them all. Returns how many events were applied (not counting
  // duplicates skipped or entries dead-lettered). An error from `apply` is not an error of the
  // pass: that entry stays pending and the others go on. Errors: INVALID_ARGUMENT for bad
  // options; UNAVAILABLE if Redis cannot be reached; the mapped PostgreSQL error if the inbox
  // transaction fails for reasons other than `apply` (the entry stays pending); INTERNAL if
  // Redis rejects a command.
  absl::StatusOr<int> PollOnce();

  // Creates the group if it does not exist, from the stream's first entry (Start and PollOnce
  // do it too). A reader that must not miss what is published after it begins
  // (customers::Bootstrapper) calls it first. UNAVAILABLE if Redis cannot be reached.
  absl::Status EnsureGroup();

  // Whether entries were deleted from the stream before they were delivered to the group (cut
  // by the MAXLEN guard or by hand while the group was behind, or before the group existed):
  // "" when none were, else a stream id after the last one lost, which grows with each new
  // loss. Those events are lost to the group: a read model rebuilds from its owner instead.
  // Read atomically (one script). UNAVAILABLE if Redis cannot be reached.
  absl::StatusOr<std::string> LostEntryId();

 private:
  struct Entry;

  // An entry whose "event" field parsed into a valid envelope.
  struct Parsed {
    const Entry* entry;
    touchline::events::v1::EventEnvelope event;
  };

  // Exactly one of `apply` (with `pg`) and `repeatable_apply` is set; `batched` says whether
  // `apply` takes several events per transaction.
  StreamConsumer(ConsumerOptions options, redis::Pool* redis, pg::Pool* pg, BatchApplyFn apply,
                 bool batched, RepeatableApplyFn repeatable_apply);

  // One pass as PollOnce; with `block` the read of new entries waits up to that long and
  // happens once.
  absl::StatusOr<int> Pass(absl::Duration block);
  // The entries of an XREADGROUP or XAUTOCLAIM reply.
  static std::vector<Entry> ParseEntries(redis::ReplyView entries);
  // Takes over idle pending entries and processes them; adds to `*applied`.
  absl::Status Reclaim(int* applied);
  // Reads up to batch_size new entries (waiting up to `block` if non-zero) and processes them;
  // adds to `*applied` and returns how many entries were read.
  absl::StatusOr<size_t> ReadNew(absl::Duration block, int* applied);
  // Processes `entries`, in order: one by one (Process), or for a batched consumer,
  // dead-letters those that do not parse and applies the others together (ApplyTogether),
  // falling back to one by one (ApplyOne) when that fails.
  absl::Status ProcessAll(const std::vector<const Entry*>& entries, bool reclaimed, int* applied);
  // Parses `entry`; one that does not parse is dead-lettered and nullopt returned.
  absl::StatusOr<std::optional<Parsed>> Parse(const Entry& entry);
  // Applies `entry` unless already applied, and acknowledges it; adds 1 to `*applied` when
  // `apply` ran and committed (or, without an inbox, succeeded).
  absl::Status Process(const Entry& entry, bool reclaimed, int* applied);
  // Applies `parsed` in a transaction of its own unless already applied, and acknowledges it;
  // when `apply` fails, records the error and leaves the entry pending.
  absl::Status ApplyOne(const Parsed& parsed, bool reclaimed, int* applied);
  // Applies those of `batch` not applied before in one transaction and acknowledges them all;
  // adds to `*applied` how many were new. false (nothing committed, nothing acknowledged)
  // when `apply` failed; an error when the inbox or the commit failed.
  absl::StatusOr<bool> ApplyTogether(const std::vector<Parsed>& batch, bool reclaimed,
                                     int* applied);
  // Moves `entry` to the dead-letter stream, trims that to dead_letter_max_len and acknowledges
  // the entry, atomically.
  absl::Status DeadLetter(const Entry& entry, std::string_view error);
  // Acknowledges `entry` and forgets its last error.
  absl::Status Ack(std::string_view id, bool reclaimed);
  // Acknowledges the entries `ids` in one round trip and, when `reclaimed`, forgets their
  // last errors.
  absl::Status AckAll(const std::vector<std::string>& ids, bool reclaimed);
  // Runs one command; an error reply becomes INTERNAL.
  absl::StatusOr<redis::Reply> Command(const std::vector<std::string>& argv);
  void Run();

  const ConsumerOptions options_;
  redis::Pool* const redis_;
  pg::Pool* const pg_;  // null without an inbox
  const BatchApplyFn apply_;
  const bool batched_;
  const RepeatableApplyFn repeatable_apply_;
  const std::string stream_key_;
  const std::string dead_letter_key_;
  // Hash of entry id -> text of its last apply error, shared by the group's consumers so that
  // whoever dead-letters an entry can say why.
  const std::string errors_key_;
  prometheus::Counter& dead_lettered_;
  prometheus::Counter& dead_letters_dropped_;

  // Set once the group is known to exist; cleared when Redis says it does not (the stream
  // was deleted), so the next pass creates it again.
  std::atomic<bool> group_ready_{false};

  // Start and Stop, one at a time.
  absl::Mutex lifecycle_mu_;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace touchline::events

#endif  // TOUCHLINE_COMMON_EVENTS_CONSUMER_H_
