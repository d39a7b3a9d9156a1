#include "common/events/outbox_relay.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <pqxx/binarystring>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/pg/errors.h"
#include "common/status/macros.h"

namespace touchline::events {
namespace {

// Two-key form: its own lock space, apart from the migrator's one-key locks on the schema.
constexpr char kTryLockSql[] =
    "SELECT pg_try_advisory_lock(hashtext('touchline.outbox_relay'), hashtext($1))";

constexpr char kUnlockSql[] =
    "SELECT pg_advisory_unlock(hashtext('touchline.outbox_relay'), hashtext($1))";

constexpr char kLeftoverBatchSql[] =
    "SELECT batch_id, topic FROM outbox WHERE batch_id IS NOT NULL ORDER BY batch_id LIMIT 1";

// Gives the oldest pending rows of the topic of the oldest pending row one new batch id (the
// uncorrelated subquery runs once).
constexpr char kPlanBatchSql[] = R"sql(
WITH next_topic AS (
  SELECT topic FROM outbox WHERE batch_id IS NULL ORDER BY id LIMIT 1
), picked AS (
  SELECT o.id FROM outbox o JOIN next_topic USING (topic)
  WHERE o.batch_id IS NULL ORDER BY o.id LIMIT $1
)
UPDATE outbox SET batch_id = (SELECT nextval('outbox_batch_seq'))
FROM picked WHERE outbox.id = picked.id
RETURNING outbox.batch_id, outbox.topic)sql";

constexpr char kBatchEventsSql[] =
    "SELECT event_id::text, event_type, tenant_id, aggregate_id, envelope FROM outbox"
    " WHERE batch_id = $1 ORDER BY id";

constexpr char kDeleteBatchSql[] = "DELETE FROM outbox WHERE batch_id = $1";

// KEYS: the stream, the relay state key of this schema. ARGV: batch id, max stream length (0:
// no MAXLEN), then five values per event. A schema's batch ids grow and its batches of a topic are
// published in batch order, so a batch id at or below the recorded one was added before: adding it
// again would duplicate its events.
constexpr char kPublishScript[] = R"lua(
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if last >= tonumber(ARGV[1]) then return 0 end
local added = 0
for i = 3, #ARGV, 5 do
  local fields = {'event_id', ARGV[i], 'type', ARGV[i + 1], 'tenant', ARGV[i + 2],
                  'aggregate', ARGV[i + 3], 'event', ARGV[i + 4]}
  if ARGV[2] == '0' then
    redis.call('XADD', KEYS[1], '*', unpack(fields))
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
  end
  added = added + 1
end
redis.call('SET', KEYS[2], ARGV[1])
return added
)lua";

}  // namespace

struct OutboxRelay::Batch {
  int64_t id = 0;
  std::string topic;
  // event_id, type, tenant, aggregate, event: five per event, in outbox id order.
  std::vector<std::string> values;
};

OutboxRelay::OutboxRelay(RelayOptions options, redis::Pool* redis)
    : options_(std::move(options)), redis_(redis) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
    woken_ = false;
  }
  cancel_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (thread_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    cancel_ = true;
    thread_.join();
  }
  absl::MutexLock lock(&pass_mu_);
  ReleaseLeadership();
  conn_.reset();
  lock_backend_pid_ = 0;
}

void OutboxRelay::ReleaseLeadership() {
  if (conn_ == nullptr || !conn_->is_open() || lock_backend_pid_ == 0 ||
      conn_->backendpid() != lock_backend_pid_) {
    return;
  }
  // Closing the connection would release the lock too, but only once the server has noticed;
  // unlocking first lets a standby take over as soon as Stop returns.
  try {
    pqxx::nontransaction txn(*conn_);
    txn.exec_params(kUnlockSql, options_.schema);
  } catch (const std::exception& e) {
    pg::StatusFromException(e).IgnoreError();  // Logged; the close below releases it anyway.
  }
}

void OutboxRelay::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

absl::StatusOr<int> OutboxRelay::PublishPending() { return Pass(nullptr); }

void OutboxRelay::Run() {
  absl::Duration backoff = absl::ZeroDuration();
  while (true) {
    const absl::StatusOr<int> published = Pass(&cancel_);
    const bool failing = !published.ok();
    if (failing) {
      backoff = backoff == absl::ZeroDuration() ? options_.poll_interval
                                                : std::min(backoff * 2, options_.max_backoff);
      const std::string line =
          absl::StrCat("outbox relay ", options_.schema, ": ", published.status().ToString(),
                       "; retrying in ", absl::FormatDuration(backoff), "\n");
      std::fputs(line.c_str(), stderr);
    } else {
      backoff = absl::ZeroDuration();
    }
    absl::MutexLock lock(&mu_);
    // A writer's Wake does not cut a backoff short: while PostgreSQL or Redis is failing,
    // every commit would otherwise trigger another attempt.
    const auto ready = [this, failing]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (woken_ && !failing);
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), failing ? backoff : options_.poll_interval);
    if (stopping_) return;
    woken_ = false;
  }
}

absl::StatusOr<int> OutboxRelay::Pass(const std::atomic<bool>* cancel) {
  if (options_.dsn.empty() || options_.schema.empty() || options_.batch_size < 1 ||
      options_.stream_max_len < 0 || redis_ == nullptr) {
    return absl::InvalidArgumentError(
        "outbox relay: dsn, schema and a Redis pool are required, batch_size must be >= 1 and "
        "stream_max_len >= 0");
  }
  absl::MutexLock lock(&pass_mu_);
  try {
    return PassLocked(cancel);
  } catch (const std::exception& e) {
    if (conn_ != nullptr && !conn_->is_open()) {
      conn_.reset();
      lock_backend_pid_ = 0;
    }
    return pg::StatusFromException(e);
  } catch (...) {
    return absl::InternalError("outbox relay: non-standard exception");
  }
}

absl::StatusOr<int> OutboxRelay::PassLocked(const std::atomic<bool>* cancel) {
  if (!TakeLeadership()) return 0;
  int published = 0;
  while (cancel == nullptr || !cancel->load()) {
    std::optional<Batch> batch = NextBatch();
    if (!batch.has_value()) break;
    const int64_t batch_id = batch->id;
    TL_ASSIGN_OR_RETURN(const int added, Publish(*std::move(batch)));
    if (options_.after_publish_for_test) options_.after_publish_for_test(batch_id);
    Ack(batch_id);
    published += added;
  }
  return published;
}

bool OutboxRelay::TakeLeadership() {
  if (conn_ != nullptr && !conn_->is_open()) conn_.reset();
  if (conn_ == nullptr) {
    lock_backend_pid_ = 0;
    conn_ = std::make_unique<pqxx::connection>(options_.dsn);
    conn_->set_variable("search_path", conn_->quote_name(options_.schema));
    // Plain index scans only. The planner, seeing few live rows, took the batch plan's rows by
    // a bitmap scan of outbox_pending_idx, which reads every entry the index still holds, those
    // of rows published and deleted since the last vacuum included, and never marks them dead:
    // on a busy outbox each plan read every row published since (20 ms and 20,000 buffers a
    // call in the automation latency benchmark). An index scan in id order stops after the
    // batch and marks the dead entries it passes, so the next plan skips them.
    conn_->set_variable("enable_bitmapscan", "off");
  }
  if (lock_backend_pid_ != 0 && conn_->backendpid() == lock_backend_pid_) return true;
  lock_backend_pid_ = 0;
  pqxx::nontransaction txn(*conn_);
  if (!txn.exec_params(kTryLockSql, options_.schema)[0][0].as<bool>()) return false;
  lock_backend_pid_ = conn_->backendpid();
  return true;
}

void OutboxRelay::CheckLeadership() {
  // The transaction has begun, so its session can no longer change under it: if it is the
  // session that took the lock, the lock is held until the transaction ends.
  if (conn_->backendpid() != lock_backend_pid_) {
    lock_backend_pid_ = 0;
    throw pqxx::broken_connection("outbox relay: lost its lock with its connection");
  }
}

std::optional<OutboxRelay::Batch> OutboxRelay::NextBatch() {
  pqxx::work txn(*conn_);
  CheckLeadership();
  pqxx::result head = txn.exec(kLeftoverBatchSql);
  if (head.empty()) head = txn.exec_params(kPlanBatchSql, options_.batch_size);
  if (head.empty()) {
    txn.commit();
    return std::nullopt;
  }
  Batch batch;
  batch.id = head[0][0].as<int64_t>();
  batch.topic = head[0][1].as<std::string>();
  const pqxx::result events = txn.exec_params(kBatchEventsSql, batch.id);
  batch.values.reserve(events.size() * 5);
  for (const auto& row : events) {
    for (int column = 0; column < 4; ++column)
      batch.values.push_back(row[column].as<std::string>());
    batch.values.push_back(pqxx::binarystring(row[4]).str());
  }
  txn.commit();
  return batch;
}

absl::StatusOr<int> OutboxRelay::Publish(Batch batch) {
  std::vector<std::string> argv = {
      "EVAL",
      kPublishScript,
      "2",
      StreamKey(options_.stream_prefix, batch.topic),
      RelayStateKey(options_.stream_prefix, batch.topic, options_.schema),
      std::to_string(batch.id),
      std::to_string(options_.stream_max_len)};
  argv.insert(argv.end(), std::make_move_iterator(batch.values.begin()),
              std::make_move_iterator(batch.values.end()));
  TL_ASSIGN_OR_RETURN(const redis::Reply reply, redis_->Command(argv));
  if (!reply.is_integer()) {
    return absl::InternalError(absl::StrCat("outbox relay: Redis did not take batch ", batch.id,
                                            ": ", std::string(reply.str())));
  }
  return static_cast<int>(reply.integer());
}

void OutboxRelay::Ack(int64_t batch_id) {
  pqxx::work txn(*conn_);
  CheckLeadership();
  // The ack need not wait for its WAL flush: if a crash loses it, the batch is still planned,
  // the next relay publishes it again and the Lua check makes that a no-op. (Planning must
  // stay durable: a lost plan could hand its batch id to other rows.) This saves one fsync
  // per pass, which at one write in flight was one fsync in three.
  txn.exec("SET LOCAL synchronous_commit = off");
  txn.exec_params(kDeleteBatchSql, batch_id);
  txn.commit();
}

}  // namespace touchline::events
