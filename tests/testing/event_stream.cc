#include "tests/testing/event_stream.h"

#include "absl/status/status.h"

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

}  // namespace touchline::testing
