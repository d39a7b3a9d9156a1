// The customer 360 cache: cache-aside in Redis, one hash per tenant and customer, shared by
// every gateway replica.
//
// Each entry is the hash "<prefix>:c360:{<tenant>:<customer_id>}" with the fields "data" (a
// serialized CachedCustomer360) and "ver" (how often the entry was invalidated). A miss is
// loaded by one caller at a time per key, across replicas (a lock key in the same hash slot);
// the others wait for its result. The loader reads "ver" before it loads and writes back only
// if "ver" is unchanged, so a slow load cannot put back data older than an invalidation that
// happened while it ran. Entries expire after a TTL with jitter, so the entries of a burst do
// not all expire at once.
#ifndef TOUCHLINE_GATEWAY_CACHE_CUSTOMER360_CACHE_H_
#define TOUCHLINE_GATEWAY_CACHE_CUSTOMER360_CACHE_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"
#include "common/server/batcher.h"
#include "gateway/cache/customer360_entry.pb.h"

namespace touchline::gateway {

struct Customer360CacheOptions {
  // Prefix of the Redis keys, as for the event streams.
  std::string key_prefix = "touchline";
  // How long an entry lives without an invalidation, before jitter.
  absl::Duration ttl = absl::Minutes(5);
  // Each entry's TTL is ttl times a random factor in [1 - ttl_jitter, 1 + ttl_jitter].
  double ttl_jitter = 0.1;
  // How long one load may hold a key's lock; waiters give up waiting after it and load
  // themselves. Longer than a load normally takes.
  absl::Duration load_timeout = absl::Seconds(3);
  // How often a waiter looks for the loader's result.
  absl::Duration poll_interval = absl::Milliseconds(5);
  // Threads making the batched lookups (Lookup), and most lookups waiting for them.
  int lookup_threads = 2;
  size_t max_queued_lookups = 4096;
  // After Redis failed, how long the cache is left alone (every request is served from the
  // services) before it is tried again.
  absl::Duration retry_after_failure = absl::Seconds(1);
};

// How a view was served.
enum class CacheOutcome {
  kHit,     // from Redis (possibly after waiting for another caller's load)
  kMiss,    // loaded by this caller and written back
  kBypass,  // loaded without the cache: Redis failed or is being left alone
};

// "hit", "miss" or "bypass", as the x-touchline-cache response header says.
std::string_view CacheOutcomeName(CacheOutcome outcome);

// Thread-safe.
class Customer360Cache {
 public:
  using Entry = cache::CachedCustomer360;
  using LoadFn = std::function<absl::StatusOr<Entry>()>;

  // `redis` must outlive the cache.
  Customer360Cache(redis::Pool* redis, Customer360CacheOptions options);

  struct Result {
    Entry entry;
    CacheOutcome outcome;
  };

  // The entry of (tenant, customer): from Redis when present; otherwise loaded with `load`
  // by one caller at a time per key (others wait up to load_timeout for it) and written back
  // unless the entry was invalidated since this call read it. When Redis fails, `load` runs
  // directly and the outcome is kBypass: a cache failure never fails the call. Errors are
  // those of `load`, which are never cached.
  absl::StatusOr<Result> GetOrLoad(std::string_view tenant_id, std::string_view customer_id,
                                   const LoadFn& load);

  // The entry of (tenant, customer) if Redis has it, without loading anything: concurrent
  // lookups share one pipelined round trip, made by the cache's lookup threads. `done` gets
  // the entry as stored (a serialized Entry, left to the caller to parse as much of as it
  // needs), nullopt for a miss (GetOrLoad then loads it), or UNAVAILABLE when Redis failed or
  // is being left alone after a failure. It runs on a lookup thread and must not block.
  using LookupDone = std::function<void(absl::StatusOr<std::optional<std::string>>)>;
  void Lookup(std::string_view tenant_id, std::string_view customer_id, LookupDone done);

  // Drops the entry and bumps its version, so that a load in flight does not write back what
  // it read before. UNAVAILABLE when Redis cannot be reached (the event is retried).
  absl::Status Invalidate(std::string_view tenant_id, std::string_view customer_id);

  // The Redis key of the entry, for tests and operators.
  std::string EntryKey(std::string_view tenant_id, std::string_view customer_id) const;

 private:
  // Runs `load` and, with `lock_token`, writes the result back if the version is still
  // `version`, releasing the lock either way.
  absl::StatusOr<Result> LoadAndStore(const std::string& key, const std::string& lock_key,
                                      const std::string& lock_token, const std::string& version,
                                      const LoadFn& load);
  absl::StatusOr<Result> Bypass(const LoadFn& load);
  // Notes a Redis failure: the cache is left alone for retry_after_failure.
  void Trip(const absl::Status& status);
  bool Tripped() const;
  absl::Duration JitteredTtl() const;

  struct PendingLookup {
    std::string key;
    LookupDone done;
  };
  // One pipelined HMGET for the whole batch.
  void LookupBatch(std::vector<PendingLookup>& batch);

  redis::Pool* const redis_;
  const Customer360CacheOptions options_;
  // Until when the cache is left alone, in absl::ToUnixNanos.
  std::atomic<int64_t> tripped_until_{0};
  // Last: its threads use the members above, so it stops first.
  server::Batcher<PendingLookup> lookups_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_CACHE_CUSTOMER360_CACHE_H_
