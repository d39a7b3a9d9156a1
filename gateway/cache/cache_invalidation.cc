#include "gateway/cache/cache_invalidation.h"

#include <utility>

#include "common/events/topics.h"
#include "common/status/macros.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/task_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::gateway {
namespace {

namespace ev1 = ::touchline::events::v1;

// The consumer group of every gateway replica.
constexpr char kGroup[] = "gateway";

}  // namespace

std::vector<std::string> CustomersChangedBy(const ev1::EventEnvelope& event) {
  const google::protobuf::Any& payload = event.payload();
  if (ev1::CustomersMerged merged; payload.UnpackTo(&merged)) {
    return {merged.survivor().customer_id(), merged.merged().customer_id()};
  }
  if (ev1::CustomersUnmerged unmerged; payload.UnpackTo(&unmerged)) {
    return {unmerged.survivor().customer_id(), unmerged.restored().customer_id()};
  }
  if (payload.Is<ev1::CustomerCreated>() || payload.Is<ev1::CustomerUpdated>() ||
      payload.Is<ev1::CustomerDeleted>() || payload.Is<ev1::CustomerUndeleted>()) {
    return {event.aggregate_id()};
  }
  if (ev1::TouchpointRecorded recorded; payload.UnpackTo(&recorded)) {
    return {recorded.touchpoint().customer_id()};
  }
  if (ev1::TouchpointUpdated updated; payload.UnpackTo(&updated)) {
    return {updated.touchpoint().customer_id()};
  }
  if (ev1::TouchpointDeleted deleted; payload.UnpackTo(&deleted)) {
    return {deleted.touchpoint().customer_id()};
  }
  if (ev1::TouchpointsReassigned moved; payload.UnpackTo(&moved)) {
    return {moved.from_customer_id(), moved.to_customer_id()};
  }
  if (ev1::CustomerSharesChanged shares; payload.UnpackTo(&shares)) {
    return {shares.customer_id()};
  }
  if (payload.Is<ev1::StageEntered>() || payload.Is<ev1::StageExited>() ||
      payload.Is<ev1::JourneyCompleted>() || payload.Is<ev1::StagePathRederived>()) {
    return {event.aggregate_id()};
  }
  if (ev1::TaskCreated created; payload.UnpackTo(&created)) {
    return {created.task().customer_id()};
  }
  if (ev1::TaskChanged changed; payload.UnpackTo(&changed)) {
    if (changed.previous_customer_id().empty()) return {changed.task().customer_id()};
    return {changed.previous_customer_id(), changed.task().customer_id()};
  }
  return {};
}

CacheInvalidation::CacheInvalidation(redis::Pool* redis, Customer360Cache* cache,
                                     std::string stream_prefix) {
  const events::RepeatableApplyFn invalidate = [cache](const ev1::EventEnvelope& event) {
    for (const std::string& customer_id : CustomersChangedBy(event)) {
      if (customer_id.empty()) continue;
      TL_RETURN_IF_ERROR(cache->Invalidate(event.tenant_id(), customer_id));
    }
    return absl::OkStatus();
  };
  for (const char* topic :
       {events::kCustomersTopic, events::kTouchpointsTopic, events::kPermissionsTopic,
        events::kJourneysTopic, events::kTasksTopic}) {
    events::ConsumerOptions options;
    options.stream_prefix = stream_prefix;
    options.topic = topic;
    options.group = kGroup;
    options.consumer = events::ProcessConsumerName();
    // A failed invalidation (Redis down) is retried soon: a stale view is visible meanwhile.
    options.claim_idle = absl::Seconds(1);
    consumers_.push_back(std::make_unique<events::StreamConsumer>(options, redis, invalidate));
  }
}

void CacheInvalidation::Start() {
  for (auto& consumer : consumers_) consumer->Start();
}

void CacheInvalidation::Stop() {
  for (auto& consumer : consumers_) consumer->Stop();
}

absl::StatusOr<int> CacheInvalidation::PollOnce() {
  int applied = 0;
  for (auto& consumer : consumers_) {
    TL_ASSIGN_OR_RETURN(const int n, consumer->PollOnce());
    applied += n;
  }
  return applied;
}

}  // namespace touchline::gateway
