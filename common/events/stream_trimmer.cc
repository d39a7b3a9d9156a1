#include "common/events/stream_trimmer.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/status/macros.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"

namespace touchline::events {
namespace {

// KEYS[1]: the stream. ARGV[1]: XTRIM's LIMIT. ARGV[2]: milliseconds of entries kept whatever
// the groups acknowledged (ids from Redis's clock, so compared with Redis's TIME). Returns {entries
// trimmed, entries left, then per group {name, lag (-1: unknown), pending, oldest needed id}}. A
// group needs its oldest pending entry, or else the entries after its last-delivered-id; MINID
// keeps ids >= its argument, so the id after that last one is "<ms>-<seq + 1>". Reading the groups
// and trimming in one script means no group can be created or moved back between the two.
constexpr char kTrimScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local function split(id)
  local dash = string.find(id, '-', 1, true)
  return string.sub(id, 1, dash - 1), tonumber(string.sub(id, dash + 1))
end
local function before(a_ms, a_seq, b_ms, b_seq)
  if #a_ms ~= #b_ms then return #a_ms < #b_ms end
  if a_ms ~= b_ms then return a_ms < b_ms end
  return a_seq < b_seq
end
local min_ms, min_seq, min_id
local reply = {0, 0}
for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local group = {}
  for i = 1, #info, 2 do group[info[i]] = info[i + 1] end
  local ms, seq = split(group['last-delivered-id'])
  seq = seq + 1
  local needed = ms .. '-' .. string.format('%d', seq)
  if group['pending'] > 0 then
    needed = redis.call('XPENDING', KEYS[1], group['name'])[2]
    ms, seq = split(needed)
  end
  if min_id == nil or before(ms, seq, min_ms, min_seq) then
    min_ms, min_seq, min_id = ms, seq, needed
  end
  table.insert(reply, {group['name'], group['lag'] or -1, group['pending'], needed})
end
local keep_ms = tonumber(ARGV[2])
if min_id and keep_ms > 0 then
  local now = redis.call('TIME')
  local floor_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - keep_ms
  if floor_ms < 0 then floor_ms = 0 end
  local f_ms = string.format('%d', floor_ms)
  if before(f_ms, 0, min_ms, min_seq) then min_ms, min_seq, min_id = f_ms, 0, f_ms .. '-0' end
end
if min_id then
  reply[1] = redis.call('XTRIM', KEYS[1], 'MINID', '~', min_id, 'LIMIT', ARGV[1])
end
reply[2] = redis.call('XLEN', KEYS[1])
return reply
)lua";

prometheus::Family<prometheus::Gauge>& Gauges(const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(metrics::DefaultRegistry());
}

prometheus::Family<prometheus::Gauge>& StreamLength() {
  static auto& family = Gauges("touchline_events_stream_length", "Entries in an event stream.");
  return family;
}

prometheus::Family<prometheus::Gauge>& GroupLag() {
  static auto& family = Gauges(
      "touchline_events_group_lag",
      "Entries of an event stream not yet delivered to a consumer group (the stream's length "
      "when Redis cannot tell).");
  return family;
}

prometheus::Family<prometheus::Gauge>& GroupPending() {
  static auto& family =
      Gauges("touchline_events_group_pending",
             "Entries delivered to a consumer group's consumers and not yet acknowledged.");
  return family;
}

prometheus::Family<prometheus::Gauge>& GroupAtGuard() {
  static auto& family =
      Gauges("touchline_events_group_at_guard",
             "1 while a consumer group is so far behind (lag + pending >= 90% of "
             "--events_stream_max_len) that the stream's length guard cuts, or is about to cut, "
             "entries it has not acknowledged.");
  return family;
}

}  // namespace

StreamTrimmer::StreamTrimmer(TrimmerOptions options, redis::Pool* redis)
    : options_(std::move(options)), redis_(redis) {}

absl::StatusOr<std::vector<StreamTrim>> StreamTrimmer::TrimOnce() {
  if (options_.topics.empty() || options_.stream_max_len < 0 || options_.trim_limit < 1 ||
      options_.keep_recent < absl::ZeroDuration() || redis_ == nullptr) {
    return absl::InvalidArgumentError(
        "stream trimmer: topics and a Redis pool are required, stream_max_len must be >= 0, "
        "trim_limit >= 1 and keep_recent >= 0");
  }
  std::vector<StreamTrim> trims;
  for (const std::string& topic : options_.topics) {
    TL_ASSIGN_OR_RETURN(StreamTrim trim, Trim(topic));
    trims.push_back(std::move(trim));
  }
  return trims;
}

absl::StatusOr<StreamTrim> StreamTrimmer::Trim(const std::string& topic) {
  const std::string key = StreamKey(options_.stream_prefix, topic);
  TL_ASSIGN_OR_RETURN(
      const redis::Reply reply,
      redis_->Command({"EVAL", kTrimScript, "1", key, std::to_string(options_.trim_limit),
                       std::to_string(absl::ToInt64Milliseconds(options_.keep_recent))}));
  if (!reply.is_array() || reply.size() < 2) {
    return absl::InternalError(
        absl::StrCat("stream trimmer: trimming ", key, " failed: ", std::string(reply.str())));
  }
  StreamTrim trim;
  trim.topic = topic;
  trim.trimmed = reply[0].integer();
  trim.length = reply[1].integer();
  StreamLength().Add({{"topic", topic}}).Set(static_cast<double>(trim.length));
  for (size_t i = 2; i < reply.size(); ++i) {
    const redis::ReplyView group = reply[i];
    GroupBacklog& backlog = trim.groups.emplace_back();
    backlog.group = std::string(group[0].str());
    backlog.lag = group[1].integer() < 0 ? trim.length : group[1].integer();
    backlog.pending = group[2].integer();
    backlog.oldest_needed_id = std::string(group[3].str());
    backlog.at_guard = options_.stream_max_len > 0 &&
                       (backlog.lag + backlog.pending) * 10 >= options_.stream_max_len * 9;
    const prometheus::Labels labels = {{"topic", topic}, {"group", backlog.group}};
    GroupLag().Add(labels).Set(static_cast<double>(backlog.lag));
    GroupPending().Add(labels).Set(static_cast<double>(backlog.pending));
    GroupAtGuard().Add(labels).Set(backlog.at_guard ? 1 : 0);
    if (backlog.at_guard) {
      log::Warning(
          "consumer group is so far behind that the stream's length guard cuts events it has "
          "not acknowledged",
          {{"topic", topic},
           {"group", backlog.group},
           {"lag", absl::StrCat(backlog.lag)},
           {"pending", absl::StrCat(backlog.pending)},
           {"stream_max_len", absl::StrCat(options_.stream_max_len)}});
    }
  }
  return trim;
}

}  // namespace touchline::events
