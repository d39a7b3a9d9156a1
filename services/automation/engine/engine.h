// The rule engine: triggers from the event streams become runs of the rules that wait for
// them, and each run's actions are done once, through the durable job queue.
//
//   consumer transaction (touchpoints, journeys, the customer read model's changes)
//     -> a "run" job per (rule version, cause), due after the trigger's delay; a touchpoint
//        also pushes its customer's inactivity deadline forward (customer_activity)
//   FireInactivity (periodic)
//     -> a "run" job per customer whose deadline passed, per inactivity rule
//   workers (RunDueJobs)
//     "run": re-enrolment, misfire and depth checks, the condition against the customer as
//            it is now; the run recorded (once per rule version and cause) with its first
//            action's job
//     "action": the action done (actions.h), its outcome recorded in the run with the next
//            action's job; retried with backoff or dead-lettered as the outcome says
//   The runs of one claimed batch are recorded in one transaction, each in a savepoint of its
//   own. A next step due at once (a run's first action, the action after an action) is
//   enqueued already claimed by the worker that recorded the step, under the same lease as a
//   claim, and that worker goes on with it as soon as the step commits, instead of waiting
//   for another claim; if it dies first, the job returns when the lease runs out.
//
// Every write of a step commits with the job of the next, and each job's key is the step's
// idempotency key, so a replayed event, a redelivered timer or a worker killed mid-run never
// repeats a step: its job is claimed again and finds the step's record.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/customers/read_model.h"
#include "common/pg/pool.h"
#include "services/automation/engine/actions.h"
#include "services/automation/engine/triggers.h"
#include "services/automation/jobs/job_queue.h"
#include "services/automation/rules/rule_store.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

struct EngineOptions {
  // This replica's name in job claims; empty: "<hostname>-<pid>".
  std::string worker_id;
  // Worker threads (Start).
  int workers = 16;
  // A run caused by this many runs before it runs no action (RuleRun.depth).
  int max_depth = 3;
  // A timer that starts more than this after it fell due misfired: the service was down (or
  // so far behind that it could not act), and the rule's misfire policy decides. Long enough
  // that a busy engine's backlog is not taken for an outage.
  absl::Duration misfire_grace = absl::Minutes(15);
  // How stale the engine's copy of the runnable rules may be.
  absl::Duration rules_max_age = absl::Seconds(1);
  // Jobs a worker claims at once, and for how long.
  int claim_batch = 8;
  absl::Duration lease = absl::Minutes(1);
  // A worker that found nothing waits this long before claiming again.
  absl::Duration idle_wait = absl::Milliseconds(100);
  // Deadlines read per transaction by FireInactivity.
  int inactivity_batch = 1000;
  // For tests: called before a worker goes on with a next step it enqueued claimed for itself
  // (see the top of this file); false leaves the job there, as a worker killed at that moment
  // would. Unset: it always goes on.
  std::function<bool(const Job&)> before_continuing;
};

// What the engine works with. Not owned; each must outlive the engine.
struct EngineParts {
  pg::Pool* pool = nullptr;
  RuleStore* rules = nullptr;
  ActionRunner* actions = nullptr;
  std::function<absl::Time()> clock;
};

// Thread-safe.
class Engine {
 public:
  Engine(EngineParts parts, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // An events::BatchApplyFn for the "touchpoints" topic: each recorded touchpoint pushes its
  // customer's inactivity deadline forward and starts the touchpoint_recorded rules.
  absl::Status ApplyTouchpoints(pqxx::work& txn,
                                std::span<const events::v1::EventEnvelope* const> events);
  // An events::BatchApplyFn for the "journeys" topic: stage_entered and stage_exited rules.
  absl::Status ApplyJourneys(pqxx::work& txn,
                             std::span<const events::v1::EventEnvelope* const> events);
  // A customers::ChangedFn for the customer read model: customer_changed rules, and a new
  // customer's inactivity deadline armed (from its creation, or from now for a customer the
  // feed taught).
  absl::Status OnCustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                                 const customers::CustomerRow& after,
                                 const events::v1::EventEnvelope* cause);

  // Claims up to claim_batch due jobs and runs them; how many it ran.
  absl::StatusOr<int> RunDueJobs();
  // Enqueues the runs of every inactivity rule whose customers' deadlines have passed; how
  // many.
  absl::StatusOr<int> FireInactivity();

  // Fires every schedule rule whose next cron time has passed (the latest of them when several
  // have: one firing, however long the service was down): a run per active customer whose
  // values in the read model satisfy the condition. Resumes a firing cut short where it
  // stopped. How many runs it enqueued.
  absl::StatusOr<int> FireSchedules();

  // The customer.* values of a customer as the read model has them (TestRule on a customer);
  // NOT_FOUND when it has none or the customer is deleted or merged.
  absl::StatusOr<FieldValues> CustomerValues(const std::string& tenant_id,
                                             const std::string& customer_id);

  // Starts the worker threads (RunDueJobs in a loop); Stop ends them.
  void Start();
  void Stop();

  // Runs of a rule, newest first (ListRuleRuns), after the run `after_run_id` when set.
  struct RunQuery {
    std::string tenant_id;
    std::string rule_id;
    v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
    std::string customer_id;
    std::optional<std::pair<absl::Time, std::string>> after;
    int limit = 50;
  };
  absl::StatusOr<std::vector<v1::RuleRun>> ListRuns(const RunQuery& query);
  // NOT_FOUND "run <id> not found".
  absl::StatusOr<v1::RuleRun> GetRun(const std::string& tenant_id, const std::string& run_id);

  // Dead letters (the dead action jobs). Redrive puts the action back to pending; Discard
  // skips it and goes on with the run's next action. Both return the run.
  absl::StatusOr<v1::RuleRun> Redrive(const std::string& tenant_id,
                                      const std::string& dead_letter_id);
  absl::StatusOr<v1::RuleRun> Discard(const std::string& tenant_id,
                                      const std::string& dead_letter_id);
  // The dead letter of a dead job (its run, rule, action and customer). NOT_FOUND for a job of
  // no action; FAILED_PRECONDITION for one that is no longer dead.
  absl::StatusOr<v1::DeadLetter> DeadLetterOf(const Job& job);
  JobQueue& jobs() { return jobs_; }

 private:
  // The runnable rules of every tenant, refreshed when older than rules_max_age.
  std::shared_ptr<const std::vector<RunnableRule>> Runnable();
  const RunnableRule* FindRunnable(const std::vector<RunnableRule>& rules,
                                   const std::string& tenant_id, const std::string& rule_id);
  // Version `version` of a rule, from a copy of the published versions read before.
  absl::StatusOr<v1::Rule> RuleVersion(const std::string& tenant_id, const std::string& rule_id,
                                       int version);
  // Enqueues, in `txn`, the run of every runnable, unpaused rule of `tenant_id` that waits for
  // `fact`.
  absl::Status StartRuns(pqxx::work& txn, const std::string& tenant_id, const TriggerFact& fact);
  // A step's next job, enqueued claimed by this worker in the transaction that recorded the
  // step (JobQueue::EnqueueClaimed), with the run as that transaction wrote it.
  struct Continuation {
    Job job;
    v1::RuleRun run;
  };
  // A claimed run job that passed the checks made outside a transaction (PrepareRun), with
  // what RecordRun needs of them.
  struct PreparedRun {
    Job job;
    // Of the run's trigger.
    std::string customer_id;
    // The run's version of the rule.
    v1::Rule rule;
    // The rule's latest resumption.
    absl::Time resume_time;
    bool misfired = false;
  };
  // The checks of run job `job` outside a transaction: a job they end (an archived or paused
  // rule, say) is ended in a transaction of its own; otherwise `*prepared` is set.
  absl::Status PrepareRun(const Job& job, std::optional<PreparedRun>* prepared);
  // Records the runs of a claimed batch in one transaction, each with the end of its job's
  // claim, in a savepoint of its own (a run that fails is undone alone and its job returns
  // when the lease runs out). The next step each one goes on with, if any (see RecordRun).
  std::vector<std::optional<Continuation>> RecordRuns(std::vector<PreparedRun> runs,
                                                      absl::Time continue_until);
  // RecordRun, RunAction and RecordOutcome put in `*next` (when not null) the next step the
  // worker is to go on with once their transaction has committed: one due at once, enqueued
  // while `now` is before `continue_until` (the rest of the claimed batch keeps enough of its
  // lease) and the engine is not stopping.
  absl::Status RecordRun(pqxx::work& txn, const PreparedRun& prepared, absl::Time now,
                         absl::Time continue_until, std::optional<Continuation>* next);
  // `run`: the job's run as the previous step wrote it (the job has been this worker's since
  // then), or null to read it.
  absl::Status RunAction(const Job& job, const v1::RuleRun* run, absl::Time continue_until,
                         std::optional<Continuation>* next);
  // Runs `next` and the steps after it that this worker goes on with; how many it ran.
  int GoOn(std::optional<Continuation> next, absl::Time continue_until);
  // Enqueues in `txn` `job`, the next step of `run`: claimed by this worker into `*next` when
  // the worker may go on with it (see RecordRun), pending otherwise.
  absl::Status EnqueueNext(pqxx::work& txn, const NewJob& job, const v1::RuleRun& run,
                           absl::Time now, absl::Time continue_until,
                           std::optional<Continuation>* next);
  absl::Status FireInactivity(const RunnableRule& rule, absl::Time now, int* fired);
  absl::Status FireSchedule(const RunnableRule& rule, absl::Time now, int* fired);
  // Records `outcome` of the action `job` ran in its run, with the next step's job and, with
  // `end_claim`, the end of the job's claim the outcome calls for, in one transaction.
  absl::Status RecordOutcome(const Job& job, const ActionOutcome& outcome, bool end_claim,
                             absl::Time continue_until = absl::InfinitePast(),
                             std::optional<Continuation>* next = nullptr);
  void WorkerLoop();
  // Returns when this worker may claim: at once while the queue has work; while it is found
  // empty, one worker looks again every idle_wait and the others wait for what it finds, so an
  // idle engine claims idle_wait apart however many workers it has. False once stopping.
  bool AwaitClaimTurn();
  // After a claim: whether it found work (the waiting workers go on) or none (they wait).
  void ClaimFound(bool work);

  const EngineParts parts_;
  const EngineOptions options_;
  JobQueue jobs_;
  const absl::Time started_;
  absl::Mutex mu_;
  std::shared_ptr<const std::vector<RunnableRule>> runnable_ ABSL_GUARDED_BY(mu_);
  absl::Time runnable_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // "<tenant>/<rule>/<version>" -> the version.
  absl::flat_hash_map<std::string, v1::Rule> versions_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
  absl::Mutex idle_mu_;
  // Until when the workers wait before another looks at an empty queue; InfinitePast while the
  // latest claim found work.
  absl::Time idle_until_ ABSL_GUARDED_BY(idle_mu_) = absl::InfinitePast();
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_H_
