# Webhook delivery: Standard Webhooks signatures (signing.h) and the libcurl sender that checks
# the address it connects to (sender.h, address_policy.h).
if(NOT TARGET CURL::libcurl)
  find_package(CURL REQUIRED)
endif()

add_library(automation_webhooks
  ${CMAKE_CURRENT_SOURCE_DIR}/webhooks/address_policy.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/webhooks/sender.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/webhooks/signing.cc)
target_include_directories(automation_webhooks PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_webhooks
  PUBLIC absl::random_random absl::status absl::statusor absl::time absl::span
  PRIVATE CURL::libcurl PkgConfig::SODIUM absl::strings absl::synchronization Threads::Threads)
touchline_warnings(automation_webhooks)

add_executable(automation_webhooks_test
  ${CMAKE_CURRENT_SOURCE_DIR}/webhooks/signing_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/webhooks/sender_test.cc)
target_link_libraries(automation_webhooks_test PRIVATE automation_webhooks OpenSSL::Crypto
  PkgConfig::HTTPLIB absl::strings absl::synchronization Threads::Threads GTest::gmock
  GTest::gtest_main)
touchline_warnings(automation_webhooks_test)
gtest_discover_tests(automation_webhooks_test)
