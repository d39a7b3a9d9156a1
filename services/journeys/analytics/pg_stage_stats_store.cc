#include <algorithm>
#include <array>
#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/enforcement/shares_read_model.h"
#include "common/status/macros.h"
#include "services/journeys/analytics/sql.h"
#include "services/journeys/analytics/stage_stats_store.h"
#include "services/journeys/state/visit_rows.h"

namespace touchline::journeys::analytics {
namespace {

// $1 to $7: tenant, journey, version, the entry-day range and its whole months (sql.h); the
// members' statement (kMembersFiled) takes the first five.
constexpr int kBaseParams = 7;
constexpr int kMemberParams = 5;

std::string DayParam(const std::optional<absl::CivilDay>& day, const char* open) {
  return day ? absl::FormatCivilTime(*day) : open;
}

std::vector<std::string> BaseParams(const TotalsQuery& query) {
  // The whole months of [from, before): from the first month that begins on or after `from` to
  // the month of `before`.
  std::optional<absl::CivilDay> months_from, months_before;
  if (query.from_day) {
    const absl::CivilMonth month(*query.from_day);
    months_from = absl::CivilDay(absl::CivilDay(month) == *query.from_day ? month : month + 1);
  }
  if (query.before_day) months_before = absl::CivilDay(absl::CivilMonth(*query.before_day));
  return {query.tenant_id,
          query.journey_id,
          absl::StrCat(query.version),
          DayParam(query.from_day, "-infinity"),
          DayParam(query.before_day, "infinity"),
          DayParam(months_from, "-infinity"),
          DayParam(months_before, "infinity")};
}

absl::CivilDay ParseDay(const pqxx::field& field) {
  absl::CivilDay day;
  absl::ParseCivilTime(field.c_str(), &day);
  return day;
}

// Parses the counts `text` (joined by commas) into `counts`.
template <size_t N>
absl::Status ParseCounts(const char* text, std::array<int64_t, N>& counts) {
  size_t i = 0;
  for (absl::string_view count : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    if (i < N && !absl::SimpleAtoi(count, &counts[i++])) {
      return absl::InternalError("a stage analytics array does not parse");
    }
  }
  return absl::OkStatus();
}

// "concat_ws(',', sum(s.<column>[1]), ..., sum(s.<column>[n]))".
std::string ElementSums(absl::string_view column, int n) {
  std::string sql = "concat_ws(','";
  for (int i = 1; i <= n; ++i) absl::StrAppend(&sql, ", sum(s.", column, "[", i, "])");
  return sql + ")";
}

// kSumStatsFrom with its element-wise sums.
const std::string& SumStatsFrom() {
  static const std::string* const kSql = new std::string(absl::StrReplaceAll(
      sql::kSumStatsFrom, {{"%H", ElementSums("exit_histogram", kHistogramBuckets)},
                           {"%S", ElementSums("sentiments", kSentiments)},
                           {"%E", ElementSums("emotions", kEmotionLabels)}}));
  return *kSql;
}

// The rows of one detail a scope sums: the condition (over s) on its rows and its params.
struct Part {
  Detail detail;
  std::string condition;
  std::vector<std::string> params;
};

// The query's rows of `table` at `part`'s detail under its condition and `extra` (" AND ..."
// or empty), as the subquery s: the month rows of its whole months and the day rows of the
// rest.
std::string RollupRows(absl::string_view table, const Part& part, absl::string_view extra) {
  const std::string where =
      absl::StrCat(sql::kDetailRows[static_cast<int>(part.detail)],
                   part.condition.empty() ? "" : " AND ", part.condition, extra);
  return absl::StrCat("(SELECT * FROM ", table, " s", sql::kMonthRows, where,
                      " UNION ALL SELECT * FROM ", table, " s", sql::kDayRows, where, ") s");
}

// Adds the sums of `part`.
absl::Status AddAggregates(pqxx::transaction_base& txn, const TotalsQuery& query, const Part& part,
                           TotalsByStage& totals) {
  std::vector<std::string> params = BaseParams(query);
  params.insert(params.end(), part.params.begin(), part.params.end());
  const auto bound = pqxx::prepare::make_dynamic_params(params);
  for (const pqxx::row& row : txn.exec_params(
           absl::StrCat(SumStatsFrom(), RollupRows("stage_stats", part, ""), sql::kSumStatsGroup),
           bound)) {
    StageContribution sums{.reached = row[2].as<int64_t>(),
                           .current = row[3].as<int64_t>(),
                           .exits = row[4].as<int64_t>(),
                           .exit_seconds = row[5].as<double>(),
                           .touchpoints = row[7].as<int64_t>()};
    TL_RETURN_IF_ERROR(ParseCounts(row[6].c_str(), sums.histogram));
    TL_RETURN_IF_ERROR(ParseCounts(row[8].c_str(), sums.sentiments));
    TL_RETURN_IF_ERROR(ParseCounts(row[9].c_str(), sums.emotions));
    AddFigures(totals[{row[0].as<int>(), row[1].as<std::string>()}].figures, sums);
  }
  if (query.current_since_after) {
    // Our own date, quoted: the params are shared with the statements that have no such day.
    const std::string recent =
        absl::StrCat(" AND s.stage_enter_day > ",
                     txn.quote(absl::FormatCivilTime(*query.current_since_after)), "::date");
    for (const pqxx::row& row : txn.exec_params(
             absl::StrCat(sql::kSumCurrentFrom, RollupRows("stage_current", part, recent),
                          sql::kSumCurrentGroup),
             bound)) {
      totals[{row[0].as<int>(), row[1].as<std::string>()}].current_since[ParseDay(row[2])] +=
          row[3].as<int64_t>();
    }
  }
  for (const pqxx::row& row : txn.exec_params(
           absl::StrCat(
               absl::StrReplaceAll(sql::kSumPathsFrom, {{"%N", absl::StrCat(query.path_length)}}),
               RollupRows("stage_paths", part, ""), sql::kSumPathsGroup),
           bound)) {
    ChannelPath path;
    for (absl::string_view channel : absl::StrSplit(row[2].c_str(), ',', absl::SkipEmpty())) {
      if (!absl::SimpleAtoi(channel, &path.emplace_back())) {
        return absl::InternalError("a stage path does not parse");
      }
    }
    totals[{row[0].as<int>(), row[1].as<std::string>()}].paths[path] += row[3].as<int64_t>();
  }
  return absl::OkStatus();
}

// Adds the contributions filed by the members whose customers the scope sees only through
// shares (`visible` and not `by_attributes`, both over c).
absl::Status AddSharedMembers(pqxx::transaction_base& txn, const TotalsQuery& query,
                              TotalsByStage& totals) {
  std::vector<std::string> params = BaseParams(query);
  params.resize(kMemberParams);  // kMembersFiled has no months
  const auth::SqlCondition visible = query.scope->SqlVisibility(
      auth::Access::kRead, "c", enforcement::kSharesTable, kMemberParams + 1);
  params.insert(params.end(), visible.params.begin(), visible.params.end());
  const auth::Scope::AttributeVisibility by_attributes = query.scope->SqlAttributeVisibility(
      auth::Access::kRead, "c", static_cast<int>(params.size()) + 1);
  params.insert(params.end(), by_attributes.territory.params.begin(),
                by_attributes.territory.params.end());
  params.insert(params.end(), by_attributes.owners.params.begin(),
                by_attributes.owners.params.end());
  const std::string sql =
      absl::StrCat(sql::kMembersFiled, " AND (", visible.sql, ") AND (",
                   by_attributes.territory.sql, " OR ", by_attributes.owners.sql, ") IS NOT TRUE");
  for (const pqxx::row& row : txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
    const int version = row[1].as<int>();
    Contribution c;
    if (row[2].is_null()) {  // filed before migration 0003: its visits
      std::vector<Visit> visits;
      for (const pqxx::row& visit : txn.exec_params(journeys::sql::kVisits, query.tenant_id,
                                                    row[0].as<std::string>(), query.journey_id)) {
        visits.push_back(VisitFromRow(visit));
      }
      c = ContributionOf(visits);
    } else {
      internal::Contribution filed;
      if (!ParseBody(row[2], filed))
        return absl::InternalError("a filed contribution does not parse");
      c = FromProto(filed);
    }
    for (const auto& [stage, figures] : c.stages) {
      AddFigures(totals[{version, stage}].figures, figures);
    }
    if (!c.current_stage.empty())
      ++totals[{version, c.current_stage}].current_since[c.current_since];
    for (const auto& [stage, path] : c.paths) {
      const size_t keep = std::min<size_t>(path.size(), query.path_length);
      ++totals[{version, stage}].paths[ChannelPath(path.end() - keep, path.end())];
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::Journey>> PgStageStatsStore::Versions(
    const std::string& tenant_id, const std::string& journey_id) {
  std::vector<v1::Journey> versions;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    for (const pqxx::row& row : txn.exec_params(sql::kJourneyVersions, tenant_id, journey_id)) {
      if (!ParseBody(row[0], versions.emplace_back())) {
        return absl::InternalError("a journey version does not parse");
      }
    }
    return absl::OkStatus();
  }));
  return versions;
}

absl::StatusOr<TotalsByStage> PgStageStatsStore::Totals(const TotalsQuery& query) {
  TotalsByStage totals;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) {
    totals.clear();
    // One snapshot for every read, so the figures agree with each other.
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // Customers visible by their attributes are those of the territory (the region rows) and
    // those of the scope's owners outside it (the owner rows); the others are found by shares.
    const auth::Scope::AttributeVisibility visibility =
        query.scope->SqlAttributeVisibility(auth::Access::kRead, "s", kBaseParams + 1);
    const auth::SqlCondition& territory = visibility.territory;
    const auth::SqlCondition& owners = visibility.owners;
    if (territory.sql == "TRUE") {
      return AddAggregates(txn, query, Part{Detail::kTenant, "", {}}, totals);
    }
    if (territory.sql != "FALSE") {
      TL_RETURN_IF_ERROR(AddAggregates(
          txn, query, Part{Detail::kRegion, territory.sql, territory.params}, totals));
    }
    if (owners.sql != "FALSE") {
      Part part{Detail::kOwner, owners.sql, territory.params};
      if (territory.sql != "FALSE") absl::StrAppend(&part.condition, " AND NOT ", territory.sql);
      part.params.insert(part.params.end(), owners.params.begin(), owners.params.end());
      TL_RETURN_IF_ERROR(AddAggregates(txn, query, part, totals));
    }
    if (visibility.through_shares) TL_RETURN_IF_ERROR(AddSharedMembers(txn, query, totals));
    return absl::OkStatus();
  }));
  return totals;
}

}  // namespace touchline::journeys::analytics
