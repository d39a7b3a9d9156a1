#include "common/pg/purge.h"

#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"

namespace touchline::pg {

absl::StatusOr<int64_t> DeleteInBatches(Pool& pool, std::string_view what,
                                        std::string_view delete_sql, absl::Duration retention,
                                        int batch_size) {
  if (retention <= absl::ZeroDuration() || batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("purging ", std::string(what), " needs a positive retention and batch_size >= 1"));
  }
  const int64_t retention_micros = absl::ToInt64Microseconds(retention);
  const std::string sql(delete_sql);
  int64_t purged = 0;
  while (true) {
    int64_t deleted = 0;
    absl::Status status = pool.Transact([&](pqxx::work& txn) {
      deleted = txn.exec_params(sql, retention_micros, batch_size).affected_rows();
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    purged += deleted;
    if (deleted < batch_size) return purged;
  }
}

}  // namespace touchline::pg
