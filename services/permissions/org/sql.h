// The SQL of PgOrgStore: named statements with explicit columns and $n parameters over the
// tables of migrations/0001_org.sql (and users of 0002_identity.sql, read only). Times travel
// as bigint Unix microseconds.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_SQL_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_SQL_H_

namespace touchline::permissions::org_sql {

// clang-format off
// Parameter $n, Unix microseconds, as a timestamptz.
#define TL_MICROS(n) "(timestamptz 'epoch' + $" #n " * interval '1 microsecond')"
// A timestamptz column as Unix microseconds.
#define TL_READ_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// --- roles ---

#define TL_ROLE_COLUMNS \
  "role_id, display_name, rank, data_scope, permissions::text[], " \
  TL_READ_MICROS("create_time") ", " TL_READ_MICROS("update_time")

constexpr char kInsertRole[] =
    "INSERT INTO roles (tenant_id, role_id, display_name, rank, data_scope, "
    "permissions, create_time, update_time) VALUES ($1, $2, $3, $4, $5, "
    "$6::smallint[], " TL_MICROS(7) ", " TL_MICROS(7) ") "
    "ON CONFLICT (tenant_id, role_id) DO NOTHING RETURNING 1";
constexpr char kSelectRole[] =
    "SELECT " TL_ROLE_COLUMNS " FROM roles WHERE tenant_id = $1 AND role_id = $2";
constexpr char kSelectRoleForUpdate[] =
    "SELECT " TL_ROLE_COLUMNS " FROM roles WHERE tenant_id = $1 AND role_id = $2 FOR UPDATE";
constexpr char kListRoles[] =
    "SELECT " TL_ROLE_COLUMNS " FROM roles WHERE tenant_id = $1 ORDER BY role_id";
constexpr char kUpdateRole[] =
    "UPDATE roles SET display_name = $3, rank = $4, data_scope = $5, "
    "permissions = $6::smallint[], update_time = " TL_MICROS(7) " "
    "WHERE tenant_id = $1 AND role_id = $2";

// --- partner organisations ---

constexpr char kInsertPartnerOrg[] =
    "INSERT INTO partner_orgs (tenant_id, partner_org_id, display_name, "
    "create_time) VALUES ($1, $2, $3, " TL_MICROS(4) ") "
    "ON CONFLICT (tenant_id, partner_org_id) DO NOTHING RETURNING 1";
constexpr char kPartnerOrgExists[] =
    "SELECT 1 FROM partner_orgs WHERE tenant_id = $1 AND partner_org_id = $2";
constexpr char kListPartnerOrgs[] =
    "SELECT partner_org_id, display_name FROM partner_orgs WHERE tenant_id = $1 "
    "ORDER BY partner_org_id";

// --- territories and teams ---

// Territories and teams (alias g) with their members, sorted by user id.
#define TL_TERRITORY_COLUMNS \
  "g.territory_id, g.display_name, g.regions, ARRAY(SELECT m.user_id::text FROM " \
  "territory_members m WHERE m.tenant_id = g.tenant_id AND m.territory_id = g.territory_id " \
  "ORDER BY m.user_id)"
#define TL_TEAM_COLUMNS \
  "g.team_id, g.display_name, ARRAY(SELECT m.user_id::text FROM team_members m " \
  "WHERE m.tenant_id = g.tenant_id AND m.team_id = g.team_id ORDER BY m.user_id)"

constexpr char kInsertTerritory[] =
    "INSERT INTO territories (tenant_id, territory_id, display_name, regions, "
    "create_time, update_time) VALUES ($1, $2, $3, $4::text[], " TL_MICROS(5) ", " TL_MICROS(5)
    ") ON CONFLICT (tenant_id, territory_id) DO NOTHING RETURNING 1";
constexpr char kSelectTerritory[] =
    "SELECT " TL_TERRITORY_COLUMNS " FROM territories g WHERE g.tenant_id = $1 "
    "AND g.territory_id = $2";
constexpr char kSelectTerritoryForUpdate[] =
    "SELECT " TL_TERRITORY_COLUMNS " FROM territories g WHERE g.tenant_id = $1 "
    "AND g.territory_id = $2 FOR UPDATE";
constexpr char kListTerritories[] =
    "SELECT " TL_TERRITORY_COLUMNS " FROM territories g WHERE g.tenant_id = $1 "
    "ORDER BY g.territory_id";
constexpr char kUpdateTerritory[] =
    "UPDATE territories SET display_name = $3, regions = $4::text[], "
    "update_time = " TL_MICROS(5) " WHERE tenant_id = $1 AND territory_id = $2";
constexpr char kDeleteTerritoryMembers[] =
    "DELETE FROM territory_members WHERE tenant_id = $1 AND territory_id = $2";
constexpr char kInsertTerritoryMembers[] =
    "INSERT INTO territory_members (tenant_id, territory_id, user_id) "
    "SELECT $1, $2, u FROM unnest($3::uuid[]) u";

constexpr char kInsertTeam[] =
    "INSERT INTO teams (tenant_id, team_id, display_name, create_time, "
    "update_time) VALUES ($1, $2, $3, " TL_MICROS(4) ", " TL_MICROS(4) ") "
    "ON CONFLICT (tenant_id, team_id) DO NOTHING RETURNING 1";
constexpr char kSelectTeam[] =
    "SELECT " TL_TEAM_COLUMNS " FROM teams g WHERE g.tenant_id = $1 AND g.team_id = $2";
constexpr char kSelectTeamForUpdate[] =
    "SELECT " TL_TEAM_COLUMNS " FROM teams g WHERE g.tenant_id = $1 AND g.team_id = $2 "
    "FOR UPDATE";
constexpr char kListTeams[] =
    "SELECT " TL_TEAM_COLUMNS " FROM teams g WHERE g.tenant_id = $1 ORDER BY g.team_id";
constexpr char kUpdateTeam[] =
    "UPDATE teams SET display_name = $3, update_time = " TL_MICROS(4) " "
    "WHERE tenant_id = $1 AND team_id = $2";
constexpr char kDeleteTeamMembers[] =
    "DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2";
constexpr char kInsertTeamMembers[] =
    "INSERT INTO team_members (tenant_id, team_id, user_id) "
    "SELECT $1, $2, u FROM unnest($3::uuid[]) u";

// --- users, read for the organisation's rules ---

constexpr char kPartnerOrgsOfUsers[] =
    "SELECT user_id::text, coalesce(partner_org_id, '') FROM users "
    "WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])";
constexpr char kCountRoleHolders[] =
    "SELECT count(*) FILTER (WHERE partner_org_id IS NULL), "
    "count(*) FILTER (WHERE partner_org_id IS NOT NULL) "
    "FROM users WHERE tenant_id = $1 AND role_id = $2";
// The user and everyone below them. Each user has one manager, so a user is reached once;
// CYCLE stops the walk should a cycle ever be stored.
constexpr char kUserAndReports[] =
    "WITH RECURSIVE reports(user_id, depth) AS ("
    "  SELECT $2::uuid, 0"
    "  UNION ALL"
    "  SELECT u.user_id, r.depth + 1 FROM users u JOIN reports r"
    "    ON u.tenant_id = $1 AND u.manager_id = r.user_id"
    ") CYCLE user_id SET is_cycle USING path "
    "SELECT user_id::text FROM reports WHERE NOT is_cycle "
    "GROUP BY user_id ORDER BY min(depth), user_id";
constexpr char kRegionsOfMember[] =
    "SELECT DISTINCT region FROM territory_members m "
    "JOIN territories t ON t.tenant_id = m.tenant_id AND t.territory_id = m.territory_id, "
    "unnest(t.regions) region "
    "WHERE m.tenant_id = $1 AND m.user_id = $2::uuid ORDER BY region";
constexpr char kTeamsOfMember[] =
    "SELECT team_id FROM team_members WHERE tenant_id = $1 AND user_id = $2::uuid "
    "ORDER BY team_id";

// --- field policies ---

constexpr char kUpsertFieldPolicy[] =
    "INSERT INTO field_policies (tenant_id, role_id, resource, field_path, access, mask) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, role_id, resource, field_path) "
    "DO UPDATE SET access = EXCLUDED.access, mask = EXCLUDED.mask";
constexpr char kDeleteFieldPolicy[] =
    "DELETE FROM field_policies WHERE tenant_id = $1 AND role_id = $2 "
    "AND resource = $3 AND field_path = $4 RETURNING 1";
// Every role's policies when $2 is empty.
constexpr char kListFieldPolicies[] =
    "SELECT role_id, resource, field_path, access, mask FROM field_policies "
    "WHERE tenant_id = $1 AND ($2 = '' OR role_id = $2) ORDER BY role_id, resource, field_path";

// --- customer shares ---

constexpr char kUpsertShare[] =
    "INSERT INTO customer_shares (tenant_id, customer_id, grantee, edit, "
    "granted_by, create_time) VALUES ($1, $2::uuid, $3, $4, $5, " TL_MICROS(6) ") "
    "ON CONFLICT (tenant_id, customer_id, grantee) DO UPDATE SET edit = EXCLUDED.edit";
constexpr char kDeleteShare[] =
    "DELETE FROM customer_shares WHERE tenant_id = $1 AND "
    "customer_id = $2::uuid AND grantee = $3 RETURNING 1";
constexpr char kListShares[] =
    "SELECT customer_id::text, grantee, edit, granted_by, " TL_READ_MICROS("create_time") " "
    "FROM customer_shares WHERE tenant_id = $1 AND customer_id = $2::uuid ORDER BY grantee";
constexpr char kBumpShareVersion[] =
    "INSERT INTO customer_share_versions (tenant_id, customer_id, version) "
    "VALUES ($1, $2::uuid, 1) ON CONFLICT (tenant_id, customer_id) DO UPDATE "
    "SET version = customer_share_versions.version + 1 RETURNING version";

#undef TL_MICROS
#undef TL_READ_MICROS
#undef TL_ROLE_COLUMNS
#undef TL_TERRITORY_COLUMNS
#undef TL_TEAM_COLUMNS
// clang-format on

}  // namespace touchline::permissions::org_sql

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_SQL_H_
