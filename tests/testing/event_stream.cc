#include "tests/testing/event_stream.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace touchline::testing {

absl::StatusOr<std::vector<events::v1::EventEnvelope>> ReadEnvelopes(
    redis::Pool& redis, const std::string& stream_key) {
  absl::StatusOr<redis::Reply> entries = redis.Command({"XRANGE", stream_key, "-", "+"});
  if (!entries.ok()) return entries.status();
  std::vector<events::v1::EventEnvelope> envelopes;
  for (size_t i = 0; i < entries->size(); ++i) {
    const redis::ReplyView fields = (*entries)[i][1];
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str() != "event") continue;
      events::v1::EventEnvelope& envelope = envelopes.emplace_back();
      if (!envelope.ParseFromString(std::string(fields[f + 1].str()))) {
        return absl::DataLossError("a stream entry's envelope does not parse");
      }
    }
  }
  return envelopes;
}

namespace {

// A stream entry id "<ms>-<seq>" as a comparable pair; {0, 0} when malformed.
std::pair<uint64_t, uint64_t> EntryId(std::string_view id) {
  std::pair<std::string, std::string> parts =
      absl::StrSplit(absl::string_view(id.data(), id.size()), '-');
  std::pair<uint64_t, uint64_t> out;
  if (!absl::SimpleAtoi(parts.first, &out.first) || !absl::SimpleAtoi(parts.second, &out.second)) {
    return {0, 0};
  }
  return out;
}

}  // namespace

absl::StatusOr<bool> GroupHasApplied(redis::Pool& redis, const std::string& stream_key,
                                     const std::string& group, const std::string& aggregate_id) {
  absl::StatusOr<redis::Reply> entries = redis.Command({"XRANGE", stream_key, "-", "+"});
  if (!entries.ok()) return entries.status();
  std::pair<uint64_t, uint64_t> newest{0, 0};
  for (size_t i = 0; i < entries->size(); ++i) {
    const redis::ReplyView fields = (*entries)[i][1];
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str() == "aggregate" && fields[f + 1].str() == aggregate_id) {
        newest = EntryId((*entries)[i][0].str());
      }
    }
  }
  if (newest == std::pair<uint64_t, uint64_t>{0, 0}) return false;
  absl::StatusOr<redis::Reply> groups = redis.Command({"XINFO", "GROUPS", stream_key});
  if (!groups.ok()) return groups.status();
  for (size_t g = 0; g < groups->size(); ++g) {
    const redis::ReplyView info = (*groups)[g];
    bool named = false;
    long long pending = -1;
    std::pair<uint64_t, uint64_t> delivered{0, 0};
    for (size_t f = 0; f + 1 < info.size(); f += 2) {
      const std::string_view key = info[f].str();
      if (key == "name") named = info[f + 1].str() == group;
      if (key == "pending") pending = info[f + 1].integer();
      if (key == "last-delivered-id") delivered = EntryId(info[f + 1].str());
    }
    if (named) return pending == 0 && delivered >= newest;
  }
  return false;
}

}  // namespace touchline::testing
