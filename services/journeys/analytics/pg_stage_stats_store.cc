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

constexpr int kBaseParams = 5;

std::vector<std::string> BaseParams(const TotalsQuery& query) {
  return {query.tenant_id, query.journey_id, absl::StrCat(query.version),
          query.from_day ? absl::FormatCivilTime(*query.from_day) : "-infinity",
          query.before_day ? absl::FormatCivilTime(*query.before_day) : "infinity"};
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

// The tables of one kind of sums.
struct Tables {
  const char* stats;
  const char* current;
  const char* paths;
};
constexpr Tables kAllTables{"stage_stats_all", "stage_current_all", "stage_paths_all"};
constexpr Tables kKeyedTables{"stage_stats", "stage_current", "stage_paths"};

// Adds the sums of `tables` under `condition` (over s).
absl::Status AddAggregates(pqxx::transaction_base& txn, const TotalsQuery& query,
                           const Tables& tables, const auth::SqlCondition& condition,
                           TotalsByStage& totals) {
  std::vector<std::string> params = BaseParams(query);
  params.insert(params.end(), condition.params.begin(), condition.params.end());
  const std::string where =
      condition.sql == "TRUE" ? "" : absl::StrCat(" AND (", condition.sql, ")");
  const auto bound = pqxx::prepare::make_dynamic_params(params);
  for (const pqxx::row& row :
       txn.exec_params(absl::StrCat(SumStatsFrom(), tables.stats, sql::kSumStatsRange, where,
                                    sql::kSumStatsGroup),
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
  for (const pqxx::row& row :
       txn.exec_params(absl::StrCat(sql::kSumCurrentFrom, tables.current, sql::kSumStatsRange,
                                    where, sql::kSumCurrentGroup),
                       bound)) {
    totals[{row[0].as<int>(), row[1].as<std::string>()}].current_since[ParseDay(row[2])] +=
        row[3].as<int64_t>();
  }
  for (const pqxx::row& row : txn.exec_params(
           absl::StrCat(
               absl::StrReplaceAll(sql::kSumPathsFrom, {{"%N", absl::StrCat(query.path_length)}}),
               tables.paths, sql::kSumStatsRange, where, sql::kSumPathsGroup),
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
  const auth::SqlCondition visible = query.scope->SqlVisibility(
      auth::Access::kRead, "c", enforcement::kSharesTable, kBaseParams + 1);
  params.insert(params.end(), visible.params.begin(), visible.params.end());
  const auth::SqlCondition by_attributes =
      query.scope
          ->SqlAttributeVisibility(auth::Access::kRead, "c", static_cast<int>(params.size()) + 1)
          .condition;
  params.insert(params.end(), by_attributes.params.begin(), by_attributes.params.end());
  const std::string sql = absl::StrCat(sql::kMembersFiled, " AND (", visible.sql, ") AND (",
                                       by_attributes.sql, ") IS NOT TRUE");
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
    const auth::SqlCondition everyone = query.scope->SqlVisibility(
        auth::Access::kRead, "c", enforcement::kSharesTable, kBaseParams + 1);
    if (everyone.sql == "TRUE") {
      return AddAggregates(txn, query, kAllTables, everyone, totals);
    }
    const auth::Scope::AttributeVisibility visibility =
        query.scope->SqlAttributeVisibility(auth::Access::kRead, "s", kBaseParams + 1);
    if (visibility.condition.sql != "FALSE") {
      TL_RETURN_IF_ERROR(AddAggregates(txn, query, kKeyedTables, visibility.condition, totals));
    }
    if (visibility.through_shares) TL_RETURN_IF_ERROR(AddSharedMembers(txn, query, totals));
    return absl::OkStatus();
  }));
  return totals;
}

}  // namespace touchline::journeys::analytics
