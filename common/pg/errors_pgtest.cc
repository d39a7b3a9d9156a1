#include "common/pg/errors.h"

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <stdexcept>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::pg {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::touchline::testing::StatusIs;

// Real server errors, provoked in a schema of the test's own.
class StatusFromExceptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_.set_variable("search_path", conn_.quote_name(schema_.name()));
    Exec(
        "CREATE TABLE parent (id int PRIMARY KEY);"
        "CREATE TABLE child (email text UNIQUE NOT NULL CHECK (email <> 'bad'),"
        " parent_id int REFERENCES parent (id));"
        "CREATE TABLE ledger (k int);");
  }

  void Exec(const std::string& sql) {
    pqxx::nontransaction txn(conn_);
    txn.exec(sql);
  }

  // The mapped status of what `sql` throws (OK if it throws nothing).
  absl::Status ExecStatus(const std::string& sql) {
    try {
      Exec(sql);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return StatusFromException(e);
    }
  }

  touchline::testing::ScopedSchema schema_;
  pqxx::connection conn_{touchline::testing::TestPgDsn()};
};

TEST_F(StatusFromExceptionTest, UniqueViolationIsAlreadyExistsAndHidesValuesAndSql) {
  Exec("INSERT INTO child (email) VALUES ('secret@example.com')");
  EXPECT_THAT(ExecStatus("INSERT INTO child (email) VALUES ('secret@example.com')"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("child_email_key"), Not(HasSubstr("secret")),
                             Not(HasSubstr("INSERT")))));
}

TEST_F(StatusFromExceptionTest, ForeignKeyViolationIsFailedPrecondition) {
  EXPECT_THAT(ExecStatus("INSERT INTO child (email, parent_id) VALUES ('a@example.com', 42)"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("child_parent_id_fkey"), Not(HasSubstr("42")))));
}

TEST_F(StatusFromExceptionTest, CheckViolationIsFailedPrecondition) {
  EXPECT_THAT(ExecStatus("INSERT INTO child (email) VALUES ('bad')"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("child_email_check")));
}

TEST_F(StatusFromExceptionTest, NotNullViolationIsFailedPrecondition) {
  EXPECT_THAT(ExecStatus("INSERT INTO child (email) VALUES (NULL)"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not-null")));
}

TEST_F(StatusFromExceptionTest, SerializationFailureOfConcurrentTransactionsIsAborted) {
  // Write skew: each transaction reads what the other writes. SERIALIZABLE lets only one
  // commit.
  pqxx::connection other(touchline::testing::TestPgDsn());
  other.set_variable("search_path", other.quote_name(schema_.name()));
  absl::Status status;
  try {
    pqxx::transaction<pqxx::serializable> first(conn_);
    pqxx::transaction<pqxx::serializable> second(other);
    first.exec("SELECT count(*) FROM ledger WHERE k = 1");
    second.exec("SELECT count(*) FROM ledger WHERE k = 2");
    first.exec("INSERT INTO ledger VALUES (2)");
    second.exec("INSERT INTO ledger VALUES (1)");
    first.commit();
    second.commit();
  } catch (const std::exception& e) {
    status = StatusFromException(e);
  }
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
}

TEST_F(StatusFromExceptionTest, DeadlockIsAborted) {
  EXPECT_THAT(
      ExecStatus("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'deadlock_detected'; END $$"),
      StatusIs(absl::StatusCode::kAborted));
}

TEST_F(StatusFromExceptionTest, StatementTimeoutIsDeadlineExceeded) {
  Exec("SET statement_timeout = 50");
  EXPECT_THAT(ExecStatus("SELECT pg_sleep(5)"), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(StatusFromExceptionTest, TerminatedConnectionIsUnavailable) {
  pqxx::connection killer(touchline::testing::TestPgDsn());
  pqxx::nontransaction txn(killer);
  txn.exec_params("SELECT pg_terminate_backend($1)", conn_.backendpid());
  EXPECT_THAT(ExecStatus("SELECT 1"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(StatusFromExceptionTest, InDoubtCommitIsUnavailable) {
  EXPECT_THAT(StatusFromException(pqxx::in_doubt_error("lost during COMMIT")),
              StatusIs(absl::StatusCode::kUnavailable, Not(HasSubstr("COMMIT"))));
}

TEST_F(StatusFromExceptionTest, SyntaxErrorIsInternalWithoutSql) {
  EXPECT_THAT(
      ExecStatus("SELEKT 'secret'"),
      StatusIs(absl::StatusCode::kInternal, AllOf(HasSubstr("42601"), Not(HasSubstr("secret")))));
}

TEST(StatusFromExceptionPlainTest, OtherExceptionsAreInternalWithoutTheirText) {
  EXPECT_THAT(StatusFromException(std::runtime_error("secret")),
              StatusIs(absl::StatusCode::kInternal, Not(HasSubstr("secret"))));
}

}  // namespace
}  // namespace touchline::pg
