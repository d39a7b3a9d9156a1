# The organisation model of the permissions service: pure validation of its input here; its
# manager, store interface and PostgreSQL store are part of touchline_permissions_lib
# (../CMakeLists.txt), which includes this file before defining that library.
set(permissions_org_dir ${CMAKE_CURRENT_LIST_DIR})

# Pure validation of the organisation model's input (no I/O).
add_library(touchline_permissions_org_validation ${permissions_org_dir}/org_validation.cc)
target_include_directories(touchline_permissions_org_validation PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(touchline_permissions_org_validation
  PUBLIC touchline_permissions_proto touchline_status absl::status absl::statusor
  PRIVATE touchline_auth touchline_text touchline_ids touchline_validation absl::strings
          absl::flat_hash_set)
touchline_warnings(touchline_permissions_org_validation)

add_executable(org_validation_test ${permissions_org_dir}/org_validation_test.cc)
target_link_libraries(org_validation_test PRIVATE touchline_permissions_org_validation
  touchline_status GTest::gmock GTest::gtest_main)
touchline_warnings(org_validation_test)
gtest_discover_tests(org_validation_test)
