// Retention purges: deleting what is older than a retention in short transactions of a
// bounded number of rows, so that a purge never holds many row locks or a long snapshot while
// the service writes to the same table.
#ifndef TOUCHLINE_COMMON_PG_PURGE_H_
#define TOUCHLINE_COMMON_PG_PURGE_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg/pool.h"

namespace touchline::pg {

// Runs `delete_sql` until a run deletes fewer than `batch_size` rows, each run in its own
// transaction, and returns how many rows were deleted in all. `delete_sql` takes $1, the
// retention in microseconds (bigint), and $2, the most rows one run deletes, e.g.
//   DELETE FROM t WHERE ctid = ANY(ARRAY(SELECT ctid FROM t
//     WHERE made_at < now() - $1::bigint * interval '1 microsecond' LIMIT $2))
// (ctid = ANY(ARRAY(...)) reads only the rows found; ctid IN (SELECT ...) scans the table).
// INVALID_ARGUMENT, naming `what`, unless retention > 0 and batch_size >= 1; PostgreSQL
// errors as Pool::Transact, after the runs that succeeded.
absl::StatusOr<int64_t> DeleteInBatches(Pool& pool, std::string_view what,
                                        std::string_view delete_sql, absl::Duration retention,
                                        int batch_size);

}  // namespace touchline::pg

#endif  // TOUCHLINE_COMMON_PG_PURGE_H_
