# The path engine: pure, deterministic (path.h).
add_library(journeys_path ${CMAKE_CURRENT_SOURCE_DIR}/path/path.cc)
target_include_directories(journeys_path PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(journeys_path
  PUBLIC journeys_facts_proto touchline_journeys_proto touchline_contacts_proto
         touchline_touchpoints_proto absl::time protobuf::libprotobuf
  PRIVATE absl::flat_hash_map absl::strings)
touchline_warnings(journeys_path)

add_executable(journeys_path_test ${CMAKE_CURRENT_SOURCE_DIR}/path/path_test.cc)
target_link_libraries(journeys_path_test PRIVATE journeys_path absl::strings GTest::gmock
  GTest::gtest_main)
touchline_warnings(journeys_path_test)
gtest_discover_tests(journeys_path_test)
