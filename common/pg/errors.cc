#include "common/pg/errors.h"

#include <cstdio>
#include <pqxx/except>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace touchline::pg {
namespace {

// SQLSTATE of query_canceled, raised by statement_timeout (and pg_cancel_backend). libpqxx 6.4
// has no exception class for it: it arrives as a plain sql_error.
constexpr std::string_view kQueryCanceled = "57014";
// Class 57P: the server is shutting down or not yet accepting connections.
constexpr std::string_view kOperatorIntervention = "57P";

// The name of the violated constraint from the first line of a server message such as
// `duplicate key value violates unique constraint "customers_email_key"`. Only the first line
// is read: the DETAIL line that follows carries the offending values.
std::string ConstraintName(std::string_view what) {
  what = what.substr(0, what.find('\n'));
  constexpr std::string_view kMarker = "constraint \"";
  const size_t start = what.find(kMarker);
  if (start == std::string_view::npos) return "";
  const size_t name_start = start + kMarker.size();
  const size_t end = what.find('"', name_start);
  if (end == std::string_view::npos) return "";
  return std::string(what.substr(name_start, end - name_start));
}

absl::Status ConstraintStatus(absl::StatusCode code, const char* kind, const std::exception& e) {
  const std::string name = ConstraintName(e.what());
  return absl::Status(code, name.empty()
                                ? absl::StrCat("database: ", kind, " violated")
                                : absl::StrCat("database: ", kind, " \"", name, "\" violated"));
}

absl::Status Map(const std::exception& e) {
  // Most specific classes first: several derive from one another.
  if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
    return ConstraintStatus(absl::StatusCode::kAlreadyExists, "unique constraint", e);
  }
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr) {
    return ConstraintStatus(absl::StatusCode::kFailedPrecondition, "foreign key constraint", e);
  }
  if (dynamic_cast<const pqxx::check_violation*>(&e) != nullptr) {
    return ConstraintStatus(absl::StatusCode::kFailedPrecondition, "check constraint", e);
  }
  if (dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr) {
    return absl::FailedPreconditionError("database: not-null constraint violated");
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) {
    return absl::AbortedError("database: could not serialize access; retry the transaction");
  }
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return absl::AbortedError("database: deadlock detected; retry the transaction");
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(
        "database: connection lost while committing; the outcome is unknown");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError("database: connection failed");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    if (state == kQueryCanceled) {
      return absl::DeadlineExceededError("database: statement timed out or was canceled");
    }
    if (std::string_view(state).substr(0, kOperatorIntervention.size()) == kOperatorIntervention) {
      return absl::UnavailableError("database: server is shutting down or starting up");
    }
    return absl::InternalError(absl::StrCat("database: statement failed (SQLSTATE ",
                                            state.empty() ? std::string("unknown") : state, ")"));
  }
  return absl::InternalError("database: unexpected error");
}

}  // namespace

absl::Status StatusFromException(const std::exception& e) {
  absl::Status status = Map(e);
  // One line per failure: the server message spans several (ERROR, DETAIL, HINT).
  const std::string line = absl::StrCat("pg: ", absl::StatusCodeToString(status.code()), ": ",
                                        absl::StrReplaceAll(e.what(), {{"\n", " | "}}), "\n");
  std::fputs(line.c_str(), stderr);
  return status;
}

}  // namespace touchline::pg
