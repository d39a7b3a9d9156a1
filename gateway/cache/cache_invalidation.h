// Keeps the customer 360 cache fresh: every customer, touchpoint, share, journey and task event
// drops the entries of the customers it touches, in every replica's shared Redis.
#ifndef TOUCHLINE_GATEWAY_CACHE_CACHE_INVALIDATION_H_
#define TOUCHLINE_GATEWAY_CACHE_CACHE_INVALIDATION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/events/consumer.h"
#include "common/redis/pool.h"
#include "gateway/cache/customer360_cache.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::gateway {

// The ids of the customers whose 360 view `event` changes: the customer of a customer event
// (both of a merge or unmerge), of a touchpoint event (both of a reassignment), of a share
// change, of a journey event (a stage entered or left, a journey completed, a path derived
// again: the envelope's aggregate), of a task event (a task created or changed; both
// customers of a task that moved to another). Empty for events that change no view (scope
// invalidations, audit) and for payloads that do not parse.
std::vector<std::string> CustomersChangedBy(const events::v1::EventEnvelope& event);

// Consumes the customers, touchpoints, permissions, journeys and tasks topics in the consumer
// group "gateway" (one group for all replicas: the cache is shared, so one invalidation
// suffices) and invalidates the entries CustomersChangedBy names. There is no inbox: an
// invalidation is harmless to repeat. While Redis is down the events wait in their streams.
// The journeys and tasks topics are consumed whether or not the gateway has a journeys or
// automation service: without one their events (if any) drop views that hold no journeys or
// tasks, which is merely a reload.
class CacheInvalidation {
 public:
  // `redis` and `cache` must outlive this.
  CacheInvalidation(redis::Pool* redis, Customer360Cache* cache, std::string stream_prefix);
  CacheInvalidation(const CacheInvalidation&) = delete;
  CacheInvalidation& operator=(const CacheInvalidation&) = delete;

  void Start();
  void Stop();
  // One pass over every topic without blocking (tests): how many events were applied, or the
  // first error.
  absl::StatusOr<int> PollOnce();

 private:
  std::vector<std::unique_ptr<events::StreamConsumer>> consumers_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_CACHE_CACHE_INVALIDATION_H_
