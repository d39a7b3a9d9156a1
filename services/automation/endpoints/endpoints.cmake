# Webhook endpoints: their secrets sealed at rest (SecretBox), the store (PostgreSQL and in
# memory) and EndpointManager.
#
# Included with include() from ../CMakeLists.txt; headers are included as
# "services/automation/...".
set(automation_endpoints_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(automation_secret_box ${automation_endpoints_dir}/secret_box.cc)
target_include_directories(automation_secret_box PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_secret_box PUBLIC absl::status absl::statusor
  PRIVATE PkgConfig::SODIUM absl::strings)
touchline_warnings(automation_secret_box)

add_executable(automation_secret_box_test ${automation_endpoints_dir}/secret_box_test.cc)
target_link_libraries(automation_secret_box_test PRIVATE automation_secret_box absl::strings
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_secret_box_test)
touchline_discover_tests(automation_secret_box_test)

# The store interface with what both stores decide alike, the PostgreSQL store and the manager.
add_library(automation_endpoints
  ${automation_endpoints_dir}/endpoint_rules.cc
  ${automation_endpoints_dir}/pg_endpoint_store.cc
  ${automation_endpoints_dir}/endpoint_manager.cc)
target_include_directories(automation_endpoints PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_endpoints
  PUBLIC automation_secret_box touchline_automation_proto touchline_events_proto touchline_auth
         touchline_paging touchline_pg touchline_idempotency absl::status absl::statusor
         absl::time
  PRIVATE automation_webhooks touchline_audit touchline_events touchline_ids touchline_status
          touchline_validation absl::strings nlohmann_json::nlohmann_json PkgConfig::PQXX)
touchline_warnings(automation_endpoints)

# The in-memory store, and the manager's rules tested on it (hermetic).
add_library(automation_endpoints_testing
  ${automation_endpoints_dir}/testing/in_memory_endpoint_store.cc)
target_include_directories(automation_endpoints_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_endpoints_testing
  PUBLIC automation_endpoints touchline_idempotency absl::synchronization
  PRIVATE absl::strings)
touchline_warnings(automation_endpoints_testing)

add_executable(automation_endpoint_manager_test
  ${automation_endpoints_dir}/endpoint_manager_test.cc)
target_link_libraries(automation_endpoint_manager_test PRIVATE automation_endpoints_testing
  automation_webhooks touchline_auth_testing touchline_paging touchline_status absl::strings
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_endpoint_manager_test)
touchline_discover_tests(automation_endpoint_manager_test)

# The PostgreSQL store and the manager on it, against the schema as the host migrates it.
# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(automation_endpoints_pgtest ${automation_endpoints_dir}/endpoints_pgtest.cc)
target_link_libraries(automation_endpoints_pgtest PRIVATE automation_endpoints
  automation_migrations automation_webhooks touchline_service_host touchline_auth_testing
  touchline_test_env touchline_paging touchline_status PkgConfig::PQXX absl::strings
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_endpoints_pgtest)
touchline_discover_tests(automation_endpoints_pgtest LABELS pg)
