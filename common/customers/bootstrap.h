// Builds a service's customer read model (read_model.h) from scratch: a pass over every page of
// contacts' CustomerFeedService, each page applied in one transaction with the position reached,
// so a pass resumes where it stopped after a crash or a restart. A pass runs when the service
// first starts and whenever its consumer group on the "customers" stream lost entries it had not
// read (the stream cut by its MAXLEN guard, or created before the group). It begins only once
// the group exists, and anything that changes after a page was read reaches the group as an
// event; the model's version guard lets pages and events arrive in any order, so the model
// ends complete and gap-free, however old the service or short the stream.
#ifndef TOUCHLINE_COMMON_CUSTOMERS_BOOTSTRAP_H_
#define TOUCHLINE_COMMON_CUSTOMERS_BOOTSTRAP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/auth/service_credential.h"
#include "common/customers/read_model.h"
#include "common/pg/pool.h"
#include "grpcpp/channel.h"
#include "touchline/contacts/v1/customer_feed.pb.h"

namespace touchline::customers {

// Where the pages come from. Implementations are thread-safe.
class CustomerFeed {
 public:
  virtual ~CustomerFeed() = default;
  // One page after `page_token` ("" for the first). UNAVAILABLE when the owner cannot be asked
  // or refuses.
  virtual absl::StatusOr<contacts::v1::ListCustomerSnapshotsResponse> List(
      const std::string& page_token, int page_size) = 0;
};

// Asks CustomerFeedService.ListCustomerSnapshots over `channel`, signed as `service` with
// `signer`, within `timeout` per page.
std::unique_ptr<CustomerFeed> MakeGrpcCustomerFeed(std::shared_ptr<grpc::Channel> channel,
                                                   auth::ServiceSigner signer, std::string service,
                                                   absl::Duration timeout = absl::Seconds(10));

// What the bootstrap needs of the service's consumer of the "customers" topic
// (events::StreamConsumer's methods of these names).
struct CustomersStream {
  std::function<absl::Status()> ensure_group;
  std::function<absl::StatusOr<std::string>()> lost_entry_id;
};

struct BootstrapOptions {
  int page_size = 500;  // 1..1000
  // How often the running service checks whether its group lost entries.
  absl::Duration check_interval = absl::Minutes(1);
  // Longest wait between attempts while contacts, PostgreSQL or Redis fails (from 100 ms,
  // doubling).
  absl::Duration max_backoff = absl::Seconds(30);
};

// What one call of Bootstrapper::RunOnce did.
struct BootstrapStep {
  bool started = false;   // A new pass was started (first start, or entries lost).
  int64_t applied = 0;    // Customers kept (newer than the model's) by the pages applied.
  bool finished = false;  // The current pass reached the last page.
};

// Exports touchline_customer_read_model_pages_total and _customers_applied_total, and
// touchline_customer_read_model_pass_running (1 while a pass is under way). Several replicas
// may run at once: a page is applied under a lock on the pass, and a replica that finds it
// taken waits for the next attempt. Thread-safe.
class Bootstrapper {
 public:
  // Not owned; must outlive the bootstrapper.
  Bootstrapper(pg::Pool* pool, CustomerFeed* feed, const ReadModel* model, CustomersStream stream,
               BootstrapOptions options = {});
  ~Bootstrapper();
  Bootstrapper(const Bootstrapper&) = delete;
  Bootstrapper& operator=(const Bootstrapper&) = delete;

  // Starts a pass if none was ever made or the group lost entries since the last one began,
  // then applies pages of the current pass until it is finished. Errors: those of the feed,
  // PostgreSQL and Redis; INVALID_ARGUMENT for a page entry RowOf refuses (the page is not
  // applied).
  absl::StatusOr<BootstrapStep> RunOnce();

  // A background thread calling RunOnce now and every check_interval, backing off while it
  // fails (logged). Idempotent.
  void Start();
  // Stops it, ending a pass between pages. Idempotent.
  void Stop();

 private:
  // Applies the next page of the unfinished pass, if it can take its lock: false when the
  // pass is finished (or taken by another replica).
  absl::StatusOr<bool> ApplyPage(BootstrapStep& step);
  void Run();

  pg::Pool* const pool_;
  CustomerFeed* const feed_;
  const ReadModel* const model_;
  const CustomersStream stream_;
  const BootstrapOptions options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace touchline::customers

#endif  // TOUCHLINE_COMMON_CUSTOMERS_BOOTSTRAP_H_
