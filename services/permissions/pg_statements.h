// The statements of one pqxx transaction run for a store interface that returns Status: each
// statement's exception becomes a Status (pg::StatusFromException), and the first one is kept
// so that Finish can hand it back to pg::Pool, whose retry of serialization failures and
// deadlocks then works as it does for code that throws.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_PG_STATEMENTS_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_PG_STATEMENTS_H_

#include <exception>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pg/errors.h"

namespace touchline::permissions {

class PgStatements {
 public:
  // The value `statement` returns, or the Status of what it throws. After a failed statement
  // PostgreSQL refuses the rest of the transaction: later ones are ABORTED without running.
  template <typename Statement>
  auto Run(Statement&& statement) -> absl::StatusOr<std::invoke_result_t<Statement>> {
    if (failure_) return absl::AbortedError("an earlier statement of the transaction failed");
    try {
      return statement();
    } catch (const std::exception& e) {
      failure_ = std::current_exception();
      return pg::StatusFromException(e);
    }
  }
  // For a statement that returns nothing.
  template <typename Statement>
  absl::Status Exec(Statement&& statement) {
    return Run([&] {
             statement();
             return true;
           })
        .status();
  }
  // `status` when no statement failed; else rethrows the first failure (inside
  // pg::Pool::Transact or Query, which map it).
  absl::Status Finish(absl::Status status) const {
    if (failure_) std::rethrow_exception(failure_);
    return status;
  }

 private:
  std::exception_ptr failure_;
};

// What the stores' row classes (PgIdentityRows, PgOrgRows, PgAuditRows) share: the
// transaction they run in, the pqxx::work their writes need, and the statements' first
// failure. Writes through a read-only transaction fail with FAILED_PRECONDITION (RequireWork).
class PgRows {
 public:
  // `status` when no statement failed; else rethrows the first statement's exception (inside
  // pg::Pool::Transact or Query, which maps it). Call it last.
  absl::Status Finish(absl::Status status) const { return statements_.Finish(status); }

 protected:
  explicit PgRows(pqxx::transaction_base& txn) : txn_(txn), work_(nullptr) {}
  explicit PgRows(pqxx::work& work) : txn_(work), work_(&work) {}

  absl::Status RequireWork() const {
    if (work_ == nullptr) return absl::FailedPreconditionError("a write outside a transaction");
    return absl::OkStatus();
  }

  pqxx::transaction_base& txn_;
  pqxx::work* const work_;
  PgStatements statements_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_PG_STATEMENTS_H_
