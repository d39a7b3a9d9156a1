// A bounded, thread-safe pool of PostgreSQL connections (libpqxx 6.4) that runs caller code in
// transactions and reports every failure as an absl::Status.
#ifndef TOUCHLINE_COMMON_PG_POOL_H_
#define TOUCHLINE_COMMON_PG_POOL_H_

#include <functional>
#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace touchline::pg {

struct PoolOptions {
  // libpq connection string, keyword form ("host=... port=... dbname=...") or URI.
  std::string dsn;
  // Schema set as search_path on every connection; empty keeps the server default.
  std::string search_path;
  // Most connections open at once. Must be >= 1.
  int size = 8;
  // How long a caller waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(2);
  // statement_timeout of every connection; a statement running longer fails with
  // DEADLINE_EXCEEDED. Zero disables the limit.
  absl::Duration statement_timeout = absl::Seconds(5);
  // (name, sql) statements prepared on every connection, for exec_prepared(name, ...). They are
  // sent to the server on first use on each connection (and again after a reconnect).
  std::vector<std::pair<std::string, std::string>> prepared;
  // Other settings (name, value) of every connection, e.g. {"plan_cache_mode",
  // "force_generic_plan"}.
  std::vector<std::pair<std::string, std::string>> settings;
};

class Pool {
 public:
  // Validates `options` (INVALID_ARGUMENT if size < 1, the dsn is empty or a duration is
  // negative) and opens one connection so that a wrong address or a server that is down is
  // reported at start-up (UNAVAILABLE); the others are opened when first needed.
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Runs `fn` in one read-committed transaction and commits when it returns OK; rolls back
  // when it returns an error (which is returned as is) or throws. Exceptions are mapped by
  // StatusFromException. A serialization failure or deadlock detected by the server (ABORTED)
  // reruns `fn` in a new transaction, up to `retries` more times, so `fn` must be safe to run
  // again: keep side effects outside the database out of it. An ABORTED that `fn` returns
  // itself is not retried. UNAVAILABLE if no connection is free within acquire_timeout or the
  // connection fails; a failed connection is discarded and replaced on a later call.
  absl::Status Transact(const std::function<absl::Status(pqxx::work&)>& fn, int retries = 2);

  // Runs `fn` outside a transaction (pqxx::nontransaction: each statement commits on its own,
  // one round trip each): for single-statement reads on the hot path. Errors as Transact, but
  // nothing is retried.
  absl::Status Query(const std::function<absl::Status(pqxx::nontransaction&)>& fn);

  // The most connections the pool opens.
  int size() const;

 private:
  class Lease;

  explicit Pool(PoolOptions options);

  // Opens and configures a new connection.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  // A live connection: an idle one, or a new one while fewer than size() exist.
  absl::StatusOr<Lease> Acquire();
  // Returns a connection to the idle list, or discards it when it is no longer usable.
  void Release(std::unique_ptr<pqxx::connection> conn);
  // Closes `conn` (which may be null) and frees its slot.
  void Discard(std::unique_ptr<pqxx::connection> conn);

  // Runs `body` on a leased connection, mapping whatever it throws. Sets `*conflict` when the
  // server aborted the transaction for a serialization failure or deadlock.
  absl::Status Run(const std::function<absl::Status(pqxx::connection&)>& body, bool* conflict);

  const PoolOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections in existence: idle, leased or being opened.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace touchline::pg

#endif  // TOUCHLINE_COMMON_PG_POOL_H_
