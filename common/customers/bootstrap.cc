#include "common/customers/bootstrap.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/status/macros.h"
#include "grpcpp/client_context.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "touchline/contacts/v1/customer_feed.grpc.pb.h"

namespace touchline::customers {
namespace {

namespace cv1 = ::touchline::contacts::v1;

class GrpcCustomerFeed final : public CustomerFeed {
 public:
  GrpcCustomerFeed(std::shared_ptr<grpc::Channel> channel, auth::ServiceSigner signer,
                   std::string service, absl::Duration timeout)
      : stub_(cv1::CustomerFeedService::NewStub(std::move(channel))),
        signer_(std::move(signer)),
        service_(std::move(service)),
        timeout_(timeout) {}

  absl::StatusOr<cv1::ListCustomerSnapshotsResponse> List(const std::string& page_token,
                                                          int page_size) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout_));
    for (const auto& [name, value] : signer_.Sign(service_, absl::Now())) {
      context.AddMetadata(name, value);
    }
    cv1::ListCustomerSnapshotsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    cv1::ListCustomerSnapshotsResponse response;
    const grpc::Status status = stub_->ListCustomerSnapshots(&context, request, &response);
    if (status.ok()) return response;
    return absl::UnavailableError(
        absl::StrCat("contacts ListCustomerSnapshots: ", status.error_message()));
  }

 private:
  std::unique_ptr<cv1::CustomerFeedService::Stub> stub_;
  const auth::ServiceSigner signer_;
  const std::string service_;
  const absl::Duration timeout_;
};

// A stream entry id "<ms>-<seq>" as a comparable pair; (0, 0) for anything else.
std::pair<uint64_t, uint64_t> EntryId(const std::string& id) {
  const size_t dash = id.find('-');
  uint64_t ms = 0, seq = 0;
  if (dash == std::string::npos || !absl::SimpleAtoi(id.substr(0, dash), &ms) ||
      !absl::SimpleAtoi(id.substr(dash + 1), &seq)) {
    return {0, 0};
  }
  return {ms, seq};
}

struct Metrics {
  prometheus::Counter& pages;
  prometheus::Counter& applied;
  prometheus::Gauge& running;
};

Metrics& BootstrapMetrics() {
  static Metrics* const kMetrics = [] {
    prometheus::Registry& registry = metrics::DefaultRegistry();
    return new Metrics{
        prometheus::BuildCounter()
            .Name("touchline_customer_read_model_pages_total")
            .Help("Pages of contacts' customer feed applied to the customer read model")
            .Register(registry)
            .Add({}),
        prometheus::BuildCounter()
            .Name("touchline_customer_read_model_customers_applied_total")
            .Help("Customers of the feed newer than the read model's, and kept")
            .Register(registry)
            .Add({}),
        prometheus::BuildGauge()
            .Name("touchline_customer_read_model_pass_running")
            .Help("1 while a pass over contacts' customer feed is under way")
            .Register(registry)
            .Add({})};
  }();
  return *kMetrics;
}

}  // namespace

std::unique_ptr<CustomerFeed> MakeGrpcCustomerFeed(std::shared_ptr<grpc::Channel> channel,
                                                   auth::ServiceSigner signer, std::string service,
                                                   absl::Duration timeout) {
  return std::make_unique<GrpcCustomerFeed>(std::move(channel), std::move(signer),
                                            std::move(service), timeout);
}

Bootstrapper::Bootstrapper(pg::Pool* pool, CustomerFeed* feed, const ReadModel* model,
                           CustomersStream stream, BootstrapOptions options)
    : pool_(pool), feed_(feed), model_(model), stream_(std::move(stream)), options_(options) {}

Bootstrapper::~Bootstrapper() { Stop(); }

absl::StatusOr<BootstrapStep> Bootstrapper::RunOnce() {
  BootstrapStep step;
  // The group first: what is published from now on reaches it, so the pages need only
  // cover what came before.
  TL_RETURN_IF_ERROR(stream_.ensure_group());
  TL_ASSIGN_OR_RETURN(const std::string lost, stream_.lost_entry_id());
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) {
    step.started = false;
    // One replica at a time decides, so that two do not start two passes for one cause.
    txn.exec("LOCK TABLE customer_read_model_passes IN SHARE ROW EXCLUSIVE MODE");
    const pqxx::result latest = txn.exec(
        "SELECT lost_entry_id FROM customer_read_model_passes ORDER BY pass_id DESC LIMIT 1");
    std::string reason;
    if (latest.empty()) {
      reason = "first start";
    } else if (!lost.empty() && EntryId(lost) > EntryId(latest[0][0].as<std::string>())) {
      reason = absl::StrCat("the customers stream lost entries up to ", lost,
                            " before this service's group read them");
    } else {
      return absl::OkStatus();
    }
    txn.exec_params(
        "INSERT INTO customer_read_model_passes (reason, lost_entry_id) VALUES ($1, $2)", reason,
        lost.empty() ? std::string("0-0") : lost);
    log::Info("customer read model: starting a pass over contacts' customers",
              {{"reason", reason}});
    step.started = true;
    return absl::OkStatus();
  }));
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    TL_ASSIGN_OR_RETURN(const bool more, ApplyPage(step));
    if (!more) break;
  }
  return step;
}

absl::StatusOr<bool> Bootstrapper::ApplyPage(BootstrapStep& step) {
  bool paged = false;  // A page was applied.
  bool more = false;   // And it was not the last.
  int64_t applied = 0;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    paged = more = false;
    applied = 0;
    const pqxx::result pass = txn.exec(
        "SELECT pass_id, page_token, finish_time IS NOT NULL FROM customer_read_model_passes "
        "WHERE pass_id = (SELECT max(pass_id) FROM customer_read_model_passes) "
        "FOR UPDATE SKIP LOCKED");
    if (pass.empty() || pass[0][2].as<bool>()) return absl::OkStatus();
    TL_ASSIGN_OR_RETURN(const cv1::ListCustomerSnapshotsResponse page,
                        feed_->List(pass[0][1].as<std::string>(), options_.page_size));
    for (const cv1::CustomerSnapshot& snapshot : page.customers()) {
      TL_ASSIGN_OR_RETURN(const CustomerRow row, RowOf(snapshot));
      TL_ASSIGN_OR_RETURN(const bool kept, model_->Apply(txn, row));
      applied += kept ? 1 : 0;
    }
    txn.exec_params(
        "UPDATE customer_read_model_passes SET page_token = $2, customers = customers + $3, "
        "finish_time = CASE WHEN $2 = '' THEN now() END WHERE pass_id = $1",
        pass[0][0].as<int64_t>(), page.next_page_token(), page.customers_size());
    paged = true;
    more = !page.next_page_token().empty();
    return absl::OkStatus();
  }));
  if (!paged) return false;
  BootstrapMetrics().pages.Increment();
  BootstrapMetrics().applied.Increment(static_cast<double>(applied));
  BootstrapMetrics().running.Set(more ? 1 : 0);
  step.applied += applied;
  step.finished = !more;
  return more;
}

void Bootstrapper::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Bootstrapper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  thread_.join();
}

void Bootstrapper::Run() {
  absl::Duration backoff = absl::ZeroDuration();
  while (true) {
    const absl::StatusOr<BootstrapStep> step = RunOnce();
    if (step.ok()) {
      if (step->finished) {
        log::Info("customer read model: pass finished",
                  {{"customers_applied", absl::StrCat(step->applied)}});
      }
      backoff = absl::ZeroDuration();
    } else {
      backoff = std::clamp(backoff * 2, absl::Milliseconds(100), options_.max_backoff);
      log::Warning(
          "customer read model: bootstrap failed, retrying",
          {{"error", step.status().ToString()}, {"retry_in", absl::FormatDuration(backoff)}});
    }
    const absl::Duration wait = backoff > absl::ZeroDuration() ? backoff : options_.check_interval;
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
  }
}

}  // namespace touchline::customers
