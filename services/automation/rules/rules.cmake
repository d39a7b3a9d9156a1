# Automation rules: the field catalogue, conditions (check and evaluation) and action templates.
#
# Included with include() from ../CMakeLists.txt; headers are included as
# "services/automation/...".
set(automation_rules_dir ${CMAKE_CURRENT_LIST_DIR})

# Pure logic (no I/O): what a condition or template may name, its check against the rule's
# trigger, the evaluation of a condition and the filling in of a template.
add_library(automation_rules
  ${automation_rules_dir}/field_catalogue.cc
  ${automation_rules_dir}/conditions.cc
  ${automation_rules_dir}/templates.cc)
target_include_directories(automation_rules PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_rules
  PUBLIC touchline_automation_proto touchline_status
  PRIVATE touchline_contacts_proto touchline_touchpoints_proto touchline_validation
          touchline_text absl::strings absl::time nlohmann_json::nlohmann_json ICU::uc)
touchline_warnings(automation_rules)

add_executable(automation_conditions_test ${automation_rules_dir}/conditions_test.cc)
target_link_libraries(automation_conditions_test PRIVATE automation_rules
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_conditions_test)
gtest_discover_tests(automation_conditions_test)

add_executable(automation_templates_test ${automation_rules_dir}/templates_test.cc)
target_link_libraries(automation_templates_test PRIVATE automation_rules
  nlohmann_json::nlohmann_json GTest::gmock GTest::gtest_main)
touchline_warnings(automation_templates_test)
gtest_discover_tests(automation_templates_test)

# The whole check of a rule before it is stored (rule_validation.h). Pure.
add_library(automation_rule_validation ${automation_rules_dir}/rule_validation.cc)
target_include_directories(automation_rule_validation PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_rule_validation
  PUBLIC touchline_automation_proto touchline_status absl::time
  PRIVATE automation_rules automation_schedule touchline_contacts_proto touchline_validation
          absl::strings absl::statusor nlohmann_json::nlohmann_json)
touchline_warnings(automation_rule_validation)

add_executable(automation_rule_validation_test ${automation_rules_dir}/rule_validation_test.cc)
target_link_libraries(automation_rule_validation_test PRIVATE automation_rule_validation
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_rule_validation_test)
gtest_discover_tests(automation_rule_validation_test)

# The values of a run by field name, from a customer, a touchpoint or a trigger event. Pure.
add_library(automation_run_fields ${automation_rules_dir}/run_fields.cc)
target_include_directories(automation_run_fields PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_run_fields
  PUBLIC automation_rules touchline_automation_proto touchline_contacts_proto
         touchline_touchpoints_proto touchline_auth
  PRIVATE absl::strings)
touchline_warnings(automation_run_fields)

add_executable(automation_run_fields_test ${automation_rules_dir}/run_fields_test.cc)
target_link_libraries(automation_run_fields_test PRIVATE automation_run_fields automation_rules
  touchline_auth_testing
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_run_fields_test)
touchline_discover_tests(automation_run_fields_test)

# The rules' store interface with what both stores record alike (rule_records), the PostgreSQL
# store and RuleManager (the rule RPCs and TestRule).
add_library(automation_rule_store
  ${automation_rules_dir}/rule_records.cc
  ${automation_rules_dir}/pg_rule_store.cc
  ${automation_rules_dir}/rule_manager.cc)
target_include_directories(automation_rule_store PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_rule_store
  PUBLIC automation_rules automation_run_fields touchline_automation_proto
         touchline_events_proto touchline_auth touchline_paging touchline_pg
         touchline_idempotency absl::status absl::statusor absl::time
  PRIVATE automation_rule_validation touchline_audit touchline_events touchline_ids
          touchline_status touchline_validation absl::strings nlohmann_json::nlohmann_json
          PkgConfig::PQXX)
touchline_warnings(automation_rule_store)

# The in-memory store, and the manager's rules tested on it (hermetic).
add_library(automation_rule_store_testing ${automation_rules_dir}/testing/in_memory_rule_store.cc)
target_include_directories(automation_rule_store_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_rule_store_testing
  PUBLIC automation_rule_store touchline_idempotency absl::synchronization
  PRIVATE ICU::i18n ICU::uc)
touchline_warnings(automation_rule_store_testing)

add_executable(automation_rule_manager_test ${automation_rules_dir}/rule_manager_test.cc)
target_link_libraries(automation_rule_manager_test PRIVATE automation_rule_store_testing
  touchline_auth_testing touchline_paging touchline_status touchline_ids absl::strings
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_rule_manager_test)
touchline_discover_tests(automation_rule_manager_test)

# The PostgreSQL store and the manager on it, against the schema as the host migrates it.
# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(automation_rules_pgtest ${automation_rules_dir}/rules_pgtest.cc)
target_link_libraries(automation_rules_pgtest PRIVATE automation_rule_store automation_migrations
  touchline_service_host touchline_auth_testing touchline_test_env touchline_paging
  touchline_status PkgConfig::PQXX absl::strings GTest::gmock GTest::gtest_main)
touchline_warnings(automation_rules_pgtest)
touchline_discover_tests(automation_rules_pgtest LABELS pg)
