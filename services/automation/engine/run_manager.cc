#include "services/automation/engine/run_manager.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"
#include "services/automation/rules/run_fields.h"

namespace touchline::automation {
namespace {

using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;

// Dead jobs read per round while looking for one rule's dead letters.
constexpr int kDeadScanBatch = 200;
// Rounds of one ListDeadLetters call; the page ends early (with a token) after them.
constexpr int kDeadScanRounds = 10;

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > kMaxRunPageSize) {
    return status::InvalidArgument("page_size",
                                   absl::StrCat("must be between 0 and ", kMaxRunPageSize));
  }
  return requested == 0 ? kDefaultRunPageSize : requested;
}

// The (time, id) a page token holds: {"t": Unix micros, "i": a UUID}.
absl::StatusOr<std::pair<absl::Time, std::string>> Cursor(const paging::PageTokens& tokens,
                                                          const std::string& token,
                                                          const std::string& hash) {
  TL_ASSIGN_OR_RETURN(const json cursor, tokens.Decode(token, hash));
  if (!cursor.is_object() || !cursor.contains("t") || !cursor["t"].is_number_integer() ||
      !cursor.contains("i") || !cursor["i"].is_string() ||
      !ids::IsUuid(cursor["i"].get<std::string>())) {
    return status::InvalidArgument("page_token", "is not a token this query returned");
  }
  return std::make_pair(absl::FromUnixMicros(cursor["t"].get<int64_t>()),
                        cursor["i"].get<std::string>());
}

std::string Token(const paging::PageTokens& tokens, absl::Time t, const std::string& id,
                  const std::string& hash) {
  return tokens.Encode(json{{"t", absl::ToUnixMicros(t)}, {"i", id}}, hash);
}

absl::Status CheckId(const std::string& id, const std::string& path) {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  if (checker.Required(!id.empty(), path)) checker.Uuid(id, path);
  return violations.ToStatus();
}

// `run` as the caller may see it: the values it saw through the caller's field policies.
void ShowRunTo(const auth::RequestContext& caller, v1::RuleRun& run) {
  const auth::Scope& scope = *caller.scope;
  SetTriggerEventValues(ShownTo(scope, TriggerEventValues(run.trigger())), *run.mutable_trigger());
  for (v1::ComparisonResult& result : *run.mutable_comparisons()) ShowTo(scope, result);
}

}  // namespace

absl::StatusOr<v1::ListRuleRunsResponse> RunManager::ListRuleRuns(
    const auth::RequestContext& caller, const v1::ListRuleRunsRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckId(request.rule_id(), "rule_id"));
  if (!request.customer_id().empty())
    TL_RETURN_IF_ERROR(CheckId(request.customer_id(), "customer_id"));
  if (!v1::RunState_IsValid(request.state())) {
    return status::InvalidArgument("state", "must be a RunState value");
  }
  TL_ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  Engine::RunQuery query{.tenant_id = caller.tenant_id,
                         .rule_id = absl::AsciiStrToLower(request.rule_id()),
                         .state = request.state(),
                         .customer_id = absl::AsciiStrToLower(request.customer_id()),
                         .after = std::nullopt,
                         .limit = page_size + 1};
  const std::string hash =
      paging::QueryHash(absl::StrCat("rule_runs\n", caller.tenant_id, "\n", query.rule_id, "\n",
                                     query.state, "\n", query.customer_id));
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(query.after, Cursor(*page_tokens_, request.page_token(), hash));
  }
  TL_ASSIGN_OR_RETURN(std::vector<v1::RuleRun> runs, engine_->ListRuns(query));
  v1::ListRuleRunsResponse response;
  for (size_t i = 0; i < runs.size() && i < static_cast<size_t>(page_size); ++i) {
    ShowRunTo(caller, runs[i]);
    *response.add_runs() = std::move(runs[i]);
  }
  if (runs.size() > static_cast<size_t>(page_size)) {
    const v1::RuleRun& last = response.runs(page_size - 1);
    const absl::Time created = absl::FromUnixSeconds(last.create_time().seconds()) +
                               absl::Nanoseconds(last.create_time().nanos());
    response.set_next_page_token(Token(*page_tokens_, created, last.run_id(), hash));
  }
  return response;
}

absl::StatusOr<v1::GetRuleRunResponse> RunManager::GetRuleRun(
    const auth::RequestContext& caller, const v1::GetRuleRunRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckId(request.run_id(), "run_id"));
  v1::GetRuleRunResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_run(),
                      engine_->GetRun(caller.tenant_id, absl::AsciiStrToLower(request.run_id())));
  ShowRunTo(caller, *response.mutable_run());
  return response;
}

absl::StatusOr<v1::ListDeadLettersResponse> RunManager::ListDeadLetters(
    const auth::RequestContext& caller, const v1::ListDeadLettersRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.rule_id().empty()) TL_RETURN_IF_ERROR(CheckId(request.rule_id(), "rule_id"));
  TL_ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  const std::string rule_id = absl::AsciiStrToLower(request.rule_id());
  const std::string hash =
      paging::QueryHash(absl::StrCat("dead_letters\n", caller.tenant_id, "\n", rule_id));
  std::optional<DeadCursor> after;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const auto cursor, Cursor(*page_tokens_, request.page_token(), hash));
    after = DeadCursor{cursor.first, cursor.second};
  }
  v1::ListDeadLettersResponse response;
  // Dead jobs the latest first, kept when they are the rule's, until the page is full.
  for (int round = 0; round < kDeadScanRounds; ++round) {
    TL_ASSIGN_OR_RETURN(const std::vector<Job> jobs,
                        engine_->jobs().ListDead(caller.tenant_id, kDeadScanBatch, after));
    for (const Job& job : jobs) {
      if (response.dead_letters_size() == page_size) {
        response.set_next_page_token(Token(*page_tokens_, after->finish_time, after->job_id, hash));
        return response;
      }
      after = DeadCursor{job.finish_time, job.job_id};
      absl::StatusOr<v1::DeadLetter> letter = engine_->DeadLetterOf(job);
      if (absl::IsNotFound(letter.status())) continue;  // not an action's
      if (!letter.ok()) return letter.status();
      if (rule_id.empty() || letter->rule_id() == rule_id) {
        *response.add_dead_letters() = *std::move(letter);
      }
    }
    if (static_cast<int>(jobs.size()) < kDeadScanBatch) return response;
  }
  // Scanned as far as one call goes: the next page goes on from here.
  response.set_next_page_token(Token(*page_tokens_, after->finish_time, after->job_id, hash));
  return response;
}

absl::StatusOr<v1::RedriveDeadLetterResponse> RunManager::RedriveDeadLetter(
    const auth::RequestContext& caller, const v1::RedriveDeadLetterRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckId(request.dead_letter_id(), "dead_letter_id"));
  v1::RedriveDeadLetterResponse response;
  TL_ASSIGN_OR_RETURN(
      *response.mutable_run(),
      engine_->Redrive(caller.tenant_id, absl::AsciiStrToLower(request.dead_letter_id())));
  ShowRunTo(caller, *response.mutable_run());
  return response;
}

absl::StatusOr<v1::DiscardDeadLetterResponse> RunManager::DiscardDeadLetter(
    const auth::RequestContext& caller, const v1::DiscardDeadLetterRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckId(request.dead_letter_id(), "dead_letter_id"));
  v1::DiscardDeadLetterResponse response;
  TL_ASSIGN_OR_RETURN(
      *response.mutable_run(),
      engine_->Discard(caller.tenant_id, absl::AsciiStrToLower(request.dead_letter_id())));
  ShowRunTo(caller, *response.mutable_run());
  return response;
}

}  // namespace touchline::automation
