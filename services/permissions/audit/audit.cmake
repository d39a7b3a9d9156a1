# The tamper-evident audit log of the permissions service (audit_log.h): per-tenant hash
# chains in the permissions schema (migrations/0003_audit.sql, embedded with the schema's
# other migrations by touchline_permissions_migrations), listing, verification, and the
# consumer of the "audit" topic.
#
# Included with include() from this directory's CMakeLists.txt, after
# touchline_permissions_migrations is defined; headers are included as
# "services/permissions/...".
set(permissions_audit_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(touchline_permissions_audit ${permissions_audit_dir}/audit_log.cc
  ${permissions_audit_dir}/pg_audit_store.cc)
target_include_directories(touchline_permissions_audit PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_audit
  PUBLIC touchline_permissions_proto touchline_events_proto touchline_events touchline_pg
         touchline_paging absl::status absl::statusor
  PRIVATE touchline_auth touchline_status touchline_text absl::strings absl::time
          nlohmann_json::nlohmann_json PkgConfig::SODIUM)
touchline_warnings(touchline_permissions_audit)

# Needs TOUCHLINE_PG_DSN and TOUCHLINE_REDIS_ADDR (scripts/dev-servers.sh).
add_executable(audit_log_pgtest ${permissions_audit_dir}/audit_log_pgtest.cc)
target_link_libraries(audit_log_pgtest PRIVATE touchline_permissions_audit
  touchline_permissions_migrations touchline_audit touchline_test_env touchline_redis
  GTest::gmock GTest::gtest_main)
touchline_warnings(audit_log_pgtest)
touchline_discover_tests(audit_log_pgtest LABELS pg redis)

# The in-memory audit store, and AuditLog's rules tested on it (hermetic).
add_library(touchline_permissions_audit_testing
  ${permissions_audit_dir}/testing/in_memory_audit_store.cc)
target_include_directories(touchline_permissions_audit_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_audit_testing
  PUBLIC touchline_permissions_audit absl::synchronization
  PRIVATE touchline_status)
touchline_warnings(touchline_permissions_audit_testing)

add_executable(audit_log_test ${permissions_audit_dir}/audit_log_test.cc)
target_link_libraries(audit_log_test PRIVATE touchline_permissions_audit_testing touchline_auth
  touchline_auth_testing touchline_status GTest::gmock GTest::gtest_main)
touchline_warnings(audit_log_test)
gtest_discover_tests(audit_log_test)
