#include "common/pg/pool.h"

#include <poll.h>

#include <exception>
#include <pqxx/except>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/pg/errors.h"
#include "common/status/macros.h"

namespace touchline::pg {

// Owns a connection for the length of one call and hands it back to the pool at the end.
class Pool::Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Lease(Lease&&) = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_ != nullptr) pool_->Release(std::move(conn_));
  }

  pqxx::connection& conn() { return *conn_; }

 private:
  Pool* pool_;
  std::unique_ptr<pqxx::connection> conn_;
};

namespace {

// Whether an idle connection can still be used. Nothing is sent to an idle connection, so
// it has nothing to read unless the server closed it meanwhile (restart,
// pg_terminate_backend, idle timeout), leaving a FATAL message and EOF on the socket. Such a
// connection is replaced now instead of failing the caller's first statement. The check is
// one non-blocking poll(), no round trip.
bool StillOpen(const pqxx::connection& conn) {
  if (!conn.is_open()) return false;
  pollfd socket{conn.sock(), POLLIN, 0};
  return poll(&socket, 1, /*timeout=*/0) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("pg pool: empty dsn");
  if (options.size < 1) return absl::InvalidArgumentError("pg pool: size must be at least 1");
  if (options.acquire_timeout < absl::ZeroDuration() ||
      options.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg pool: timeouts must not be negative");
  }
  std::unique_ptr<Pool> pool(new Pool(std::move(options)));
  TL_ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> first, pool->Connect());
  absl::MutexLock lock(&pool->mu_);
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

Pool::Pool(PoolOptions options) : options_(std::move(options)) {}

Pool::~Pool() = default;

int Pool::size() const { return options_.size; }

absl::StatusOr<std::unique_ptr<pqxx::connection>> Pool::Connect() const {
  try {
    auto conn = std::make_unique<pqxx::connection>(options_.dsn);
    // set_variable (not a plain SET) so that libpqxx restores the settings itself if it ever
    // reconnects this connection behind our back.
    if (!options_.search_path.empty()) {
      conn->set_variable("search_path", conn->quote_name(options_.search_path));
    }
    conn->set_variable("statement_timeout",
                       std::to_string(absl::ToInt64Milliseconds(options_.statement_timeout)));
    for (const auto& [name, value] : options_.settings) {
      conn->set_variable(name, conn->quote(value));
    }
    for (const auto& [name, sql] : options_.prepared) conn->prepare(name, sql);
    return conn;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.acquire_timeout;
  while (true) {
    std::unique_ptr<pqxx::connection> conn;
    {
      absl::MutexLock lock(&mu_);
      const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.size;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
        return absl::UnavailableError(absl::StrCat("database: no connection free within ",
                                                   absl::FormatDuration(options_.acquire_timeout)));
      }
      if (idle_.empty()) {
        ++open_;
      } else {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (conn == nullptr) {
      absl::StatusOr<std::unique_ptr<pqxx::connection>> made = Connect();
      if (!made.ok()) {
        Discard(nullptr);
        return made.status();
      }
      return Lease(this, *std::move(made));
    }
    if (StillOpen(*conn)) return Lease(this, std::move(conn));
    Discard(std::move(conn));  // Frees its slot; the next round opens a replacement.
  }
}

void Pool::Release(std::unique_ptr<pqxx::connection> conn) {
  if (!conn->is_open()) return Discard(std::move(conn));
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(conn));
}

void Pool::Discard(std::unique_ptr<pqxx::connection> conn) {
  conn.reset();  // Closed outside the lock.
  absl::MutexLock lock(&mu_);
  --open_;
}

absl::Status Pool::Run(const std::function<absl::Status(pqxx::connection&)>& body, bool* conflict) {
  TL_ASSIGN_OR_RETURN(Lease lease, Acquire());
  try {
    return body(lease.conn());
  } catch (const pqxx::serialization_failure& e) {
    *conflict = true;
    return StatusFromException(e);
  } catch (const pqxx::deadlock_detected& e) {
    *conflict = true;
    return StatusFromException(e);
  } catch (const std::exception& e) {
    return StatusFromException(e);
  } catch (...) {
    return absl::InternalError("database: non-standard exception");
  }
}

absl::Status Pool::Transact(const std::function<absl::Status(pqxx::work&)>& fn, int retries) {
  for (int attempt = 0;; ++attempt) {
    bool conflict = false;
    absl::Status status = Run(
        [&fn](pqxx::connection& conn) {
          pqxx::work txn(conn);
          absl::Status result = fn(txn);
          // On error the transaction's destructor rolls it back.
          if (result.ok()) txn.commit();
          return result;
        },
        &conflict);
    if (!conflict || attempt >= retries) return status;
  }
}

absl::Status Pool::Query(const std::function<absl::Status(pqxx::nontransaction&)>& fn) {
  bool conflict = false;
  return Run(
      [&fn](pqxx::connection& conn) {
        pqxx::nontransaction txn(conn);
        return fn(txn);
      },
      &conflict);
}

}  // namespace touchline::pg
