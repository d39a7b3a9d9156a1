// The SQL of PgAuditStore over the tables of migrations/0003_audit.sql.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_SQL_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_SQL_H_

namespace touchline::permissions::audit_sql {

// clang-format off
// The columns of an entry as pg_audit_store.cc's EntryOf reads them, in its order.
#define TL_ENTRY_COLUMNS \
  "sequence, (extract(epoch FROM occur_time) * 1000000)::bigint, action, actor_id, client," \
  " resource_type, resource_id, to_json(fields)::text, detail, request_id, previous_hash," \
  " hash"

// The heads of the tenants $1, locked in tenant id order.
constexpr char kLockHeads[] =
    "SELECT tenant_id, last_sequence, last_hash FROM audit_chain_heads"
    " WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id FOR UPDATE";

// Heads for the tenants $1 at (0, $2), in tenant id order.
constexpr char kCreateHeads[] =
    "INSERT INTO audit_chain_heads (tenant_id, last_sequence, last_hash)"
    " SELECT tenant_id, 0, $2 FROM unnest($1::text[]) AS t(tenant_id) ORDER BY tenant_id"
    " ON CONFLICT (tenant_id) DO NOTHING";

constexpr char kReadHead[] =
    "SELECT last_sequence, last_hash FROM audit_chain_heads WHERE tenant_id = $1";

// The entries (one array element each, $1 to $14) and the moves of their chain heads ($15 to
// $17, one element per tenant), in one round trip. occur_time from whole seconds ($3) plus
// microseconds ($4): both are exact in to_timestamp's double arithmetic. Each element of $10
// is the text[] literal of one entry's fields.
constexpr char kAppend[] = R"sql(
WITH appended AS (
  INSERT INTO audit_events (tenant_id, sequence, occur_time, action, actor_id, client,
                            resource_type, resource_id, fields, detail, request_id,
                            previous_hash, hash)
  SELECT tenant_id, sequence, to_timestamp(seconds) + micros * interval '1 microsecond',
         action, actor_id, client, resource_type, resource_id, fields::text[], detail,
         request_id, previous_hash, hash
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
              $13::text[], $14::text[])
       AS e(tenant_id, sequence, seconds, micros, action, actor_id, client, resource_type,
            resource_id, fields, detail, request_id, previous_hash, hash)
)
UPDATE audit_chain_heads AS h SET last_sequence = m.last_sequence, last_hash = m.last_hash
FROM unnest($15::text[], $16::bigint[], $17::text[]) AS m(tenant_id, last_sequence, last_hash)
WHERE h.tenant_id = m.tenant_id)sql";

// Entries of tenant $1 after sequence $2, at most $3, in sequence order.
constexpr char kEntriesAfter[] =
    "SELECT " TL_ENTRY_COLUMNS " FROM audit_events WHERE tenant_id = $1 AND sequence > $2"
    " ORDER BY sequence LIMIT $3";

// ListEntries: kListEntries, then one condition per filter set, each followed by its
// parameter's number (and kListCloseCall after kListActionPrefix), then kListOrder and the
// number of the limit.
constexpr char kListEntries[] =
    "SELECT " TL_ENTRY_COLUMNS " FROM audit_events WHERE tenant_id = $1";
constexpr char kListActorId[] = " AND actor_id = $";
constexpr char kListResourceType[] = " AND resource_type = $";
constexpr char kListResourceId[] = " AND resource_id = $";
constexpr char kListActionPrefix[] = " AND starts_with(action, $";
constexpr char kListCloseCall[] = ")";
constexpr char kListBeforeSequence[] = " AND sequence < $";
constexpr char kListOrder[] = " ORDER BY sequence DESC LIMIT $";
// An instant bound as seconds $a and microseconds $b: "(to_timestamp($a) + $b * interval ..."
// with kListTimeSeconds, a, kListTimeMicros, b, kListTimeEnd.
constexpr char kListStartsAt[] = " AND occur_time >= ";
constexpr char kListEndsBefore[] = " AND occur_time < ";
constexpr char kListTimeSeconds[] = "(to_timestamp($";
constexpr char kListTimeMicros[] = ") + $";
constexpr char kListTimeEnd[] = " * interval '1 microsecond')";

constexpr char kSnapshotReadOnly[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

#undef TL_ENTRY_COLUMNS
// clang-format on

}  // namespace touchline::permissions::audit_sql

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_SQL_H_
