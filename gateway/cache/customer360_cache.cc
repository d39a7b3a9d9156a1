#include "gateway/cache/customer360_cache.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/status/macros.h"

namespace touchline::gateway {
namespace {

// KEYS: entry, lock. ARGV: version read before loading, data, TTL ms, lock token.
// Writes only when nobody invalidated the entry meanwhile; frees the lock if still ours.
// Prepared views of any earlier data go with it.
constexpr char kStoreScript[] = R"lua(
local written = 0
local ver = redis.call('HGET', KEYS[1], 'ver')
if (ver or '0') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ver then redis.call('HSET', KEYS[1], 'ver', ver) end
  redis.call('HSET', KEYS[1], 'data', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  written = 1
end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return written
)lua";

// KEYS: entry, lock. ARGV: TTL ms. Without an entry and without a load in flight there is
// nothing to drop or to refuse: a load that starts later reads the changed data, because it
// takes the lock before it reads. Otherwise the version is bumped and outlives the data by a
// TTL, far longer than any load. Everything but the version goes: the data and every view
// prepared from it.
constexpr char kInvalidateScript[] = R"lua(
if redis.call('EXISTS', KEYS[1], KEYS[2]) == 0 then return 0 end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ver', ver)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua";

// KEYS: entry. ARGV: prepared field. The prepared view of the current version if stored:
// {view}; otherwise {data, ver}. A view is stored under "<field>@<ver>", so that one made
// before an invalidation is never served after it, even when the invalidation came from a
// gateway that drops only "data" (an earlier version, during a rollout).
constexpr char kLookupPreparedScript[] = R"lua(
local ver = redis.call('HGET', KEYS[1], 'ver') or '0'
local prepared = redis.call('HGET', KEYS[1], ARGV[1] .. '@' .. ver)
if prepared then return {prepared} end
return {redis.call('HGET', KEYS[1], 'data') or false, ver}
)lua";

// KEYS: entry. ARGV: prepared field, prepared view, the data it was made from, the version
// that data was read at. Writes only while both are unchanged: no invalidation since, no other
// data (a reload after the entry expired), and not after the entry expired (which would leave
// a hash without TTL).
constexpr char kStorePreparedScript[] = R"lua(
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[4] then return 0 end
if redis.call('HGET', KEYS[1], 'data') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1] .. '@' .. ARGV[4], ARGV[2])
return 1
)lua";

// KEYS: lock. ARGV: token.
constexpr char kUnlockScript[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

std::string Millis(absl::Duration d) {
  return std::to_string(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

// A reply Redis refused is a defect of ours (a bad script, a wrong type), not an outage; it is
// still handled like one: the call is served without the cache.
absl::Status ReplyStatus(const redis::Reply& reply, std::string_view what) {
  if (!reply.is_error()) return absl::OkStatus();
  return absl::InternalError(std::string(what) + ": " + std::string(reply.str()));
}

// What HMGET entry data ver returned.
struct StoredEntry {
  bool found = false;
  Customer360Cache::Entry entry;
  std::string version = "0";
};

StoredEntry ParseLookup(const redis::ReplyView& reply) {
  StoredEntry lookup;
  if (!reply.is_array() || reply.size() != 2) return lookup;
  if (reply[1].is_string()) lookup.version = std::string(reply[1].str());
  if (reply[0].is_string()) {
    const std::string_view data = reply[0].str();
    // An entry that does not parse (written by another version of the gateway, say) is a
    // miss; the load overwrites it.
    lookup.found = lookup.entry.ParseFromArray(data.data(), static_cast<int>(data.size()));
  }
  return lookup;
}

// Counts every view served, by outcome: the hit ratio, and how often Redis was bypassed.
prometheus::Counter& OutcomeCounter(CacheOutcome outcome) {
  static prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter()
          .Name("touchline_gateway_customer360_total")
          .Help(
              "Customer 360 views served, by how: hit, miss (loaded and stored) or bypass "
              "(loaded without the cache: Redis failed or is being left alone, or the view "
              "lacked a part whose service failed)")
          .Register(metrics::DefaultRegistry());
  static prometheus::Counter* const counters[] = {&family.Add({{"outcome", "hit"}}),
                                                  &family.Add({{"outcome", "miss"}}),
                                                  &family.Add({{"outcome", "bypass"}})};
  return *counters[static_cast<int>(outcome)];
}

// The result of a call, counted.
Customer360Cache::Result Served(Customer360Cache::Entry entry, CacheOutcome outcome) {
  OutcomeCounter(outcome).Increment();
  return {std::move(entry), outcome};
}

// What the lookup script answered. An error reply (a key of the wrong type) is a miss, as for
// Lookup: the load that follows overwrites or reports it.
Customer360Cache::PreparedLookup PreparedLookupOf(const redis::Reply& reply) {
  Customer360Cache::PreparedLookup found;
  const redis::ReplyView view = reply.view();
  if (view.is_array() && view.size() == 1 && view[0].is_string()) {
    found.prepared = std::string(view[0].str());
  } else if (view.is_array() && view.size() == 2) {
    if (view[0].is_string()) found.entry = std::string(view[0].str());
    found.version = view[1].is_string() ? std::string(view[1].str()) : "0";
  }
  if (found.prepared || found.entry) OutcomeCounter(CacheOutcome::kHit).Increment();
  return found;
}

}  // namespace

std::string_view CacheOutcomeName(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::kHit:
      return "hit";
    case CacheOutcome::kMiss:
      return "miss";
    case CacheOutcome::kBypass:
      break;
  }
  return "bypass";
}

Customer360Cache::Customer360Cache(redis::Pool* redis, Customer360CacheOptions options)
    : redis_(redis),
      options_(std::move(options)),
      lookups_(options_.lookup_threads, /*max_batch=*/64, options_.max_queued_lookups,
               [this](std::vector<PendingLookup>& batch) { LookupBatch(batch); }) {}

void Customer360Cache::Lookup(std::string_view tenant_id, std::string_view customer_id,
                              LookupDone done) {
  if (Tripped()) {
    done(absl::UnavailableError("the cache is left alone after a Redis failure"));
    return;
  }
  PendingLookup pending{.key = EntryKey(tenant_id, customer_id),
                        .done = std::move(done),
                        .prepared_field = {},
                        .prepared_done = nullptr};
  if (!lookups_.Add(pending)) pending.done(absl::UnavailableError("too many cache lookups queued"));
}

void Customer360Cache::LookupPrepared(std::string_view tenant_id, std::string_view customer_id,
                                      std::string field, PreparedLookupDone done) {
  if (Tripped()) {
    done(absl::UnavailableError("the cache is left alone after a Redis failure"));
    return;
  }
  PendingLookup pending{.key = EntryKey(tenant_id, customer_id),
                        .done = nullptr,
                        .prepared_field = std::move(field),
                        .prepared_done = std::move(done)};
  if (!lookups_.Add(pending)) {
    pending.prepared_done(absl::UnavailableError("too many cache lookups queued"));
  }
}

void Customer360Cache::LookupBatch(std::vector<PendingLookup>& batch) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  for (const PendingLookup& pending : batch) {
    if (pending.prepared_done) {
      commands.push_back({"EVAL", kLookupPreparedScript, "1", pending.key, pending.prepared_field});
    } else {
      commands.push_back({"HGET", pending.key, "data"});
    }
  }
  const absl::StatusOr<std::vector<redis::Reply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) Trip(replies.status());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].prepared_done) {
      if (!replies.ok()) {
        batch[i].prepared_done(replies.status());
        continue;
      }
      batch[i].prepared_done(PreparedLookupOf((*replies)[i]));
      continue;
    }
    if (!replies.ok()) {
      batch[i].done(replies.status());
      continue;
    }
    // Nil for a miss; an error reply (a key of the wrong type) is treated as one too, and
    // the load that follows overwrites or reports it.
    const redis::ReplyView data = (*replies)[i].view();
    if (!data.is_string()) {
      batch[i].done(std::optional<std::string>());
      continue;
    }
    OutcomeCounter(CacheOutcome::kHit).Increment();
    batch[i].done(std::optional<std::string>(data.str()));
  }
}

absl::StatusOr<bool> Customer360Cache::StorePrepared(
    std::string_view tenant_id, std::string_view customer_id, const std::string& field,
    const std::string& prepared, const std::string& entry, const std::string& version) {
  const absl::StatusOr<redis::Reply> stored =
      redis_->Command({"EVAL", kStorePreparedScript, "1", EntryKey(tenant_id, customer_id), field,
                       prepared, entry, version});
  if (!stored.ok()) {
    Trip(stored.status());
    return stored.status();
  }
  if (const absl::Status refused = ReplyStatus(*stored, "storing a prepared 360 view");
      !refused.ok()) {
    Trip(refused);
    return refused;
  }
  return stored->integer() == 1;
}

std::string Customer360Cache::EntryKey(std::string_view tenant_id,
                                       std::string_view customer_id) const {
  // The hash tag puts an entry and its lock in one Redis Cluster slot, as the scripts need.
  return absl::StrCat(options_.key_prefix, ":c360:{", std::string(tenant_id), ":",
                      std::string(customer_id), "}");
}

absl::StatusOr<Customer360Cache::Result> Customer360Cache::GetOrLoad(std::string_view tenant_id,
                                                                     std::string_view customer_id,
                                                                     const LoadFn& load) {
  if (Tripped()) return Bypass(load);
  const std::string key = EntryKey(tenant_id, customer_id);
  const std::string lock_key = key + ":lock";
  const std::string token = ids::NewUuid();
  const std::string lock_ms = Millis(options_.load_timeout);

  absl::StatusOr<redis::Reply> reply = redis_->Command({"HMGET", key, "data", "ver"});
  if (!reply.ok()) {
    Trip(reply.status());
    return Bypass(load);
  }
  StoredEntry lookup = ParseLookup(reply->view());
  if (lookup.found) return Served(std::move(lookup.entry), CacheOutcome::kHit);

  // Another caller may be loading this key: wait for its result rather than load it again.
  // If its lock goes away without a result (its load failed, or an invalidation refused the
  // write), try to become the loader.
  const absl::Time give_up = absl::Now() + options_.load_timeout;
  while (true) {
    absl::StatusOr<redis::Reply> locked =
        redis_->Command({"SET", lock_key, token, "NX", "PX", lock_ms});
    if (!locked.ok()) {
      Trip(locked.status());
      return Bypass(load);
    }
    if (locked->is_string()) {
      return LoadAndStore(key, lock_key, token, lookup.version, load);
    }
    do {
      if (absl::Now() >= give_up) return Bypass(load);
      absl::SleepFor(options_.poll_interval);
      absl::StatusOr<std::vector<redis::Reply>> polled =
          redis_->Pipeline({{"HMGET", key, "data", "ver"}, {"EXISTS", lock_key}});
      if (!polled.ok()) {
        Trip(polled.status());
        return Bypass(load);
      }
      lookup = ParseLookup((*polled)[0].view());
      if (lookup.found) return Served(std::move(lookup.entry), CacheOutcome::kHit);
      if ((*polled)[1].integer() == 0) break;
    } while (true);
  }
}

absl::StatusOr<Customer360Cache::Result> Customer360Cache::LoadAndStore(
    const std::string& key, const std::string& lock_key, const std::string& lock_token,
    const std::string& version, const LoadFn& load) {
  // Without a stored entry the lock is given back at once, so that waiters load themselves
  // instead of waiting it out.
  const auto unlock = [&] {
    const absl::StatusOr<redis::Reply> unlocked =
        redis_->Command({"EVAL", kUnlockScript, "1", lock_key, lock_token});
    if (!unlocked.ok()) Trip(unlocked.status());
  };
  absl::StatusOr<Loaded> loaded = load();
  if (!loaded.ok()) {
    unlock();
    return loaded.status();
  }
  if (!loaded->storable) {
    unlock();
    return Served(std::move(loaded->entry), CacheOutcome::kBypass);
  }
  const absl::StatusOr<redis::Reply> stored =
      redis_->Command({"EVAL", kStoreScript, "2", key, lock_key, version,
                       loaded->entry.SerializeAsString(), Millis(JitteredTtl()), lock_token});
  if (!stored.ok()) {
    Trip(stored.status());
  } else if (const absl::Status refused = ReplyStatus(*stored, "storing a 360 entry");
             !refused.ok()) {
    Trip(refused);
    unlock();
  }
  return Served(std::move(loaded->entry), CacheOutcome::kMiss);
}

absl::StatusOr<Customer360Cache::Result> Customer360Cache::Bypass(const LoadFn& load) {
  TL_ASSIGN_OR_RETURN(Loaded loaded, load());
  return Served(std::move(loaded.entry), CacheOutcome::kBypass);
}

absl::Status Customer360Cache::Invalidate(std::string_view tenant_id,
                                          std::string_view customer_id) {
  const std::string key = EntryKey(tenant_id, customer_id);
  TL_ASSIGN_OR_RETURN(
      const redis::Reply reply,
      redis_->Command({"EVAL", kInvalidateScript, "2", key, key + ":lock", Millis(options_.ttl)}));
  return ReplyStatus(reply, "invalidating a 360 entry");
}

void Customer360Cache::Trip(const absl::Status& status) {
  const absl::Time until = absl::Now() + options_.retry_after_failure;
  const int64_t previous = tripped_until_.exchange(absl::ToUnixNanos(until));
  // One line per outage, not one per request.
  if (previous < absl::ToUnixNanos(absl::Now())) {
    log::Warning("customer 360 cache unavailable; serving from the services",
                 {{"error", status.ToString()},
                  {"retry_in", absl::FormatDuration(options_.retry_after_failure)}});
  }
}

bool Customer360Cache::Tripped() const {
  return absl::ToUnixNanos(absl::Now()) < tripped_until_.load(std::memory_order_relaxed);
}

absl::Duration Customer360Cache::JitteredTtl() const {
  thread_local absl::BitGen bits;
  const double jitter = std::clamp(options_.ttl_jitter, 0.0, 1.0);
  return options_.ttl * absl::Uniform(bits, 1.0 - jitter, 1.0 + jitter);
}

}  // namespace touchline::gateway
