// What the tasks' PostgreSQL tests read of the "tasks" topic: the task events in the outbox of
// a schema, each described in one line.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_TASK_EVENTS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_TASK_EVENTS_H_

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/pg/pool.h"
#include "gtest/gtest.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/task_events.pb.h"

namespace touchline::automation::testing {

// The envelopes of the "tasks" topic in the outbox of `pool`'s schema, oldest first.
inline std::vector<events::v1::EventEnvelope> OutboxTaskEvents(pg::Pool& pool) {
  std::vector<events::v1::EventEnvelope> found;
  const absl::Status read = pool.Query([&](pqxx::nontransaction& txn) {
    found.clear();
    for (const pqxx::row& row :
         txn.exec("SELECT encode(envelope, 'hex') FROM outbox WHERE topic = 'tasks' ORDER BY id")) {
      if (!found.emplace_back().ParseFromString(absl::HexStringToBytes(row[0].as<std::string>()))) {
        return absl::InternalError("a task event does not parse");
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return found;
}

// "created <customer> v<etag> by <actor>" for a TaskCreated, "changed <customer> v<etag>
// <fields...> [from <previous customer>] by <actor>" for a TaskChanged, "?" for anything else
// or an envelope whose aggregate is not its task.
inline std::string DescribeTaskEvent(const events::v1::EventEnvelope& envelope) {
  events::v1::TaskCreated created;
  events::v1::TaskChanged changed;
  std::string line;
  const v1::Task* task = nullptr;
  if (envelope.payload().UnpackTo(&created)) {
    task = &created.task();
    line = absl::StrCat("created ", task->customer_id(), " v", task->etag());
  } else if (envelope.payload().UnpackTo(&changed)) {
    task = &changed.task();
    line = absl::StrCat("changed ", task->customer_id(), " v", task->etag(), " ",
                        absl::StrJoin(changed.changed_fields().paths(), " "));
    if (!changed.previous_customer_id().empty()) {
      absl::StrAppend(&line, " from ", changed.previous_customer_id());
    }
  }
  if (task == nullptr || envelope.aggregate_type() != "task" ||
      envelope.aggregate_id() != task->task_id()) {
    return "?";
  }
  return absl::StrCat(line, " by ", envelope.actor_id());
}

// DescribeTaskEvent of each of OutboxTaskEvents(pool).
inline std::vector<std::string> DescribeOutboxTaskEvents(pg::Pool& pool) {
  std::vector<std::string> lines;
  for (const events::v1::EventEnvelope& envelope : OutboxTaskEvents(pool)) {
    lines.push_back(DescribeTaskEvent(envelope));
  }
  return lines;
}

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_TASK_EVENTS_H_
