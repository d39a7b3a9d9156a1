// What the in-memory stores of the permissions service (identity/testing, org/testing) share:
// their data under one lock, units of work that run alone on a copy which replaces the data
// only when the work returns OK (all or nothing, row locks trivially held, a retried unit
// starting from the committed data), and the audit entries and outbox events they committed.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_TESTING_UNITS_OF_WORK_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_TESTING_UNITS_OF_WORK_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions::testing {

// An audit entry a unit of work appended, and an event it published.
struct CommittedAudit {
  std::string tenant_id;
  v1::AuditEvent event;
};
struct CommittedEvent {
  std::string topic;
  events::v1::EventEnvelope envelope;
};

// `Data` and the units of work on it. `Rows` is the store's transaction class, made as
// Rows(Data&, bool writable). Thread-safe.
template <typename Data, typename Rows>
class UnitsOfWork {
 public:
  template <typename Transaction>
  absl::Status Transact(const std::function<absl::Status(Transaction&)>& work) {
    absl::MutexLock lock(&mu_);
    Data copy = data_;
    Rows rows(copy, /*writable=*/true);
    if (absl::Status status = work(rows); !status.ok()) return status;
    data_ = std::move(copy);
    return absl::OkStatus();
  }
  template <typename Reader>
  absl::Status Read(const std::function<absl::Status(Reader&)>& read) {
    absl::MutexLock lock(&mu_);
    Rows rows(data_, /*writable=*/false);
    return read(rows);
  }
  // Runs `change` on the committed data (a test's set-up).
  void Change(const std::function<void(Data&)>& change) {
    absl::MutexLock lock(&mu_);
    change(data_);
  }
  // A copy of the committed data.
  Data Snapshot() const {
    absl::MutexLock lock(&mu_);
    return data_;
  }

 private:
  mutable absl::Mutex mu_;
  Data data_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_TESTING_UNITS_OF_WORK_H_
