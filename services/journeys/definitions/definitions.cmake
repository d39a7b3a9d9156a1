# Journey definitions: validation, store, manager.
#
# Included with include() from ../CMakeLists.txt; headers are included as
# "services/journeys/...".
set(journeys_definitions_dir ${CMAKE_CURRENT_LIST_DIR})

# Pure validation of a journey (no I/O).
add_library(journeys_definition_validation ${journeys_definitions_dir}/definition_validation.cc)
target_include_directories(journeys_definition_validation PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(journeys_definition_validation
  PUBLIC touchline_journeys_proto touchline_status
  PRIVATE touchline_validation absl::strings)
touchline_warnings(journeys_definition_validation)

add_executable(journeys_definition_validation_test
  ${journeys_definitions_dir}/definition_validation_test.cc)
target_link_libraries(journeys_definition_validation_test PRIVATE journeys_definition_validation
  GTest::gmock GTest::gtest_main)
touchline_warnings(journeys_definition_validation_test)
gtest_discover_tests(journeys_definition_validation_test)

# The store interface, its PostgreSQL implementation and the manager.
add_library(journeys_definitions
  ${journeys_definitions_dir}/definition_manager.cc
  ${journeys_definitions_dir}/definition_records.cc
  ${journeys_definitions_dir}/pg_definition_store.cc)
target_include_directories(journeys_definitions PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(journeys_definitions
  PUBLIC journeys_definition_validation touchline_journeys_proto touchline_events_proto
         touchline_auth touchline_paging touchline_pg touchline_idempotency absl::status
         absl::statusor absl::time
  PRIVATE touchline_audit touchline_events touchline_ids touchline_status absl::strings
          nlohmann_json::nlohmann_json PkgConfig::PQXX)
touchline_warnings(journeys_definitions)

# The in-memory store, and the manager's rules tested on it (hermetic).
add_library(journeys_definitions_testing
  ${journeys_definitions_dir}/testing/in_memory_definition_store.cc)
target_include_directories(journeys_definitions_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(journeys_definitions_testing
  PUBLIC journeys_definitions absl::synchronization
  PRIVATE touchline_status ICU::i18n ICU::uc)
touchline_warnings(journeys_definitions_testing)

add_executable(journeys_definition_manager_test
  ${journeys_definitions_dir}/definition_manager_test.cc)
target_link_libraries(journeys_definition_manager_test PRIVATE journeys_definitions_testing
  touchline_auth_testing touchline_status GTest::gmock GTest::gtest_main)
touchline_warnings(journeys_definition_manager_test)
gtest_discover_tests(journeys_definition_manager_test)

# The PostgreSQL store against the real schema, migrated as the host migrates it. Needs
# TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(journeys_definitions_pgtest ${journeys_definitions_dir}/definitions_pgtest.cc)
target_link_libraries(journeys_definitions_pgtest PRIVATE journeys_definitions
  journeys_migrations touchline_service_host touchline_test_env touchline_auth_testing
  touchline_status PkgConfig::PQXX GTest::gmock GTest::gtest_main)
touchline_warnings(journeys_definitions_pgtest)
touchline_discover_tests(journeys_definitions_pgtest LABELS pg)
