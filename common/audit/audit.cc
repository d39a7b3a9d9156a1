#include "common/audit/audit.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/outbox.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "prometheus/counter.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::audit {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::touchline::events::v1::AuditRecorded;
using ::touchline::events::v1::EventEnvelope;

// Why envelopes were dropped, the values of the metric's "reason" label.
constexpr char kQueueFull[] = "queue_full";
constexpr char kStopped[] = "stopped";
constexpr char kRefused[] = "refused";

prometheus::Family<prometheus::Counter>& DroppedFamily() {
  static prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter()
          .Name("touchline_audit_events_dropped_total")
          .Help(
              "Read-audit events AuditPublisher dropped, by reason (queue_full: Redis was "
              "unreachable longer than the queue holds; stopped: left over at shutdown while "
              "Redis failed; refused: Redis rejected the entry). The audit log misses them.")
          .Register(metrics::DefaultRegistry());
  return family;
}

}  // namespace

EventEnvelope MakeAuditEnvelope(const auth::RequestContext& caller, std::string action,
                                std::string resource_type, std::string resource_id,
                                std::vector<std::string> fields, std::string detail) {
  AuditRecorded recorded;
  touchline::permissions::v1::AuditEvent& event = *recorded.mutable_event();
  *event.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  event.set_action(std::move(action));
  event.set_actor_id(caller.caller_id);
  event.set_client(caller.client);
  event.set_resource_type(std::move(resource_type));
  event.set_resource_id(resource_id);
  for (std::string& field : fields) event.add_fields(std::move(field));
  event.set_detail(std::move(detail));
  event.set_request_id(caller.request_id);
  return events::MakeEnvelope(recorded, caller.tenant_id, "audit", resource_id, caller.request_id,
                              caller.caller_id);
}

absl::StatusOr<std::unique_ptr<AuditPublisher>> AuditPublisher::Create(
    AuditPublisherOptions options, redis::Pool* redis) {
  if (redis == nullptr || options.queue_capacity < 1 || options.batch_size < 1 ||
      options.stream_max_len < 0 || options.retry_interval <= absl::ZeroDuration() ||
      options.max_backoff < options.retry_interval) {
    return absl::InvalidArgumentError(
        "audit publisher: a Redis pool is required; queue_capacity and batch_size must be "
        ">= 1, stream_max_len >= 0 and 0 < retry_interval <= max_backoff");
  }
  return std::unique_ptr<AuditPublisher>(new AuditPublisher(std::move(options), redis));
}

AuditPublisher::AuditPublisher(AuditPublisherOptions options, redis::Pool* redis)
    : options_(std::move(options)),
      redis_(redis),
      stream_key_(events::StreamKey(options_.stream_prefix, events::kAuditTopic)) {}

AuditPublisher::~AuditPublisher() { Stop(); }

void AuditPublisher::Start() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void AuditPublisher::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (!thread_.joinable()) {
    Drain();
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();  // The thread drains before it ends.
}

void AuditPublisher::Publish(EventEnvelope envelope) {
  bool dropped = false;
  bool first_of_run = false;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= options_.queue_capacity) {
      queue_.pop_front();
      dropped = true;
      first_of_run = !overflowing_;
      overflowing_ = true;
    }
    queue_.push_back(std::move(envelope));
  }
  if (!dropped) return;
  CountDropped(1, kQueueFull);
  if (first_of_run) {
    log::Warning("audit publisher: queue full, dropping the oldest read-audit events",
                 {{"capacity", std::to_string(options_.queue_capacity)}});
  }
}

size_t AuditPublisher::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void AuditPublisher::Run() {
  absl::Duration backoff = absl::ZeroDuration();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) break;
    }
    const absl::Status sent = SendBatch();
    if (sent.ok()) {
      if (backoff != absl::ZeroDuration()) {
        log::Info("audit publisher: Redis is back, sending the queued read-audit events",
                  {{"queued", std::to_string(queued())}});
      }
      backoff = absl::ZeroDuration();
      continue;
    }
    backoff = backoff == absl::ZeroDuration() ? options_.retry_interval
                                              : std::min(backoff * 2, options_.max_backoff);
    log::Warning("audit publisher: Redis failed, read-audit events stay queued",
                 {{"error", sent.ToString()}, {"retry_in", absl::FormatDuration(backoff)}});
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) break;
  }
  Drain();
}

absl::Status AuditPublisher::SendBatch() {
  std::vector<EventEnvelope> batch;
  {
    absl::MutexLock lock(&mu_);
    const size_t count = std::min(queue_.size(), static_cast<size_t>(options_.batch_size));
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(count)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(count));
  }
  if (batch.empty()) return absl::OkStatus();

  // The entry fields of events::OutboxRelay's publish script (outbox_relay.cc), in its order.
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  std::vector<std::string> add = {"XADD", stream_key_};
  if (options_.stream_max_len > 0) {
    add.insert(add.end(), {"MAXLEN", "~", std::to_string(options_.stream_max_len)});
  }
  add.push_back("*");
  for (const EventEnvelope& envelope : batch) {
    std::vector<std::string>& command = commands.emplace_back(add);
    command.insert(command.end(), {"event_id", envelope.event_id(), "type", envelope.event_type(),
                                   "tenant", envelope.tenant_id(), "aggregate",
                                   envelope.aggregate_id(), "event", envelope.SerializeAsString()});
  }
  absl::StatusOr<std::vector<redis::Reply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) {
    // Back to the front, oldest first; if envelopes published meanwhile filled the queue,
    // the oldest of the batch make room.
    size_t lost = 0;
    {
      absl::MutexLock lock(&mu_);
      const size_t room =
          options_.queue_capacity - std::min(queue_.size(), options_.queue_capacity);
      lost = batch.size() - std::min(batch.size(), room);
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin() + lost),
                    std::make_move_iterator(batch.end()));
    }
    CountDropped(static_cast<int64_t>(lost), kQueueFull);
    return replies.status();
  }
  int64_t refused = 0;
  for (size_t i = 0; i < replies->size(); ++i) {
    if (!(*replies)[i].is_error()) continue;
    if (refused++ == 0) {
      log::Error("audit publisher: Redis refused a read-audit event",
                 {{"event_id", batch[i].event_id()}, {"error", (*replies)[i].str()}});
    }
  }
  CountDropped(refused, kRefused);
  absl::MutexLock lock(&mu_);
  overflowing_ = false;
  return absl::OkStatus();
}

void AuditPublisher::Drain() {
  while (queued() > 0) {
    const absl::Status sent = SendBatch();
    if (sent.ok()) continue;
    size_t lost = 0;
    {
      absl::MutexLock lock(&mu_);
      lost = queue_.size();
      queue_.clear();
    }
    CountDropped(static_cast<int64_t>(lost), kStopped);
    log::Error("audit publisher: stopping while Redis fails, read-audit events lost",
               {{"lost", std::to_string(lost)}, {"error", sent.ToString()}});
    return;
  }
}

void AuditPublisher::CountDropped(int64_t count, const char* reason) {
  if (count == 0) return;
  dropped_ += count;
  DroppedFamily().Add({{"reason", reason}}).Increment(static_cast<double>(count));
}

}  // namespace touchline::audit
