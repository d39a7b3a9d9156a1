# Automation jobs: the engine's durable job queue on PostgreSQL (migrations/0003_jobs.sql).
#
# Included with include() from ../CMakeLists.txt, after automation_migrations; headers are
# included as "services/automation/...".
set(automation_jobs_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(automation_jobs ${automation_jobs_dir}/job_queue.cc)
target_include_directories(automation_jobs PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_jobs
  PUBLIC touchline_pg absl::status absl::statusor absl::synchronization absl::time
         PkgConfig::PQXX
  PRIVATE touchline_ids absl::strings)
touchline_warnings(automation_jobs)

# The queue against the schema as the host migrates it. Needs TOUCHLINE_PG_DSN
# (scripts/dev-servers.sh).
add_executable(automation_jobs_pgtest ${automation_jobs_dir}/job_queue_pgtest.cc)
target_link_libraries(automation_jobs_pgtest PRIVATE automation_jobs automation_migrations
  touchline_service_host touchline_test_env touchline_status PkgConfig::PQXX absl::strings
  absl::synchronization GTest::gmock GTest::gtest_main)
touchline_warnings(automation_jobs_pgtest)
touchline_discover_tests(automation_jobs_pgtest LABELS pg)
