# Automation tasks: the store (PostgreSQL and in memory) and TaskManager.
#
# Included with include() from ../CMakeLists.txt; headers are included as
# "services/automation/...".
set(automation_tasks_dir ${CMAKE_CURRENT_LIST_DIR})

# The store interface, what both stores decide alike (task_change) and the events they write
# (task_events), the PostgreSQL store and the manager.
add_library(automation_tasks
  ${automation_tasks_dir}/task_change.cc
  ${automation_tasks_dir}/task_events.cc
  ${automation_tasks_dir}/pg_task_store.cc
  ${automation_tasks_dir}/task_manager.cc)
target_include_directories(automation_tasks PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_tasks
  PUBLIC touchline_automation_proto touchline_events_proto touchline_auth touchline_paging
         touchline_pg touchline_idempotency absl::status absl::statusor absl::time
  PRIVATE touchline_audit touchline_customer_read_model touchline_enforcement touchline_events
          touchline_ids touchline_status touchline_validation absl::strings
          nlohmann_json::nlohmann_json PkgConfig::PQXX)
touchline_warnings(automation_tasks)

# The in-memory store, and the manager's rules tested on it (hermetic).
add_library(automation_tasks_testing ${automation_tasks_dir}/testing/in_memory_task_store.cc)
target_include_directories(automation_tasks_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_tasks_testing
  PUBLIC automation_tasks touchline_idempotency absl::synchronization
  PRIVATE absl::strings)
touchline_warnings(automation_tasks_testing)

add_executable(automation_task_manager_test ${automation_tasks_dir}/task_manager_test.cc)
target_link_libraries(automation_task_manager_test PRIVATE automation_tasks_testing
  touchline_auth_testing touchline_contacts_proto touchline_ids touchline_paging
  touchline_status absl::strings GTest::gmock
  GTest::gtest_main)
touchline_warnings(automation_task_manager_test)
touchline_discover_tests(automation_task_manager_test)

# The PostgreSQL store and the manager on it, against the schema as the host migrates it.
# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(automation_tasks_pgtest ${automation_tasks_dir}/tasks_pgtest.cc)
target_link_libraries(automation_tasks_pgtest PRIVATE automation_tasks automation_migrations
  touchline_service_host touchline_auth_testing touchline_test_env touchline_customer_read_model
  touchline_enforcement touchline_ids touchline_paging touchline_status PkgConfig::PQXX
  absl::strings GTest::gmock GTest::gtest_main)
touchline_warnings(automation_tasks_pgtest)
touchline_discover_tests(automation_tasks_pgtest LABELS pg)

# Follow-ups: the task of a touchpoint's next action, kept by the "touchpoints" consumer; the
# decisions tested without a database, the consumer's writes on PostgreSQL.
add_library(automation_follow_ups ${automation_tasks_dir}/follow_ups.cc)
target_include_directories(automation_follow_ups PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_follow_ups
  PUBLIC automation_tasks touchline_events touchline_events_proto touchline_touchpoints_proto
         absl::status absl::statusor absl::time PkgConfig::PQXX
  PRIVATE touchline_audit touchline_ids touchline_pg touchline_status touchline_text
          absl::strings)
touchline_warnings(automation_follow_ups)

add_executable(automation_follow_ups_test ${automation_tasks_dir}/follow_ups_test.cc)
target_link_libraries(automation_follow_ups_test PRIVATE automation_follow_ups touchline_status
  absl::strings GTest::gmock GTest::gtest_main)
touchline_warnings(automation_follow_ups_test)
touchline_discover_tests(automation_follow_ups_test)

# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(automation_follow_ups_pgtest ${automation_tasks_dir}/follow_ups_pgtest.cc)
target_link_libraries(automation_follow_ups_pgtest PRIVATE automation_follow_ups
  automation_migrations touchline_service_host touchline_test_env touchline_customer_read_model
  touchline_events touchline_ids touchline_status PkgConfig::PQXX absl::strings GTest::gmock
  GTest::gtest_main)
touchline_warnings(automation_follow_ups_pgtest)
touchline_discover_tests(automation_follow_ups_pgtest LABELS pg)
