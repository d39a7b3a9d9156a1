// Keeps event streams as short as their consumer groups allow: trims each stream to the oldest
// entry any group still needs, and reports how far behind each group is.
#ifndef TOUCHLINE_COMMON_EVENTS_STREAM_TRIMMER_H_
#define TOUCHLINE_COMMON_EVENTS_STREAM_TRIMMER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"

namespace touchline::events {

struct TrimmerOptions {
  // Prefix of the Redis keys: see StreamKey (outbox.h).
  std::string stream_prefix = "touchline";
  // The topics whose streams are trimmed. Required (at least one).
  std::vector<std::string> topics;
  // The MAXLEN guard the publishers apply (RelayOptions::stream_max_len,
  // --events_stream_max_len); 0 = none. The trimmer does not apply it: it warns when a group
  // needs so many entries that the guard cuts, or is about to cut, entries it has not had.
  long long stream_max_len = 1000000;
  // Most entries one pass removes from one stream (XTRIM LIMIT), so that a pass after a long
  // outage frees memory in steps instead of blocking Redis; the next passes remove the rest.
  // Must be >= 1.
  long long trim_limit = 100000;
  // Entries added this recently are kept even when every group has them: readers that are
  // not consumer groups (enforcement::ScopeInvalidationListener follows the permissions
  // stream by id with XREAD) must find the entries after the last id they read, and a reader
  // that fell behind for a moment (a Redis blip, its backoff) is at most this far behind.
  // Must be >= 0.
  absl::Duration keep_recent = absl::Hours(1);
};

// What a pass found about one consumer group of a stream.
struct GroupBacklog {
  std::string group;
  // Entries not yet delivered to the group (XINFO GROUPS "lag"); when Redis cannot tell (after
  // entries were deleted from inside the stream), the stream's length, an upper bound.
  long long lag = 0;
  // Entries delivered to the group's consumers and not yet acknowledged.
  long long pending = 0;
  // The id of the oldest entry the group still needs: its oldest pending entry, or else the id
  // just after the last one delivered to it.
  std::string oldest_needed_id;
  // lag + pending >= 90% of stream_max_len: the guard cuts, or is about to cut, entries the
  // group has not acknowledged.
  bool at_guard = false;
};

// What a pass did to one stream.
struct StreamTrim {
  std::string topic;
  // Entries removed by this pass.
  long long trimmed = 0;
  // Entries left.
  long long length = 0;
  std::vector<GroupBacklog> groups;
};

// Trims the stream of each topic to what every consumer group has acknowledged: entries older
// than the oldest entry any group still needs (GroupBacklog::oldest_needed_id), and than
// TrimmerOptions::keep_recent, are removed with
// XTRIM MINID ~, in one Lua script with the reading of the groups, so a group created
// meanwhile cannot be overtaken. Approximate trimming removes whole radix-tree nodes only, so a
// few older entries may stay until a later pass. A stream without groups is left to the guard:
// a group created later starts from its first entry.
//
// Each pass sets, labelled by topic (and group):
//   touchline_events_stream_length{topic}          entries in the stream
//   touchline_events_group_lag{topic,group}        GroupBacklog::lag
//   touchline_events_group_pending{topic,group}    GroupBacklog::pending
//   touchline_events_group_at_guard{topic,group}   1 when GroupBacklog::at_guard, else 0
// and logs a warning for each group at the guard. Several replicas may run passes at once.
// Thread-safe.
class StreamTrimmer {
 public:
  // `redis` must outlive the trimmer.
  StreamTrimmer(TrimmerOptions options, redis::Pool* redis);

  // One pass over every topic, for a service host to run every --events_trim_interval.
  // Errors: INVALID_ARGUMENT for bad options; UNAVAILABLE if Redis cannot be reached; INTERNAL
  // if Redis rejects the script. A failing topic fails the pass; the topics before it are
  // trimmed.
  absl::StatusOr<std::vector<StreamTrim>> TrimOnce();

 private:
  absl::StatusOr<StreamTrim> Trim(const std::string& topic);

  const TrimmerOptions options_;
  redis::Pool* const redis_;
};

}  // namespace touchline::events

#endif  // TOUCHLINE_COMMON_EVENTS_STREAM_TRIMMER_H_
