#include "services/automation/engine/engine.h"

#include <algorithm>
#include <map>
#include <pqxx/binarystring>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/events/consumer.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/pg/array.h"
#include "common/pg/errors.h"
#include "services/automation/engine/engine.pb.h"
#include "services/automation/engine/sql.h"
#include "services/automation/rules/conditions.h"
#include "services/automation/rules/run_fields.h"
#include "services/automation/schedule/cron.h"
#include "services/automation/tasks/task_change.h"

namespace touchline::automation {
namespace {

constexpr char kRunJob[] = "run";
constexpr char kActionJob[] = "action";
// The nil UUID: the start of a cursor.
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Time Micros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

// The values of a run: the trigger's, with the customer's as the read model has them now.
FieldValues RunValues(const v1::TriggerEvent& trigger, const customers::CustomerRow& customer) {
  FieldValues values = TriggerEventValues(trigger);
  // The read model's fields as it has them now: one it no longer has a value for (a tag list
  // emptied, say) is gone.
  for (const char* name : {"customer.level", "customer.lifecycle_status", "customer.region",
                           "customer.owner_id", "customer.tags"}) {
    values.erase(name);
  }
  for (auto& [name, value] : CustomerRowValues(customer)) values[name] = std::move(value);
  return values;
}

// "<action_id>" or, for a step of a sequence, "<action_id>/<step's action_id>": the label of
// its entry in RuleRun.actions and the end of its job key.
std::string StepLabel(const v1::Rule& rule, int index, int step) {
  const v1::Action& action = rule.actions(index);
  if (step < 0) return action.action_id();
  return absl::StrCat(action.action_id(), "/",
                      action.start_sequence().steps(step).action().action_id());
}

std::string ActionKey(const v1::RuleRun& run, const std::string& label) {
  return absl::StrCat("act/", run.rule_id(), "/", run.rule_version(), "/", run.trigger().event_id(),
                      "/", label);
}

v1::ActionRun* FindActionRun(v1::RuleRun& run, const std::string& label) {
  for (v1::ActionRun& entry : *run.mutable_actions()) {
    if (entry.action_id() == label) return &entry;
  }
  return nullptr;
}

// The state of a run from its actions': FAILED with a dead letter, RUNNING while any is
// pending, SUCCEEDED otherwise.
v1::RunState StateOf(const v1::RuleRun& run) {
  bool pending = false;
  for (const v1::ActionRun& entry : run.actions()) {
    if (entry.state() == v1::ACTION_STATE_DEAD_LETTERED) return v1::RUN_STATE_FAILED;
    if (entry.state() == v1::ACTION_STATE_PENDING) pending = true;
  }
  return pending ? v1::RUN_STATE_RUNNING : v1::RUN_STATE_SUCCEEDED;
}

// Why the customer of `run` leaves `sequence` before its next step: it replied (an inbound
// touchpoint after the run began) or reached the exit lifecycle status; "" when it stays.
std::string SequenceExit(pqxx::transaction_base& txn, const std::string& tenant_id,
                         const v1::RuleRun& run, const v1::StartSequenceAction& sequence) {
  const std::string& customer_id = run.trigger().customer_id();
  if (sequence.exit_on_reply()) {
    const pqxx::result activity =
        txn.exec_params(engine_sql::kSelectActivity, tenant_id, customer_id);
    if (!activity.empty() && !activity[0][1].is_null() &&
        absl::FromUnixMicros(activity[0][1].as<int64_t>()) > FromProtoTime(run.create_time())) {
      return "the customer replied";
    }
  }
  if (!sequence.exit_on_lifecycle_status().empty()) {
    const std::optional<customers::CustomerRow> row =
        customers::FindCustomer(txn, tenant_id, customer_id);
    if (row.has_value() && contacts::v1::LifecycleStatus_Name(row->lifecycle_status) ==
                               sequence.exit_on_lifecycle_status()) {
      return absl::StrCat("the customer became ", sequence.exit_on_lifecycle_status());
    }
  }
  return "";
}

// Enqueues in `txn` the run of `rule` for `fact`, due at `due`: one job per rule version and
// cause.
absl::Status EnqueueRun(pqxx::work& txn, const std::string& tenant_id, const v1::Rule& rule,
                        const TriggerFact& fact, absl::Time due, absl::Time now) {
  internal::PendingRun pending;
  pending.set_rule_id(rule.rule_id());
  pending.set_rule_version(rule.version());
  pending.set_cause(fact.cause);
  pending.set_depth(fact.depth);
  v1::TriggerEvent& trigger = *pending.mutable_trigger();
  trigger.set_event_id(fact.cause);
  trigger.set_customer_id(fact.customer_id);
  *trigger.mutable_occur_time() = ToProtoTime(fact.occur_time);
  trigger.set_kind(std::string(TriggerKindName(fact.kind)));
  SetTriggerEventValues(fact.values, trigger);
  if (!fact.before.empty()) SetTriggerEventValues(fact.before, *pending.mutable_before());
  *pending.mutable_due_time() = ToProtoTime(due);
  absl::StatusOr<Enqueued> enqueued = JobQueue::Enqueue(
      txn,
      {.tenant_id = tenant_id,
       .key = absl::StrCat("run/", rule.rule_id(), "/", rule.version(), "/", fact.cause),
       .kind = kRunJob,
       .payload = pending.SerializeAsString(),
       .due_time = due},
      now);
  return enqueued.status();
}

// The fact of a timer (inactivity, schedule): `cause` for `customer_id`, fallen due at `time`.
TriggerFact TimerFact(v1::Trigger::KindCase kind, std::string cause, std::string customer_id,
                      absl::Time time) {
  TriggerFact fact;
  fact.kind = kind;
  fact.cause = std::move(cause);
  fact.customer_id = std::move(customer_id);
  fact.occur_time = time;
  return fact;
}

template <typename Message>
Message ParseBody(const pqxx::field& field) {
  Message message;
  message.ParseFromString(pqxx::binarystring(field).str());
  return message;
}

}  // namespace

namespace {

EngineOptions WithWorkerId(EngineOptions options) {
  if (options.worker_id.empty()) options.worker_id = events::ProcessConsumerName();
  return options;
}

}  // namespace

Engine::Engine(EngineParts parts, EngineOptions options)
    : parts_(std::move(parts)),
      options_(WithWorkerId(std::move(options))),
      jobs_(parts_.pool, parts_.clock),
      started_(parts_.clock()) {}

Engine::~Engine() { Stop(); }

std::shared_ptr<const std::vector<RunnableRule>> Engine::Runnable() {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (runnable_ != nullptr && now - runnable_time_ < options_.rules_max_age) return runnable_;
  }
  absl::StatusOr<std::vector<RunnableRule>> rules = parts_.rules->ListRunnable();
  absl::MutexLock lock(&mu_);
  if (rules.ok()) {
    runnable_ = std::make_shared<const std::vector<RunnableRule>>(*std::move(rules));
    runnable_time_ = now;
  } else {
    log::Warning("automation engine: cannot read the runnable rules",
                 {{"error", rules.status().ToString()}});
    if (runnable_ == nullptr) runnable_ = std::make_shared<const std::vector<RunnableRule>>();
  }
  return runnable_;
}

const RunnableRule* Engine::FindRunnable(const std::vector<RunnableRule>& rules,
                                         const std::string& tenant_id, const std::string& rule_id) {
  for (const RunnableRule& rule : rules) {
    if (rule.tenant_id == tenant_id && rule.rule.rule_id() == rule_id) return &rule;
  }
  return nullptr;
}

absl::StatusOr<v1::Rule> Engine::RuleVersion(const std::string& tenant_id,
                                             const std::string& rule_id, int version) {
  const std::string key = absl::StrCat(tenant_id, "/", rule_id, "/", version);
  {
    absl::MutexLock lock(&mu_);
    if (auto it = versions_.find(key); it != versions_.end()) return it->second;
  }
  absl::StatusOr<v1::Rule> rule = parts_.rules->Get(tenant_id, rule_id, version);
  if (!rule.ok() || rule->state() == v1::RULE_STATE_DRAFT) return rule;
  absl::MutexLock lock(&mu_);
  // Published versions never change (archiving changes only their state, which runs do not
  // read); a bound keeps the copy small.
  if (versions_.size() >= 10000) versions_.clear();
  versions_.emplace(key, *rule);
  return rule;
}

absl::Status Engine::StartRuns(pqxx::work& txn, const std::string& tenant_id,
                               const TriggerFact& fact) {
  const absl::Time now = Micros(parts_.clock());
  std::shared_ptr<const std::vector<RunnableRule>> rules = Runnable();
  for (const RunnableRule& runnable : *rules) {
    const v1::Rule& rule = runnable.rule;
    if (runnable.tenant_id != tenant_id || rule.paused() || !Matches(rule.trigger(), fact)) {
      continue;
    }
    // A delay counts from when the event was received, so a late event still waits it out.
    if (absl::Status status =
            EnqueueRun(txn, tenant_id, rule, fact, now + DurationOf(rule.trigger().delay()), now);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::ApplyTouchpoints(pqxx::work& txn,
                                      std::span<const events::v1::EventEnvelope* const> events) {
  // Per tenant and customer: the latest touch and the latest inbound touch (-1: none).
  std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>> touched;
  for (const events::v1::EventEnvelope* event : events) {
    absl::StatusOr<std::vector<TriggerFact>> facts = TouchpointFacts(*event);
    if (!facts.ok()) return facts.status();
    for (const TriggerFact& fact : *facts) {
      if (!ids::IsUuid(fact.customer_id)) continue;
      auto [it, added] = touched[event->tenant_id()].try_emplace(
          absl::AsciiStrToLower(fact.customer_id), std::make_pair(int64_t{-1}, int64_t{-1}));
      const int64_t micros = absl::ToUnixMicros(fact.occur_time);
      it->second.first = std::max(it->second.first, micros);
      if (fact.inbound) it->second.second = std::max(it->second.second, micros);
      if (absl::Status status = StartRuns(txn, event->tenant_id(), fact); !status.ok()) {
        return status;
      }
    }
  }
  for (const auto& [tenant_id, customers] : touched) {
    std::vector<std::string> ids;
    std::string touches = "{";
    std::string inbound = "{";
    for (const auto& [customer_id, times] : customers) {
      absl::StrAppend(&touches, ids.empty() ? "" : ",", times.first);
      absl::StrAppend(&inbound, ids.empty() ? "" : ",", times.second);
      ids.push_back(customer_id);
    }
    txn.exec_params(engine_sql::kTouch, tenant_id, pg::TextArrayLiteral(ids), touches + "}",
                    inbound + "}");
  }
  return absl::OkStatus();
}

absl::Status Engine::ApplyJourneys(pqxx::work& txn,
                                   std::span<const events::v1::EventEnvelope* const> events) {
  for (const events::v1::EventEnvelope* event : events) {
    absl::StatusOr<std::vector<TriggerFact>> facts = StageFacts(*event);
    if (!facts.ok()) return facts.status();
    for (const TriggerFact& fact : *facts) {
      if (absl::Status status = StartRuns(txn, event->tenant_id(), fact); !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::OnCustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                                       const customers::CustomerRow& after,
                                       const events::v1::EventEnvelope* cause) {
  if (before == nullptr) {
    const absl::Time since = cause != nullptr ? FromProtoTime(cause->occur_time()) : parts_.clock();
    txn.exec_params(engine_sql::kArm, after.tenant_id, after.customer_id,
                    absl::ToUnixMicros(since));
  }
  for (const TriggerFact& fact : CustomerChangeFacts(before, after, cause)) {
    if (absl::Status status = StartRuns(txn, after.tenant_id, fact); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Engine::FireInactivity() {
  const absl::Time now = Micros(parts_.clock());
  std::shared_ptr<const std::vector<RunnableRule>> rules = Runnable();
  int fired = 0;
  for (const RunnableRule& rule : *rules) {
    if (rule.rule.paused() || !rule.rule.trigger().has_inactivity()) continue;
    if (absl::Status status = FireInactivity(rule, now, &fired); !status.ok()) return status;
  }
  return fired;
}

absl::Status Engine::FireInactivity(const RunnableRule& runnable, absl::Time now, int* fired) {
  const v1::Rule& rule = runnable.rule;
  const absl::Duration after = DurationOf(rule.trigger().inactivity().after());
  const absl::Duration delay = DurationOf(rule.trigger().delay());
  bool more = true;
  while (more && !stopping_.load()) {
    absl::Status status = parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
      // Deadlines before the rule was first published were never armed for it.
      absl::Time cursor_time = FromProtoTime(rule.publish_time()) - after;
      std::string cursor_customer = kNilUuid;
      const pqxx::result cursor =
          txn.exec_params(engine_sql::kSelectCursor, runnable.tenant_id, rule.rule_id());
      if (!cursor.empty()) {
        cursor_time = absl::FromUnixMicros(cursor[0][0].as<int64_t>());
        cursor_customer = cursor[0][1].as<std::string>();
      }
      const pqxx::result due = txn.exec_params(
          engine_sql::kSelectDeadlines, runnable.tenant_id, absl::ToUnixMicros(cursor_time),
          cursor_customer, absl::ToUnixMicros(now - after), options_.inactivity_batch);
      more = static_cast<int>(due.size()) == options_.inactivity_batch;
      for (const pqxx::row& row : due) {
        const std::string customer_id = row[0].as<std::string>();
        const int64_t touch_micros = row[1].as<int64_t>();
        const absl::Time deadline = absl::FromUnixMicros(touch_micros) + after;
        const TriggerFact fact = TimerFact(
            v1::Trigger::kInactivity, absl::StrCat("inactivity/", customer_id, "/", touch_micros),
            customer_id, deadline);
        if (absl::Status status =
                EnqueueRun(txn, runnable.tenant_id, rule, fact, deadline + delay, now);
            !status.ok()) {
          return status;
        }
        cursor_time = absl::FromUnixMicros(touch_micros);
        cursor_customer = customer_id;
      }
      if (!due.empty()) {
        txn.exec_params(engine_sql::kUpsertCursor, runnable.tenant_id, rule.rule_id(),
                        absl::ToUnixMicros(cursor_time), cursor_customer);
      }
      *fired += static_cast<int>(due.size());
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Engine::FireSchedules() {
  const absl::Time now = Micros(parts_.clock());
  std::shared_ptr<const std::vector<RunnableRule>> rules = Runnable();
  int fired = 0;
  for (const RunnableRule& rule : *rules) {
    if (rule.rule.paused() || !rule.rule.trigger().has_schedule()) continue;
    if (absl::Status status = FireSchedule(rule, now, &fired); !status.ok()) return status;
  }
  return fired;
}

absl::Status Engine::FireSchedule(const RunnableRule& runnable, absl::Time now, int* fired) {
  const v1::Rule& rule = runnable.rule;
  const v1::Schedule& schedule = rule.trigger().schedule();
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron());
  if (!cron.ok()) return cron.status();
  absl::StatusOr<absl::TimeZone> zone = LoadZone(schedule.time_zone());
  if (!zone.ok()) return zone.status();
  const absl::Duration delay = DurationOf(rule.trigger().delay());
  bool more = true;
  while (more && !stopping_.load()) {
    absl::Status status = parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
      const pqxx::result cursor =
          txn.exec_params(engine_sql::kSelectScheduleCursor, runnable.tenant_id, rule.rule_id());
      absl::Time tick;
      std::string after = kNilUuid;
      if (!cursor.empty() && !cursor[0][1].is_null()) {
        // A firing cut short: on from its last customer.
        tick = absl::FromUnixMicros(cursor[0][0].as<int64_t>());
        after = cursor[0][1].as<std::string>();
      } else {
        tick = cron->Next(cursor.empty() ? FromProtoTime(rule.publish_time())
                                         : absl::FromUnixMicros(cursor[0][0].as<int64_t>()),
                          *zone);
        if (tick > now) {
          more = false;
          return absl::OkStatus();
        }
        // Times missed while the service was down fire once, for the latest of them.
        for (absl::Time next = cron->Next(tick, *zone); next <= now;
             next = cron->Next(tick, *zone)) {
          tick = next;
        }
      }
      const pqxx::result rows = txn.exec_params(
          engine_sql::kSelectActiveCustomers, runnable.tenant_id, after, options_.inactivity_batch);
      more = static_cast<int>(rows.size()) == options_.inactivity_batch;
      for (const pqxx::row& row : rows) {
        customers::CustomerRow customer;
        customer.customer_id = row[0].as<std::string>();
        customer.owner_id = row[1].as<std::string>();
        customer.region = row[2].as<std::string>();
        customer.level = row[3].as<int>();
        customer.lifecycle_status = static_cast<contacts::v1::LifecycleStatus>(row[4].as<int>());
        customer.tags = pg::ParseTextArray(row[5]);
        after = customer.customer_id;
        if (!Evaluate(rule.condition(), CustomerRowValues(customer), {}).holds) continue;
        const TriggerFact fact = TimerFact(
            v1::Trigger::kSchedule,
            absl::StrCat("schedule/", absl::ToUnixMicros(tick), "/", customer.customer_id),
            customer.customer_id, tick);
        if (absl::Status status =
                EnqueueRun(txn, runnable.tenant_id, rule, fact, tick + delay, now);
            !status.ok()) {
          return status;
        }
        ++*fired;
      }
      txn.exec_params(engine_sql::kUpsertScheduleCursor, runnable.tenant_id, rule.rule_id(),
                      absl::ToUnixMicros(tick),
                      more ? std::optional<std::string>(after) : std::nullopt);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Engine::RunDueJobs() {
  const absl::Time claim_time = Micros(parts_.clock());
  absl::StatusOr<std::vector<Job>> claimed =
      jobs_.Claim(options_.worker_id, options_.claim_batch, options_.lease);
  if (!claimed.ok()) return claimed.status();
  // The steps a worker goes on with hold the rest of the batch back: it stops going on once
  // half of the batch's lease is gone.
  const absl::Time continue_until = claim_time + options_.lease / 2;
  int ran = static_cast<int>(claimed->size());
  // The batch's runs first, recorded together; then each one's actions, and the other jobs.
  std::vector<PreparedRun> runs;
  std::vector<const Job*> others;
  for (const Job& job : *claimed) {
    if (job.kind != kRunJob) {
      others.push_back(&job);
      continue;
    }
    std::optional<PreparedRun> prepared;
    if (absl::Status status = PrepareRun(job, &prepared); !status.ok()) {
      // The lease runs out and the job is claimed again.
      log::Warning("automation engine: job failed",
                   {{"job", job.key}, {"error", status.ToString()}});
    }
    if (prepared.has_value()) runs.push_back(*std::move(prepared));
  }
  std::vector<std::optional<Continuation>> continued;
  if (!runs.empty()) continued = RecordRuns(std::move(runs), continue_until);
  for (std::optional<Continuation>& next : continued) ran += GoOn(std::move(next), continue_until);
  for (const Job* job : others) {
    std::optional<Continuation> next;
    absl::Status status =
        job->kind == kActionJob
            ? RunAction(*job, nullptr, continue_until, &next)
            : jobs_.DeadLetter(*job, absl::StrCat("unknown job kind ", job->kind));
    if (!status.ok()) {
      log::Warning("automation engine: job failed",
                   {{"job", job->key}, {"error", status.ToString()}});
    }
    ran += GoOn(std::move(next), continue_until);
  }
  return ran;
}

int Engine::GoOn(std::optional<Continuation> next, absl::Time continue_until) {
  int ran = 0;
  while (next.has_value()) {
    const Continuation step = *std::move(next);
    next.reset();
    if (options_.before_continuing && !options_.before_continuing(step.job)) break;
    ++ran;
    if (absl::Status status = RunAction(step.job, &step.run, continue_until, &next); !status.ok()) {
      // The lease runs out and the job is claimed again.
      log::Warning("automation engine: job failed",
                   {{"job", step.job.key}, {"error", status.ToString()}});
      break;
    }
  }
  return ran;
}

absl::Status Engine::EnqueueNext(pqxx::work& txn, const NewJob& job, const v1::RuleRun& run,
                                 absl::Time now, absl::Time continue_until,
                                 std::optional<Continuation>* next) {
  if (next == nullptr || next->has_value() || job.due_time > now || now >= continue_until ||
      stopping_.load()) {
    return JobQueue::Enqueue(txn, job, now).status();
  }
  absl::StatusOr<std::optional<Job>> claimed =
      JobQueue::EnqueueClaimed(txn, job, options_.worker_id, options_.lease, now);
  if (!claimed.ok()) return claimed.status();
  // Nothing claimed: the key's job was enqueued before and goes its own way.
  if (claimed->has_value()) *next = Continuation{**std::move(claimed), run};
  return absl::OkStatus();
}

absl::Status Engine::PrepareRun(const Job& job, std::optional<PreparedRun>* prepared) {
  internal::PendingRun pending;
  if (!pending.ParseFromString(job.payload)) {
    return jobs_.DeadLetter(job, "the run's payload does not parse");
  }
  const absl::Time now = Micros(parts_.clock());
  std::shared_ptr<const std::vector<RunnableRule>> rules = Runnable();
  const RunnableRule* runnable = FindRunnable(*rules, job.tenant_id, pending.rule_id());
  // Archived (or never published): nothing runs.
  if (runnable == nullptr) return jobs_.Complete(job);
  if (runnable->rule.paused()) return jobs_.Retry(job, now + absl::Seconds(10), "rule paused");
  absl::StatusOr<v1::Rule> rule =
      RuleVersion(job.tenant_id, pending.rule_id(), pending.rule_version());
  if (absl::IsNotFound(rule.status())) return jobs_.Complete(job);
  if (!rule.ok()) return jobs_.Retry(job, now + absl::Seconds(5), rule.status().ToString());
  const absl::Time due = FromProtoTime(pending.due_time());
  const bool misfired = (due >= runnable->paused_time && due < runnable->resume_time) ||
                        now - due > options_.misfire_grace;
  *prepared = PreparedRun{.job = job,
                          .customer_id = pending.trigger().customer_id(),
                          .rule = *std::move(rule),
                          .resume_time = runnable->resume_time,
                          .misfired = misfired};
  return absl::OkStatus();
}

std::vector<std::optional<Engine::Continuation>> Engine::RecordRuns(std::vector<PreparedRun> runs,
                                                                    absl::Time continue_until) {
  // Every worker takes the runs' locks (kLockCustomerRule) in the same order, so that two
  // batches never wait for each other.
  std::sort(runs.begin(), runs.end(), [](const PreparedRun& a, const PreparedRun& b) {
    return std::tie(a.job.tenant_id, a.rule.rule_id(), a.customer_id) <
           std::tie(b.job.tenant_id, b.rule.rule_id(), b.customer_id);
  });
  std::vector<std::optional<Continuation>> continued(runs.size());
  // Each run in a savepoint of its own: a run that fails is undone alone (its job returns when
  // the lease runs out) and the others commit, all with one commit.
  absl::Status status = parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
    const absl::Time now = Micros(parts_.clock());
    for (size_t i = 0; i < runs.size(); ++i) {
      continued[i].reset();  // from an attempt that was rolled back
      // SAVEPOINT statements rather than pqxx::subtransaction: libpqxx 6's leaves the
      // transaction aborted after a failed statement, and its COMMIT then rolls back silently.
      txn.exec(engine_sql::kSavepoint);
      absl::Status recorded;
      try {
        recorded = RecordRun(txn, runs[i], now, continue_until, &continued[i]);
      } catch (const pqxx::transaction_rollback&) {
        throw;  // a serialization failure or deadlock: the whole batch again (Transact)
      } catch (const pqxx::sql_error& e) {
        recorded = pg::StatusFromException(e);
      }
      if (recorded.ok()) {
        txn.exec(engine_sql::kReleaseSavepoint);
      } else {
        txn.exec(engine_sql::kRollbackToSavepoint);
        continued[i].reset();
        log::Warning("automation engine: job failed",
                     {{"job", runs[i].job.key}, {"error", recorded.ToString()}});
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    // The leases run out and the jobs are claimed again.
    log::Warning("automation engine: recording runs failed",
                 {{"runs", absl::StrCat(runs.size())}, {"error", status.ToString()}});
    return std::vector<std::optional<Continuation>>(runs.size());
  }
  return continued;
}

absl::Status Engine::RecordRun(pqxx::work& txn, const PreparedRun& prepared, absl::Time now,
                               absl::Time continue_until, std::optional<Continuation>* next) {
  const Job& job = prepared.job;
  internal::PendingRun pending;
  pending.ParseFromString(job.payload);  // PrepareRun parsed it
  const v1::Rule* const rule = &prepared.rule;
  const bool misfired = prepared.misfired;
  const std::string& customer_id = prepared.customer_id;
  txn.exec_params(engine_sql::kLockCustomerRule, job.tenant_id, pending.rule_id(), customer_id);
  v1::RuleRun run;
  const std::optional<customers::CustomerRow> customer =
      customers::FindCustomer(txn, job.tenant_id, customer_id);
  if (!customer.has_value() && job.attempts < 10) {
    // Not in the read model yet (its event is on the way).
    return JobQueue::Retry(txn, job, now + absl::Seconds(job.attempts),
                           "the customer is not known yet", now);
  }
  if (!customer.has_value() || customer->state != contacts::v1::CUSTOMER_STATE_ACTIVE) {
    return JobQueue::Complete(txn, job, now);
  }
  if (rule->trigger().has_inactivity()) {
    // Pushed back by a touchpoint since it fell due: the customer was not inactive.
    const pqxx::result activity =
        txn.exec_params(engine_sql::kSelectActivity, job.tenant_id, customer_id);
    const absl::Time deadline = FromProtoTime(pending.trigger().occur_time());
    if (activity.empty() || absl::FromUnixMicros(activity[0][0].as<int64_t>()) +
                                    DurationOf(rule->trigger().inactivity().after()) !=
                                deadline) {
      return JobQueue::Complete(txn, job, now);
    }
  }
  const FieldValues values = RunValues(pending.trigger(), *customer);
  run.set_run_id(ids::NewUuid(now));
  run.set_rule_id(pending.rule_id());
  run.set_rule_version(pending.rule_version());
  *run.mutable_trigger() = pending.trigger();
  run.mutable_trigger()->clear_fields();
  run.mutable_trigger()->clear_list_fields();
  SetTriggerEventValues(values, *run.mutable_trigger());
  run.set_depth(pending.depth());
  *run.mutable_create_time() = ToProtoTime(now);
  // Whether customer has a matched (or misfired) run of the rule since `since`.
  auto recent = [&](absl::Time since, bool misfire) {
    return !txn.exec_params(engine_sql::kRecentRun, job.tenant_id, pending.rule_id(), customer_id,
                            absl::ToUnixMicros(std::max(since, absl::UnixEpoch())), misfire)
                .empty();
  };
  const v1::Reenrollment& reenrollment = rule->reenrollment();
  // At the depth limit; a misfire skipped by policy, or not the customer's first since the
  // misfires began; the re-enrolment policy.
  const bool skipped = pending.depth() >= options_.max_depth ||
                       (misfired && (rule->misfire_policy() == v1::MISFIRE_POLICY_SKIP ||
                                     recent(std::max(prepared.resume_time, started_), true))) ||
                       (reenrollment.once_per_customer() && recent(absl::InfinitePast(), false)) ||
                       (reenrollment.has_at_most_once_per() &&
                        recent(now - DurationOf(reenrollment.at_most_once_per()), false));
  if (skipped) {
    run.set_state(v1::RUN_STATE_SKIPPED);
  } else {
    Evaluation evaluation =
        Evaluate(rule->condition(), values, TriggerEventValues(pending.before()));
    for (v1::ComparisonResult& result : evaluation.comparisons) {
      *run.add_comparisons() = std::move(result);
    }
    run.set_matched(evaluation.holds);
    for (int index = 0; index < rule->actions_size(); ++index) {
      const v1::Action& action = rule->actions(index);
      v1::ActionRun& entry = *run.add_actions();
      entry.set_action_id(action.action_id());
      entry.set_state(evaluation.holds ? v1::ACTION_STATE_PENDING : v1::ACTION_STATE_SKIPPED);
      if (!evaluation.holds || !action.has_start_sequence()) continue;
      for (int step = 0; step < action.start_sequence().steps_size(); ++step) {
        v1::ActionRun& step_entry = *run.add_actions();
        step_entry.set_action_id(StepLabel(*rule, index, step));
        step_entry.set_state(v1::ACTION_STATE_PENDING);
      }
    }
    run.set_state(StateOf(run));
  }
  if (run.state() != v1::RUN_STATE_RUNNING) *run.mutable_finish_time() = ToProtoTime(now);
  const pqxx::result inserted = txn.exec_params(
      engine_sql::kInsertRun, job.tenant_id, run.run_id(), run.rule_id(), run.rule_version(),
      pending.cause(), customer_id, static_cast<int>(run.state()), run.matched(),
      misfired && run.state() != v1::RUN_STATE_SKIPPED, pqxx::binarystring(run.SerializeAsString()),
      absl::ToUnixMicros(now));
  // No row: an earlier claim of this job recorded the run, and its first action's job with it.
  if (!inserted.empty() && run.state() == v1::RUN_STATE_RUNNING) {
    internal::PendingAction first;
    first.set_run_id(run.run_id());
    first.set_index(0);
    first.set_step(-1);
    if (absl::Status status = EnqueueNext(txn,
                                          {.tenant_id = job.tenant_id,
                                           .key = ActionKey(run, StepLabel(*rule, 0, -1)),
                                           .kind = kActionJob,
                                           .payload = first.SerializeAsString(),
                                           .due_time = now},
                                          run, now, continue_until, next);
        !status.ok()) {
      return status;
    }
  }
  return JobQueue::Complete(txn, job, now);
}

absl::Status Engine::RunAction(const Job& job, const v1::RuleRun* known_run,
                               absl::Time continue_until, std::optional<Continuation>* next) {
  internal::PendingAction pending;
  if (!pending.ParseFromString(job.payload)) {
    return jobs_.DeadLetter(job, "the action's payload does not parse");
  }
  const absl::Time now = Micros(parts_.clock());
  absl::StatusOr<v1::RuleRun> run =
      known_run != nullptr ? *known_run : GetRun(job.tenant_id, pending.run_id());
  if (absl::IsNotFound(run.status())) return jobs_.DeadLetter(job, run.status().ToString());
  if (!run.ok()) return jobs_.Retry(job, now + absl::Seconds(5), run.status().ToString());
  absl::StatusOr<v1::Rule> rule = RuleVersion(job.tenant_id, run->rule_id(), run->rule_version());
  if (!rule.ok()) return jobs_.Retry(job, now + absl::Seconds(5), rule.status().ToString());
  if (pending.index() >= rule->actions_size()) {
    return jobs_.DeadLetter(job, "the rule version has no such action");
  }
  const v1::Action& top = rule->actions(pending.index());
  const std::string label = StepLabel(*rule, pending.index(), pending.step());
  const v1::ActionRun* entry = FindActionRun(*run, label);
  if (entry == nullptr || entry->state() != v1::ACTION_STATE_PENDING) {
    // Recorded by an earlier claim of this job.
    return jobs_.Complete(job);
  }
  ActionOutcome outcome;
  std::string left;
  if (pending.step() >= 0) {
    absl::Status checked = parts_.pool->Query([&](pqxx::nontransaction& txn) {
      left = SequenceExit(txn, job.tenant_id, *run, top.start_sequence());
      return absl::OkStatus();
    });
    if (!checked.ok()) return checked;
  }
  if (!left.empty()) {
    outcome.kind = ActionOutcome::Kind::kSkipped;
    outcome.result = absl::StrCat("left the sequence: ", left);
    outcome.ends_sequence = true;
  } else if (pending.step() < 0 && top.has_start_sequence()) {
    outcome.result =
        absl::StrCat("sequence of ", top.start_sequence().steps_size(), " steps started");
  } else {
    const v1::Action& action =
        pending.step() < 0 ? top : top.start_sequence().steps(pending.step()).action();
    const FieldValues values = TriggerEventValues(run->trigger());
    outcome = parts_.actions->Run({.tenant_id = job.tenant_id,
                                   .run = &*run,
                                   .owner_id = rule->owner_id(),
                                   .action = &action,
                                   .label = label,
                                   .key = job.key,
                                   .values = &values,
                                   .attempts = entry->attempts(),
                                   .now = now});
  }
  return RecordOutcome(job, outcome, /*end_claim=*/true, continue_until, next);
}

absl::Status Engine::RecordOutcome(const Job& job, const ActionOutcome& outcome, bool end_claim,
                                   absl::Time continue_until, std::optional<Continuation>* next) {
  internal::PendingAction pending;
  pending.ParseFromString(job.payload);
  const absl::Time now = Micros(parts_.clock());
  return parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
    if (next != nullptr) next->reset();  // from an attempt that was rolled back
    const pqxx::result locked =
        txn.exec_params(engine_sql::kLockRun, job.tenant_id, pending.run_id());
    if (locked.empty()) return absl::NotFoundError(absl::StrCat("run ", pending.run_id()));
    v1::RuleRun run = ParseBody<v1::RuleRun>(locked[0][0]);
    absl::StatusOr<v1::Rule> rule = RuleVersion(job.tenant_id, run.rule_id(), run.rule_version());
    if (!rule.ok()) return rule.status();
    const int index = pending.index();
    const int step = pending.step();
    v1::ActionRun* entry = FindActionRun(run, StepLabel(*rule, index, step));
    if (entry == nullptr) return absl::InternalError("the run has no such action");
    if (outcome.attempted) entry->set_attempts(entry->attempts() + 1);
    entry->clear_next_attempt_time();
    // The next steps' jobs: (index, step, due).
    std::vector<std::tuple<int, int, absl::Time>> following_steps;
    switch (outcome.kind) {
      case ActionOutcome::Kind::kDone:
      case ActionOutcome::Kind::kSkipped: {
        entry->set_result(outcome.result);
        if (outcome.kind == ActionOutcome::Kind::kSkipped) {
          entry->set_state(v1::ACTION_STATE_SKIPPED);
        } else {
          entry->set_state(v1::ACTION_STATE_SUCCEEDED);
          entry->clear_last_error();
        }
        const absl::Duration latency = now - FromProtoTime(run.trigger().occur_time());
        entry->mutable_latency()->set_seconds(absl::ToInt64Seconds(latency));
        entry->mutable_latency()->set_nanos(static_cast<int32_t>(
            absl::ToInt64Nanoseconds(latency - absl::Seconds(absl::ToInt64Seconds(latency)))));
        const v1::Action& top = rule->actions(index);
        if (outcome.ends_sequence) {
          // The customer left: the steps after this one are skipped too.
          for (int later = step + 1; later < top.start_sequence().steps_size(); ++later) {
            v1::ActionRun* skipped = FindActionRun(run, StepLabel(*rule, index, later));
            skipped->set_state(v1::ACTION_STATE_SKIPPED);
            skipped->set_result(outcome.result);
          }
        } else if (top.has_start_sequence()) {
          const auto& steps = top.start_sequence().steps();
          const int following = step + 1;
          if (following < steps.size()) {
            following_steps.emplace_back(index, following,
                                         now + DurationOf(steps[following].wait()));
          }
        }
        if (step < 0 && index + 1 < rule->actions_size()) {
          following_steps.emplace_back(index + 1, -1, now);
        }
        break;
      }
      case ActionOutcome::Kind::kRetry:
      case ActionOutcome::Kind::kWait:
        if (!outcome.error.empty()) entry->set_last_error(outcome.error);
        *entry->mutable_next_attempt_time() = ToProtoTime(outcome.retry_at);
        break;
      case ActionOutcome::Kind::kFailed:
        entry->set_state(v1::ACTION_STATE_DEAD_LETTERED);
        entry->set_last_error(outcome.error);
        break;
    }
    run.set_state(StateOf(run));
    if (run.state() != v1::RUN_STATE_RUNNING) *run.mutable_finish_time() = ToProtoTime(now);
    txn.exec_params(engine_sql::kUpdateRun, job.tenant_id, run.run_id(),
                    static_cast<int>(run.state()), pqxx::binarystring(run.SerializeAsString()),
                    absl::ToUnixMicros(now));
    for (const auto& [next_index, next_step, due] : following_steps) {
      internal::PendingAction action;
      action.set_run_id(run.run_id());
      action.set_index(next_index);
      action.set_step(next_step);
      if (absl::Status status =
              EnqueueNext(txn,
                          {.tenant_id = job.tenant_id,
                           .key = ActionKey(run, StepLabel(*rule, next_index, next_step)),
                           .kind = kActionJob,
                           .payload = action.SerializeAsString(),
                           .due_time = due},
                          run, now, continue_until, end_claim ? next : nullptr);
          !status.ok()) {
        return status;
      }
    }
    if (!end_claim) return absl::OkStatus();
    switch (outcome.kind) {
      case ActionOutcome::Kind::kDone:
      case ActionOutcome::Kind::kSkipped:
        return JobQueue::Complete(txn, job, now);
      case ActionOutcome::Kind::kRetry:
        return JobQueue::Retry(txn, job, outcome.retry_at, outcome.error, now);
      case ActionOutcome::Kind::kWait:
        return JobQueue::Retry(txn, job, outcome.retry_at, "waiting for the endpoint's rate limit",
                               now);
      case ActionOutcome::Kind::kFailed:
        return JobQueue::DeadLetter(txn, job, outcome.error, now);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::RuleRun>> Engine::ListRuns(const RunQuery& query) {
  std::vector<v1::RuleRun> runs;
  absl::Status status = parts_.pool->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows = txn.exec_params(
        engine_sql::kListRuns, query.tenant_id, query.rule_id,
        query.after.has_value() ? absl::ToUnixMicros(query.after->first) : int64_t{-1},
        query.after.has_value() ? query.after->second : std::string(kNilUuid),
        static_cast<int>(query.state), query.customer_id, query.limit);
    for (const pqxx::row& row : rows) runs.push_back(ParseBody<v1::RuleRun>(row[0]));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return runs;
}

absl::StatusOr<v1::RuleRun> Engine::GetRun(const std::string& tenant_id,
                                           const std::string& run_id) {
  std::optional<v1::RuleRun> run;
  absl::Status status = parts_.pool->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows = txn.exec_params(engine_sql::kSelectRun, tenant_id, run_id);
    if (!rows.empty()) run = ParseBody<v1::RuleRun>(rows[0][0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!run.has_value()) return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  return *std::move(run);
}

absl::StatusOr<v1::DeadLetter> Engine::DeadLetterOf(const Job& job) {
  internal::PendingAction pending;
  if (job.kind != kActionJob || !pending.ParseFromString(job.payload)) {
    return absl::NotFoundError(absl::StrCat("dead letter ", job.job_id, " not found"));
  }
  if (job.state != "dead") {
    return absl::FailedPreconditionError(
        absl::StrCat("dead letter ", job.job_id, " is not dead any more: it is ", job.state));
  }
  absl::StatusOr<v1::RuleRun> run = GetRun(job.tenant_id, pending.run_id());
  if (!run.ok()) return run.status();
  v1::DeadLetter letter;
  letter.set_dead_letter_id(job.job_id);
  letter.set_run_id(run->run_id());
  letter.set_rule_id(run->rule_id());
  letter.set_action_id(job.key.substr(job.key.rfind('/') + 1));
  letter.set_customer_id(run->trigger().customer_id());
  const absl::StatusOr<v1::Rule> rule =
      RuleVersion(job.tenant_id, run->rule_id(), run->rule_version());
  if (rule.ok()) {
    const std::string label = StepLabel(*rule, pending.index(), pending.step());
    letter.set_action_id(label);
    if (const v1::ActionRun* entry = FindActionRun(*run, label)) {
      letter.set_attempts(entry->attempts());
    }
  }
  letter.set_last_error(job.last_error);
  *letter.mutable_create_time() = ToProtoTime(job.finish_time);
  return letter;
}

absl::StatusOr<v1::RuleRun> Engine::Redrive(const std::string& tenant_id,
                                            const std::string& dead_letter_id) {
  absl::StatusOr<Job> job = jobs_.Get(tenant_id, dead_letter_id);
  if (!job.ok()) return job.status();
  absl::StatusOr<v1::DeadLetter> letter = DeadLetterOf(*job);
  if (!letter.ok()) return letter.status();
  absl::StatusOr<Job> redriven = jobs_.Redrive(tenant_id, job->key);
  if (!redriven.ok()) return redriven.status();
  // The action is pending again, its attempts from zero.
  absl::Status status = parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result locked = txn.exec_params(engine_sql::kLockRun, tenant_id, letter->run_id());
    if (locked.empty()) return absl::NotFoundError(absl::StrCat("run ", letter->run_id()));
    v1::RuleRun run = ParseBody<v1::RuleRun>(locked[0][0]);
    if (v1::ActionRun* entry = FindActionRun(run, letter->action_id())) {
      entry->set_state(v1::ACTION_STATE_PENDING);
      entry->set_attempts(0);
    }
    run.set_state(StateOf(run));
    run.clear_finish_time();
    txn.exec_params(engine_sql::kUpdateRun, tenant_id, run.run_id(), static_cast<int>(run.state()),
                    pqxx::binarystring(run.SerializeAsString()),
                    absl::ToUnixMicros(Micros(parts_.clock())));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return GetRun(tenant_id, letter->run_id());
}

absl::StatusOr<v1::RuleRun> Engine::Discard(const std::string& tenant_id,
                                            const std::string& dead_letter_id) {
  absl::StatusOr<Job> job = jobs_.Get(tenant_id, dead_letter_id);
  if (!job.ok()) return job.status();
  absl::StatusOr<v1::DeadLetter> letter = DeadLetterOf(*job);
  if (!letter.ok()) return letter.status();
  absl::StatusOr<Job> discarded = jobs_.Discard(tenant_id, job->key);
  if (!discarded.ok()) return discarded.status();
  ActionOutcome skipped;
  skipped.kind = ActionOutcome::Kind::kSkipped;
  skipped.result = "dead letter discarded";
  if (absl::Status status = RecordOutcome(*job, skipped, /*end_claim=*/false); !status.ok()) {
    return status;
  }
  return GetRun(tenant_id, letter->run_id());
}

absl::StatusOr<FieldValues> Engine::CustomerValues(const std::string& tenant_id,
                                                   const std::string& customer_id) {
  std::optional<customers::CustomerRow> row;
  absl::Status status = parts_.pool->Transact([&](pqxx::work& txn) -> absl::Status {
    row = customers::FindCustomer(txn, tenant_id, customer_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!row.has_value() || row->state != contacts::v1::CUSTOMER_STATE_ACTIVE) {
    return absl::NotFoundError(absl::StrCat("customer ", customer_id, " not found"));
  }
  return CustomerRowValues(*row);
}

void Engine::Start() {
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void Engine::Stop() {
  {
    absl::MutexLock lock(&idle_mu_);  // wakes the workers waiting for their turn
    stopping_.store(true);
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void Engine::WorkerLoop() {
  while (AwaitClaimTurn()) {
    absl::StatusOr<int> ran = RunDueJobs();
    if (!ran.ok()) {
      log::Warning("automation engine: claiming jobs failed", {{"error", ran.status().ToString()}});
    }
    ClaimFound(ran.ok() && *ran > 0);
  }
}

bool Engine::AwaitClaimTurn() {
  absl::MutexLock lock(&idle_mu_);
  while (!stopping_.load()) {
    const absl::Time now = absl::Now();
    if (idle_until_ <= now) {
      // This worker looks; until it finds work the others wait one idle_wait more.
      if (idle_until_ != absl::InfinitePast()) idle_until_ = now + options_.idle_wait;
      return true;
    }
    struct Waiting {
      Engine* engine;
      absl::Time until;
    } waiting{this, idle_until_};
    // Until the wait is over, or cut short by work found or the engine stopping.
    idle_mu_.AwaitWithDeadline(absl::Condition(
                                   +[](Waiting* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                     return w->engine->stopping_.load() ||
                                            w->engine->idle_until_ != w->until;
                                   },
                                   &waiting),
                               waiting.until);
  }
  return false;
}

void Engine::ClaimFound(bool work) {
  absl::MutexLock lock(&idle_mu_);
  if (work) {
    idle_until_ = absl::InfinitePast();
  } else if (idle_until_ == absl::InfinitePast()) {
    idle_until_ = absl::Now() + options_.idle_wait;
  }
}

}  // namespace touchline::automation
