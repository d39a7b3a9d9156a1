#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

// Adds the sums of `table` (a stats table) and `current_table` under `condition` (over s).
absl::Status AddAggregates(pqxx::transaction_base& txn, const TotalsQuery& query, const char* table,
                           const char* current_table, const auth::SqlCondition& condition,
                           TotalsByStage& totals) {
  std::vector<std::string> params = BaseParams(query);
  params.insert(params.end(), condition.params.begin(), condition.params.end());
  const std::string where =
      condition.sql == "TRUE" ? "" : absl::StrCat(" AND (", condition.sql, ")");
  const auto bound = pqxx::prepare::make_dynamic_params(params);
  for (const pqxx::row& row : txn.exec_params(
           absl::StrCat(sql::kSumStatsFrom, table, sql::kSumStatsRange, where, sql::kSumStatsGroup),
           bound)) {
    StageContribution sums{.reached = row[2].as<int64_t>(),
                           .current = row[3].as<int64_t>(),
                           .exits = row[4].as<int64_t>(),
                           .exit_seconds = row[5].as<double>()};
    int i = 0;
    for (absl::string_view count : absl::StrSplit(row[6].c_str(), ',', absl::SkipEmpty())) {
      if (i < kHistogramBuckets && !absl::SimpleAtoi(count, &sums.histogram[i++])) {
        return absl::InternalError("a stage histogram does not parse");
      }
    }
    AddFigures(totals[{row[0].as<int>(), row[1].as<std::string>()}].figures, sums);
  }
  for (const pqxx::row& row :
       txn.exec_params(absl::StrCat(sql::kSumCurrentFrom, current_table, sql::kSumStatsRange, where,
                                    sql::kSumCurrentGroup),
                       bound)) {
    totals[{row[0].as<int>(), row[1].as<std::string>()}].current_since[ParseDay(row[2])] +=
        row[3].as<int64_t>();
  }
  return absl::OkStatus();
}

// Adds the contributions of the members whose customers the scope sees only through shares
// (`visible` and not `by_attributes`, both over c), from their visits.
void AddSharedMembers(pqxx::transaction_base& txn, const TotalsQuery& query,
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
  const std::string sql = absl::StrCat(sql::kMemberVisits, " AND (", visible.sql, ") AND (",
                                       by_attributes.sql, ") IS NOT TRUE", sql::kMemberVisitsOrder);
  std::string customer;
  int version = 0;
  std::vector<Visit> visits;
  const auto flush = [&] {
    if (visits.empty()) return;
    const Contribution c = ContributionOf(visits);
    for (const auto& [stage, figures] : c.stages)
      AddFigures(totals[{version, stage}].figures, figures);
    if (!c.current_stage.empty())
      ++totals[{version, c.current_stage}].current_since[c.current_since];
    visits.clear();
  };
  for (const pqxx::row& row : txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
    // Columns 0-9: the visit; 10: customer, 11: version.
    if (row[10].as<std::string>() != customer) {
      flush();
      customer = row[10].as<std::string>();
      version = row[11].as<int>();
    }
    visits.push_back(VisitFromRow(row));
  }
  flush();
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
      return AddAggregates(txn, query, "stage_stats_all", "stage_current_all", everyone, totals);
    }
    const auth::Scope::AttributeVisibility visibility =
        query.scope->SqlAttributeVisibility(auth::Access::kRead, "s", kBaseParams + 1);
    if (visibility.condition.sql != "FALSE") {
      TL_RETURN_IF_ERROR(
          AddAggregates(txn, query, "stage_stats", "stage_current", visibility.condition, totals));
    }
    if (visibility.through_shares) AddSharedMembers(txn, query, totals);
    return absl::OkStatus();
  }));
  return totals;
}

}  // namespace touchline::journeys::analytics
