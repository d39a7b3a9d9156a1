// The customer 360 cache: cache-aside in Redis, one hash per tenant and customer, shared by
// every gateway replica.
//
// Each entry is the hash "<prefix>:c360:{<tenant>:<customer_id>}" with the fields "data" (a
// serialized CachedCustomer360), "ver" (how often the entry was invalidated) and any number
// of prepared views: what the gateway made of "data" for one kind of caller, each under a
// field of its choosing and the version ("<field>@<ver>"), written only while "data" is still
// what it was made from and dropped with it (an invalidation or a new "data" keeps only
// "ver"). A miss is
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
  kBypass,  // loaded without the cache: Redis failed or is being left alone, or the entry
            // was not storable (Loaded::storable)
};

// "hit", "miss" or "bypass", as the x-touchline-cache response header says.
std::string_view CacheOutcomeName(CacheOutcome outcome);

// Thread-safe.
class Customer360Cache {
 public:
  using Entry = cache::CachedCustomer360;

  // What a load read.
  struct Loaded {
    Entry entry;
    // False for an entry that must be served but not stored: one that lacks a part because
    // its service failed (the journeys, say), which would otherwise be shown until the TTL or
    // the customer's next event.
    bool storable = true;
  };
  using LoadFn = std::function<absl::StatusOr<Loaded>()>;

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
  // those of `load`, which are never cached; nor is an entry it answers as not storable
  // (served as kBypass, the key's lock given back so that waiters load for themselves).
  absl::StatusOr<Result> GetOrLoad(std::string_view tenant_id, std::string_view customer_id,
                                   const LoadFn& load);

  // The entry of (tenant, customer) if Redis has it, without loading anything: concurrent
  // lookups share one pipelined round trip, made by the cache's lookup threads. `done` gets
  // the entry as stored (a serialized Entry, left to the caller to parse as much of as it
  // needs), nullopt for a miss (GetOrLoad then loads it), or UNAVAILABLE when Redis failed or
  // is being left alone after a failure. It runs on a lookup thread and must not block.
  using LookupDone = std::function<void(absl::StatusOr<std::optional<std::string>>)>;
  void Lookup(std::string_view tenant_id, std::string_view customer_id, LookupDone done);

  // What LookupPrepared found.
  struct PreparedLookup {
    // The prepared field's value, when Redis has it.
    std::optional<std::string> prepared;
    // Otherwise the entry as stored (nullopt for a miss) and the version it was read at, to
    // make the prepared view from and to pass to StorePrepared.
    std::optional<std::string> entry;
    std::string version;
  };

  // As Lookup, for the prepared view `field` of (tenant, customer), in the same batched round
  // trip: the view when stored, else the entry (one script, so a hit on the view does not
  // carry the entry). Counts a hit when either is there. `done` runs on a lookup thread and
  // must not block; UNAVAILABLE as for Lookup.
  using PreparedLookupDone = std::function<void(absl::StatusOr<PreparedLookup>)>;
  void LookupPrepared(std::string_view tenant_id, std::string_view customer_id, std::string field,
                      PreparedLookupDone done);

  // Stores `prepared` as the field `field` of (tenant, customer) if the entry is still `entry`
  // at `version`, as LookupPrepared read them: true when written; false when the entry was
  // invalidated, replaced or expired since (a view of older data is never written back).
  // `field` must not be "data" or "ver". UNAVAILABLE or INTERNAL when Redis failed (the cache
  // is then left alone as after any failure). Blocks for a round trip.
  absl::StatusOr<bool> StorePrepared(std::string_view tenant_id, std::string_view customer_id,
                                     const std::string& field, const std::string& prepared,
                                     const std::string& entry, const std::string& version);

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

  // A lookup of the entry (done) or of a prepared view (prepared_field and prepared_done).
  struct PendingLookup {
    std::string key;
    LookupDone done;
    std::string prepared_field;
    PreparedLookupDone prepared_done;
  };
  // One pipelined round trip for the whole batch.
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
