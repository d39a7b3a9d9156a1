# Identity in the permissions service: users, passwords, TOTP, login throttling, sessions and
# API keys. Included from services/permissions/CMakeLists.txt, which defines
# touchline_permissions_migrations (every migration of the schema) and, through audit.cmake,
# touchline_permissions_audit.
set(identity_dir ${CMAKE_CURRENT_LIST_DIR})

# Pure credential logic (no I/O): password rules and argon2id hashes, TOTP.
add_library(touchline_permissions_credentials ${identity_dir}/password.cc ${identity_dir}/totp.cc)
target_include_directories(touchline_permissions_credentials PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_credentials
  PUBLIC absl::statusor absl::time
  PRIVATE touchline_text PkgConfig::SODIUM OpenSSL::Crypto absl::strings)
touchline_warnings(touchline_permissions_credentials)

add_executable(identity_credentials_test ${identity_dir}/password_test.cc
                                         ${identity_dir}/totp_test.cc)
target_link_libraries(identity_credentials_test PRIVATE touchline_permissions_credentials
  PkgConfig::SODIUM GTest::gmock GTest::gtest_main)
touchline_warnings(identity_credentials_test)
gtest_discover_tests(identity_credentials_test)

# The rules (IdentityManager: users.cc, sessions.cc, delegated_sessions.cc, api_keys.cc) over
# the store interface (identity_store.h); the PostgreSQL store (pg_identity_store.cc, sql.h) in
# its own library so the rules link without it.
add_library(touchline_permissions_identity
  ${identity_dir}/api_keys.cc
  ${identity_dir}/delegated_sessions.cc
  ${identity_dir}/identity_internal.cc
  ${identity_dir}/identity_manager.cc
  ${identity_dir}/login_throttle.cc
  ${identity_dir}/sessions.cc
  ${identity_dir}/users.cc)
target_include_directories(touchline_permissions_identity PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_identity
  PUBLIC touchline_permissions_credentials touchline_permissions_proto touchline_events_proto
         touchline_auth touchline_idempotency touchline_paging absl::status absl::statusor
         absl::time
  PRIVATE touchline_events touchline_ids touchline_status touchline_text touchline_validation
          PkgConfig::SODIUM
          nlohmann_json::nlohmann_json absl::flat_hash_set absl::strings protobuf::libprotobuf)
touchline_warnings(touchline_permissions_identity)

add_library(touchline_permissions_identity_pg ${identity_dir}/pg_identity_store.cc)
target_include_directories(touchline_permissions_identity_pg PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_identity_pg
  PUBLIC touchline_permissions_identity touchline_pg PkgConfig::PQXX
  PRIVATE touchline_permissions_audit touchline_events touchline_ids touchline_status
          absl::strings)
touchline_warnings(touchline_permissions_identity_pg)

# The in-memory store and test callers, for tests of the rules.
add_library(touchline_permissions_identity_testing
  ${identity_dir}/testing/callers.cc
  ${identity_dir}/testing/in_memory_identity_store.cc)
target_include_directories(touchline_permissions_identity_testing PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_identity_testing
  PUBLIC touchline_permissions_identity absl::synchronization
  PRIVATE touchline_auth_testing touchline_ids touchline_status absl::strings)
touchline_warnings(touchline_permissions_identity_testing)

# Hermetic: IdentityManager on the in-memory store.
add_executable(identity_manager_test ${identity_dir}/identity_manager_test.cc)
target_link_libraries(identity_manager_test PRIVATE touchline_permissions_identity_testing
  touchline_events_proto touchline_status touchline_auth_testing PkgConfig::SODIUM
  GTest::gmock GTest::gtest_main)
touchline_warnings(identity_manager_test)
gtest_discover_tests(identity_manager_test)

# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(identity_manager_pgtest ${identity_dir}/identity_manager_pgtest.cc)
target_link_libraries(identity_manager_pgtest PRIVATE touchline_permissions_identity_pg
  touchline_permissions_identity_testing
  touchline_permissions_migrations touchline_events touchline_events_proto touchline_status
  touchline_ids touchline_auth_testing touchline_test_env PkgConfig::PQXX absl::strings
  absl::synchronization GTest::gmock GTest::gtest_main)
touchline_warnings(identity_manager_pgtest)
touchline_discover_tests(identity_manager_pgtest LABELS pg)
