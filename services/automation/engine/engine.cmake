# The rule engine: triggers from the event streams, runs, actions, inactivity deadlines
# (migrations/0006_engine.sql), on the job queue.
#
# Included with include() from ../CMakeLists.txt, after the rules, tasks, jobs, endpoints and
# webhooks; headers are included as "services/automation/...".
set(automation_engine_dir ${CMAKE_CURRENT_LIST_DIR})

# The engine's own records (not a contract): its jobs' payloads.
touchline_proto_library(NAME automation_engine_proto
  IMPORT_DIRS ${PROJECT_SOURCE_DIR}
  PROTOS ${automation_engine_dir}/engine.proto
  DEPS touchline_automation_proto)

# What rules wait for, read from events (pure).
add_library(automation_triggers ${automation_engine_dir}/triggers.cc)
target_include_directories(automation_triggers PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_triggers
  PUBLIC automation_rules touchline_customer_read_model touchline_events_proto
         touchline_automation_proto
  PRIVATE automation_run_fields automation_tasks touchline_journeys_proto
          touchline_touchpoints_proto PkgConfig::SODIUM absl::strings)
touchline_warnings(automation_triggers)

add_executable(automation_triggers_test ${automation_engine_dir}/triggers_test.cc)
target_link_libraries(automation_triggers_test PRIVATE automation_triggers
  touchline_journeys_proto touchline_touchpoints_proto GTest::gmock GTest::gtest_main)
touchline_warnings(automation_triggers_test)
gtest_discover_tests(automation_triggers_test)

add_library(automation_engine ${automation_engine_dir}/engine.cc ${automation_engine_dir}/actions.cc
  ${automation_engine_dir}/delegation.cc ${automation_engine_dir}/run_manager.cc)
target_include_directories(automation_engine PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_engine
  PUBLIC automation_triggers automation_jobs automation_rule_store automation_tasks touchline_events
         automation_endpoints automation_webhooks touchline_customer_read_model touchline_pg
         touchline_ratelimit touchline_auth touchline_contacts_proto touchline_permissions_proto
         absl::synchronization absl::random_random PkgConfig::PQXX
  PRIVATE automation_engine_proto automation_run_fields automation_schedule touchline_ids
          touchline_text
          touchline_paging touchline_status touchline_validation
          PkgConfig::SODIUM nlohmann_json::nlohmann_json touchline_log absl::strings)
touchline_warnings(automation_engine)

# The engine on PostgreSQL with the real stores and a real HTTP receiver on loopback, and Redis
# for the webhook rate limits. Needs TOUCHLINE_PG_DSN and TOUCHLINE_REDIS_ADDR
# (scripts/dev-servers.sh).
add_executable(automation_engine_pgtest ${automation_engine_dir}/engine_pgtest.cc)
target_link_libraries(automation_engine_pgtest PRIVATE automation_engine automation_fake_delegation
  automation_migrations
  automation_rule_store automation_secret_box touchline_service_host touchline_auth_testing
  touchline_test_env touchline_test_process touchline_paging touchline_status touchline_ids
  touchline_touchpoints_proto PkgConfig::HTTPLIB PkgConfig::PQXX absl::strings GTest::gmock
  GTest::gtest_main)
touchline_warnings(automation_engine_pgtest)
touchline_discover_tests(automation_engine_pgtest LABELS pg redis)

# The engine with its sender and action runner, its consumers, timers, purge and workers on the
# service host (main.cc).
add_library(automation_engine_host ${automation_engine_dir}/engine_host.cc)
target_include_directories(automation_engine_host PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_engine_host
  PUBLIC automation_engine automation_webhooks touchline_service_host touchline_events
  PRIVATE automation_jobs touchline_config touchline_enforcement touchline_channel absl::flags)
touchline_warnings(automation_engine_host)

# A Delegation for tests: users, teams, scopes and customers set by the test.
add_library(automation_fake_delegation ${automation_engine_dir}/testing/fake_delegation.cc)
target_include_directories(automation_fake_delegation PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_fake_delegation PUBLIC automation_engine
  PRIVATE touchline_auth_testing absl::strings)
touchline_warnings(automation_fake_delegation)

add_executable(automation_actions_test ${automation_engine_dir}/actions_test.cc)
target_link_libraries(automation_actions_test PRIVATE automation_engine automation_fake_delegation
  automation_tasks_testing automation_endpoints_testing automation_run_fields
  touchline_auth_testing GTest::gmock GTest::gtest_main)
touchline_warnings(automation_actions_test)
gtest_discover_tests(automation_actions_test)
