# Cron schedules of rules: parsed with positions, fired in the tenant's time zone (cron.h).
# Pure.
add_library(automation_schedule ${CMAKE_CURRENT_SOURCE_DIR}/schedule/cron.cc)
target_include_directories(automation_schedule PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_schedule
  PUBLIC absl::status absl::statusor absl::time
  PRIVATE absl::strings)
touchline_warnings(automation_schedule)

add_executable(automation_cron_test ${CMAKE_CURRENT_SOURCE_DIR}/schedule/cron_test.cc)
target_link_libraries(automation_cron_test PRIVATE automation_schedule absl::strings
  GTest::gmock GTest::gtest_main)
touchline_warnings(automation_cron_test)
gtest_discover_tests(automation_cron_test)
