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

add_library(touchline_permissions_identity
  ${identity_dir}/identity_manager.cc
  ${identity_dir}/identity_store.cc
  ${identity_dir}/login_throttle.cc)
target_include_directories(touchline_permissions_identity PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_identity
  PUBLIC touchline_permissions_credentials touchline_permissions_proto touchline_auth
         touchline_pg touchline_paging PkgConfig::PQXX absl::status absl::statusor absl::time
  PRIVATE touchline_permissions_audit touchline_events touchline_events_proto touchline_ids
          touchline_status touchline_text PkgConfig::SODIUM
          nlohmann_json::nlohmann_json absl::flat_hash_set absl::strings protobuf::libprotobuf)
touchline_warnings(touchline_permissions_identity)

# Needs TOUCHLINE_PG_DSN (scripts/dev-servers.sh).
add_executable(identity_manager_pgtest ${identity_dir}/identity_manager_pgtest.cc)
target_link_libraries(identity_manager_pgtest PRIVATE touchline_permissions_identity
  touchline_permissions_migrations touchline_events touchline_events_proto touchline_status
  touchline_auth_testing touchline_test_env PkgConfig::PQXX absl::strings absl::synchronization
  GTest::gmock GTest::gtest_main)
touchline_warnings(identity_manager_pgtest)
touchline_discover_tests(identity_manager_pgtest LABELS pg)
