# The automation service as a process: the gRPC adapter and main.cc.
#
# Included with include() from CMakeLists.txt, after the folders' targets; headers are included
# as "services/automation/...".
set(automation_service_dir ${CMAKE_CURRENT_LIST_DIR})

# The gRPC adapter: requests to the managers.
add_library(automation_service_adapter ${automation_service_dir}/automation_service.cc)
target_include_directories(automation_service_adapter PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(automation_service_adapter
  PUBLIC automation_rule_store automation_engine automation_tasks automation_endpoints
         touchline_automation_proto touchline_server
         touchline_auth
  PRIVATE touchline_status)
touchline_warnings(automation_service_adapter)

add_executable(touchline-automation ${automation_service_dir}/main.cc)
target_link_libraries(touchline-automation PRIVATE automation_service_adapter
  automation_engine_host automation_follow_ups automation_migrations touchline_customer_read_model
  touchline_service_host touchline_config touchline_events absl::flags)
touchline_warnings(touchline-automation)
