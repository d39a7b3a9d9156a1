// The one place where libpqxx exceptions become absl::Status.
#ifndef TOUCHLINE_COMMON_PG_ERRORS_H_
#define TOUCHLINE_COMMON_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"

namespace touchline::pg {

// Maps an exception thrown by libpqxx (or by code running inside a transaction) to a Status:
//   unique_violation                                        -> ALREADY_EXISTS
//   foreign_key_violation, check_violation,
//   not_null_violation                                      -> FAILED_PRECONDITION
//   serialization_failure, deadlock_detected                -> ABORTED (retry the transaction)
//   broken_connection (incl. too_many_connections),
//   in_doubt_error, server shutting down (SQLSTATE 57P0x)   -> UNAVAILABLE
//   query_canceled (SQLSTATE 57014: statement_timeout)      -> DEADLINE_EXCEEDED
//   anything else                                           -> INTERNAL
// The message names the kind of failure and, for constraint violations, the constraint; it
// never carries SQL text or values, which may be personal data. The full server message is
// written to stderr as one line instead.
absl::Status StatusFromException(const std::exception& e);

}  // namespace touchline::pg

#endif  // TOUCHLINE_COMMON_PG_ERRORS_H_
