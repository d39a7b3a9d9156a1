// Status propagation macros. Our Abseil (20220623) has no ABSL_RETURN_IF_ERROR or
// ABSL_ASSIGN_OR_RETURN; these keep the same shape so a later switch is mechanical.
#ifndef TOUCHLINE_COMMON_STATUS_MACROS_H_
#define TOUCHLINE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status from the enclosing function if `expr` (an absl::Status) is not OK.
#define TL_RETURN_IF_ERROR(expr)                                \
  do {                                                          \
    if (::absl::Status tl_status_ = (expr); !tl_status_.ok()) { \
      return tl_status_;                                        \
    }                                                           \
  } while (false)

#define TL_STATUS_CONCAT_INNER_(a, b) a##b
#define TL_STATUS_CONCAT_(a, b) TL_STATUS_CONCAT_INNER_(a, b)

// `lhs = value` of the absl::StatusOr `expr`, or returns its status from the enclosing
// function. `lhs` may declare a variable: TL_ASSIGN_OR_RETURN(auto row, store.Get(id));
#define TL_ASSIGN_OR_RETURN(lhs, expr) \
  TL_ASSIGN_OR_RETURN_IMPL_(TL_STATUS_CONCAT_(tl_statusor_, __LINE__), lhs, expr)

#define TL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TOUCHLINE_COMMON_STATUS_MACROS_H_
