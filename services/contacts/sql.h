// SQL of the contacts store: named constants, explicit columns, $n parameters. Statements
// run with search_path set to the service's schema, so table names are unqualified.
// Times cross the wire as microseconds since the Unix epoch (exact, unlike float seconds).
#ifndef TOUCHLINE_SERVICES_CONTACTS_SQL_H_
#define TOUCHLINE_SERVICES_CONTACTS_SQL_H_

namespace touchline::contacts::sql {

// The columns every read returns, in the order PgCustomerStore::ParseRow reads them.
#define TL_CUSTOMER_COLUMNS                                                            \
  "customer_id::text, kind, display_name, industry, region, level, lifecycle_status, " \
  "owner_id, to_json(tags)::text, custom_fields::text, contact_persons::text, "        \
  "addresses::text, state, coalesce(merged_into::text, ''), "                          \
  "(extract(epoch FROM create_time) * 1000000)::bigint, "                              \
  "(extract(epoch FROM update_time) * 1000000)::bigint, "                              \
  "coalesce((extract(epoch FROM delete_time) * 1000000)::bigint, -1), version"

#define TL_MICROS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"

// New customers, from a JSON array of objects with the record's fields (times as micros).
inline constexpr char kInsertCustomers[] =
    "INSERT INTO customers (tenant_id, customer_id, kind, display_name, industry, region, "
    "level, lifecycle_status, owner_id, tags, custom_fields, contact_persons, addresses, "
    "state, create_time, update_time, version) SELECT r.tenant_id, r.customer_id, r.kind, "
    "r.display_name, r.industry, r.region, r.level, r.lifecycle_status, r.owner_id, "
    "ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.custom_fields, r.contact_persons, "
    "r.addresses, r.state, timestamptz 'epoch' + r.create_micros * interval '1 microsecond', "
    "timestamptz 'epoch' + r.update_micros * interval '1 microsecond', r.version "
    "FROM jsonb_to_recordset($1::jsonb) AS r(tenant_id text, customer_id uuid, kind smallint, "
    "display_name text, industry text, region text, level smallint, lifecycle_status "
    "smallint, owner_id text, tags jsonb, custom_fields jsonb, contact_persons jsonb, "
    "addresses jsonb, state smallint, create_micros bigint, update_micros bigint, "
    "version bigint)";

// $1 tenant, $2 id, then the row's values ($3..$19) in the order of WriteCustomer.
inline constexpr char kUpdateCustomer[] =
    "UPDATE customers SET kind = $3, display_name = $4, industry = $5, region = $6, "
    "level = $7, lifecycle_status = $8, owner_id = $9, "
    "tags = ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), custom_fields = $11::jsonb, "
    "contact_persons = $12::jsonb, addresses = $13::jsonb, state = $14, "
    "merged_into = NULLIF($15, '')::uuid, create_time = " TL_MICROS(16) ", "
    "update_time = " TL_MICROS(17) ", "
    "delete_time = CASE WHEN $18::bigint < 0 THEN NULL ELSE " TL_MICROS(18) " END, "
    "version = $19 WHERE tenant_id = $1 AND customer_id = $2::uuid";

inline constexpr char kSelectCustomer[] =
    "SELECT " TL_CUSTOMER_COLUMNS " FROM customers WHERE tenant_id = $1 AND customer_id = $2::uuid";

inline constexpr char kSelectCustomerForUpdate[] =
    "SELECT " TL_CUSTOMER_COLUMNS
    " FROM customers WHERE tenant_id = $1 AND customer_id = $2::uuid FOR UPDATE";

// Both customers of a merge, locked in id order so two merges cannot deadlock.
inline constexpr char kSelectPairForUpdate[] =
    "SELECT " TL_CUSTOMER_COLUMNS
    " FROM customers WHERE tenant_id = $1 AND customer_id IN ($2::uuid, $3::uuid) "
    "ORDER BY customer_id FOR UPDATE";

// The alias of the customers table in the statements a visibility condition
// (auth::Scope::SqlVisibility) is appended to.
inline constexpr char kCustomersAlias[] = "c";

// $2: a JSON array of ids. One primary-key lookup per id, whatever the table statistics say:
// with `customer_id = ANY(...)`, or a LATERAL join the planner may flatten, the generic plan
// of a table that grew before autoanalyze saw it scanned the whole tenant (1.4 ms instead of
// 0.1 ms at 2,000 rows). OFFSET 0 keeps the subquery a separate, per-id index lookup.
inline constexpr char kSelectCustomers[] =
    "SELECT c.* FROM jsonb_array_elements_text($2::jsonb) AS ids(id), LATERAL "
    "(SELECT " TL_CUSTOMER_COLUMNS
    " FROM customers WHERE tenant_id = $1 AND customer_id = ids.id::uuid "
    "OFFSET 0) c";

// kSelectCustomers for a caller who does not see every customer: the store puts a
// visibility condition over "c" (parameters from $3) between the start and the end.
inline constexpr char kSelectVisibleCustomersStart[] =
    "SELECT v.* FROM jsonb_array_elements_text($2::jsonb) AS ids(id), LATERAL "
    "(SELECT " TL_CUSTOMER_COLUMNS
    " FROM customers c WHERE c.tenant_id = $1 AND c.customer_id = ids.id::uuid AND ";
inline constexpr char kSelectVisibleCustomersEnd[] = " OFFSET 0) v";

// The start of ListCustomers; the store appends filters (visibility over "c" among them),
// the keyset and the order.
inline constexpr char kListCustomersPrefix[] =
    "SELECT " TL_CUSTOMER_COLUMNS " FROM customers c WHERE c.tenant_id = $1";

inline constexpr char kDeleteKeys[] =
    "DELETE FROM customer_keys WHERE tenant_id = $1 AND customer_id = $2::uuid";

// $1: a JSON array of [tenant, reason, key, customer id] arrays.
inline constexpr char kInsertKeys[] =
    "INSERT INTO customer_keys (tenant_id, reason, key, customer_id) "
    "SELECT e->>0, (e->>1)::smallint, e->>2, (e->>3)::uuid FROM jsonb_array_elements($1::jsonb) e "
    "ON CONFLICT DO NOTHING";

inline constexpr char kInsertMerge[] =
    "INSERT INTO merges (tenant_id, merge_id, survivor_id, merged_id, survivor_before, "
    "merged_before, survivor_version_after, merged_version_after, create_time) VALUES ($1, "
    "$2::uuid, $3::uuid, $4::uuid, $5::jsonb, $6::jsonb, $7, $8, " TL_MICROS(9) ")";

#define TL_MERGE_COLUMNS                                                        \
  "merge_id::text, survivor_id::text, merged_id::text, survivor_before::text, " \
  "merged_before::text, survivor_version_after, merged_version_after, "         \
  "(extract(epoch FROM create_time) * 1000000)::bigint, "                       \
  "coalesce((extract(epoch FROM unmerge_time) * 1000000)::bigint, -1)"

inline constexpr char kSelectMerge[] =
    "SELECT " TL_MERGE_COLUMNS " FROM merges WHERE tenant_id = $1 AND merge_id = $2::uuid";

inline constexpr char kSelectMergeForUpdate[] =
    "SELECT " TL_MERGE_COLUMNS
    " FROM merges WHERE tenant_id = $1 AND merge_id = $2::uuid FOR UPDATE";

inline constexpr char kMarkUnmerged[] = "UPDATE merges SET unmerge_time = " TL_MICROS(
    3) " WHERE tenant_id = $1 AND merge_id = $2::uuid";

// Pairs sharing a key, most matches first, keyset-paged on (strength, id, id).
// $2: '' or a customer id to restrict to; $3: the cursor's strength (-1: first page);
// $4, $5: the cursor's ids; $6: the limit; $7: the most customers a key may have.
// Between the start and the end the store appends conditions on the pair (a.customer_id,
// b.customer_id): kDuplicateAVisible and kDuplicateBVisible, for callers who do not see
// every customer.
inline constexpr char kFindDuplicatesStart[] =
    "WITH shared AS ("
    "  SELECT k.reason, k.key FROM customer_keys k WHERE k.tenant_id = $1 AND ($2 = '' OR "
    "    (k.reason, k.key) IN (SELECT reason, key FROM customer_keys "
    "      WHERE tenant_id = $1 AND customer_id = NULLIF($2, '')::uuid)) "
    "  GROUP BY k.reason, k.key HAVING count(*) BETWEEN 2 AND $7), "
    "pairs AS ("
    "  SELECT a.customer_id AS a_id, b.customer_id AS b_id, count(*) AS strength, "
    "    json_agg(json_build_array(a.reason, a.key) ORDER BY a.reason, a.key)::text AS matches "
    "  FROM shared s "
    "  JOIN customer_keys a ON a.tenant_id = $1 AND a.reason = s.reason AND a.key = s.key "
    "  JOIN customer_keys b ON b.tenant_id = $1 AND b.reason = s.reason AND b.key = s.key "
    "    AND a.customer_id < b.customer_id "
    "  WHERE ($2 = '' OR a.customer_id = NULLIF($2, '')::uuid "
    "    OR b.customer_id = NULLIF($2, '')::uuid)";
inline constexpr char kFindDuplicatesEnd[] =
    "  GROUP BY a.customer_id, b.customer_id) "
    "SELECT a_id::text, b_id::text, strength, matches FROM pairs "
    "WHERE $3::int < 0 OR strength < $3::int OR (strength = $3::int AND "
    "  (a_id, b_id) > (NULLIF($4, '')::uuid, NULLIF($5, '')::uuid)) "
    "ORDER BY strength DESC, a_id, b_id LIMIT $6";

// Customer <side>.customer_id of a pair is visible: the store appends the visibility
// condition over "c" and a closing parenthesis.
#define TL_DUPLICATE_VISIBLE(side)                                                          \
  " AND EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = $1 AND c.customer_id = " side \
  ".customer_id AND "
inline constexpr char kDuplicateAVisible[] = TL_DUPLICATE_VISIBLE("a");
inline constexpr char kDuplicateBVisible[] = TL_DUPLICATE_VISIBLE("b");

// Every customer of every tenant after ($1, $2) in primary-key order, $3 at most, as another
// service's read model keeps it: its contact persons' ids (a JSON array, in order) and, while
// it is in state $4 (MERGED), the merge that folded it and was not undone, with both customers
// as they were before it; then its lifecycle status and tags (a JSON array). The first page
// starts after ('', the nil UUID), before every key.
inline constexpr char kListSnapshots[] =
    "SELECT c.tenant_id, c.customer_id::text, c.state, coalesce(c.merged_into::text, ''), "
    "c.owner_id, c.region, c.level, c.version, "
    "(SELECT coalesce(json_agg(coalesce(p.person ->> 'person_id', '') ORDER BY p.n), '[]')::text "
    "  FROM jsonb_array_elements(c.contact_persons) WITH ORDINALITY AS p(person, n)), "
    "coalesce(m.merge_id::text, ''), coalesce(m.survivor_before::text, ''), "
    "coalesce(m.merged_before::text, ''), c.lifecycle_status, array_to_json(c.tags)::text "
    "FROM customers c LEFT JOIN LATERAL (SELECT merge_id, survivor_before, merged_before "
    "  FROM merges WHERE c.state = $4 AND tenant_id = c.tenant_id AND merged_id = c.customer_id "
    "  AND unmerge_time IS NULL ORDER BY create_time DESC LIMIT 1) m ON TRUE "
    "WHERE (c.tenant_id, c.customer_id) > ($1, $2::uuid) "
    "ORDER BY c.tenant_id, c.customer_id LIMIT $3";

// Makes touchpoint $3, which occurred at $4 (micros), the source of the lifecycle status of
// customer ($1, $2), unless a touchpoint that occurred later (or at the same time, with a
// greater id) already is. A row comes back when it became the source.
inline constexpr char kClaimStatusSource[] =
    "INSERT INTO customer_status_sources AS s (tenant_id, customer_id, touchpoint_id, "
    "occurred_at) VALUES ($1, $2::uuid, $3::uuid, " TL_MICROS(4) ") "
    "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET touchpoint_id = EXCLUDED.touchpoint_id, "
    "occurred_at = EXCLUDED.occurred_at "
    "WHERE (s.occurred_at, s.touchpoint_id) <= (EXCLUDED.occurred_at, EXCLUDED.touchpoint_id) "
    "RETURNING 1";

}  // namespace touchline::contacts::sql

#undef TL_CUSTOMER_COLUMNS
#undef TL_MERGE_COLUMNS
#undef TL_MICROS
#undef TL_DUPLICATE_VISIBLE

#endif  // TOUCHLINE_SERVICES_CONTACTS_SQL_H_
