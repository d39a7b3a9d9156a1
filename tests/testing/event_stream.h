// Reads what the outbox relay published, for tests that check events end to end.
#ifndef TOUCHLINE_TESTS_TESTING_EVENT_STREAM_H_
#define TOUCHLINE_TESTS_TESTING_EVENT_STREAM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/pool.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::testing {

// Every envelope in the stream `stream_key` (field "event" of each entry), oldest first.
// DATA_LOSS if an entry's envelope does not parse.
absl::StatusOr<std::vector<events::v1::EventEnvelope>> ReadEnvelopes(redis::Pool& redis,
                                                                     const std::string& stream_key);

// Whether consumer group `group` has got past the newest entry of `stream_key` about
// `aggregate_id` (its "aggregate" field) and acknowledged everything it was given: the event
// was applied. False while no such entry was published yet or the group lags.
absl::StatusOr<bool> GroupHasApplied(redis::Pool& redis, const std::string& stream_key,
                                     const std::string& group, const std::string& aggregate_id);

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_EVENT_STREAM_H_
