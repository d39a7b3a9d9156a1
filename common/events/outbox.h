// The transactional outbox: domain events are inserted in the same PostgreSQL transaction as
// the change they describe, so an event exists if and only if its change committed.
// OutboxRelay (outbox_relay.h) then publishes them to one Redis stream per topic.
#ifndef TOUCHLINE_COMMON_EVENTS_OUTBOX_H_
#define TOUCHLINE_COMMON_EVENTS_OUTBOX_H_

#include <google/protobuf/message.h>

#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <vector>

#include "common/pg/migrator.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::events {

// The outbox table and its sequence. Apply them to each schema whose services write events:
//   pg::ApplyMigrations(dsn, schema, "outbox", OutboxMigrations());
const std::vector<pg::Migration>& OutboxMigrations();

// A new envelope for `payload`: a new event id (a UUIDv7), event_type = the payload's full
// message name, occur_time = now, the payload packed into an Any, and the given fields.
touchline::events::v1::EventEnvelope MakeEnvelope(const google::protobuf::Message& payload,
                                                  std::string_view tenant_id,
                                                  std::string_view aggregate_type,
                                                  std::string_view aggregate_id,
                                                  std::string_view request_id,
                                                  std::string_view actor_id);

// Inserts `event` for `topic` into the outbox table of the schema on txn's search_path, as
// part of the caller's transaction: it is published if and only if the transaction commits.
// Call OutboxRelay::Wake() after the commit to publish without waiting for the next poll.
// Preconditions: `topic` is non-empty without '{' or '}' (it becomes a Redis hash tag); `event`
// has a UUID event_id (as MakeEnvelope makes). Throws libpqxx exceptions like any statement
// run in `txn` (Pool::Transact maps them).
void AppendToOutbox(pqxx::work& txn, std::string_view topic,
                    const touchline::events::v1::EventEnvelope& event);

// As above for several events in one statement (a group commit's worth), in their order.
void AppendToOutbox(pqxx::work& txn, std::string_view topic,
                    const std::vector<touchline::events::v1::EventEnvelope>& events);

// The Redis stream of `topic`: "<prefix>:{<topic>}:events". The braces make the topic a hash
// tag, so in Redis Cluster the stream and the relays' state keys share a slot (one Lua script
// touches both).
std::string StreamKey(std::string_view prefix, std::string_view topic);

// The state of the relay of `schema`'s outbox for `topic`: "<prefix>:{<topic>}:relay:<schema>",
// the id of the last batch of that outbox added to the topic's stream. Batch ids come from a
// sequence of each schema, so several schemas publishing to one topic (e.g. "audit") each need
// their own key: with one key per topic, one schema's batch ids would hide the other's. In the
// same hash slot as StreamKey.
std::string RelayStateKey(std::string_view prefix, std::string_view topic, std::string_view schema);

}  // namespace touchline::events

#endif  // TOUCHLINE_COMMON_EVENTS_OUTBOX_H_
