# The pure domain logic of the contacts service (no I/O): model <-> proto and JSON,
# validation and normalisation, dedupe keys, merging and update masks.
#
# Included with include() rather than add_subdirectory() so the targets live in the
# includer's directory scope. The includer sets TOUCHLINE_ROOT to the repository root (the
# top-level build: ${PROJECT_SOURCE_DIR}); headers are included as "services/contacts/...".
# Expects the targets touchline_contacts_proto, touchline_ids, touchline_text,
# touchline_validation, touchline_status and touchline_phonenumber, the packages absl, ICU
# (uc, i18n), nlohmann_json and GTest, and include(GoogleTest).
if(NOT DEFINED TOUCHLINE_ROOT)
  message(FATAL_ERROR "domain.cmake: set TOUCHLINE_ROOT to the repository root first")
endif()

set(contacts_domain_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(contacts_domain
  ${contacts_domain_dir}/customer_json.cc
  ${contacts_domain_dir}/customer_merge.cc
  ${contacts_domain_dir}/customer_proto.cc
  ${contacts_domain_dir}/customer_update.cc
  ${contacts_domain_dir}/customer_validation.cc
  ${contacts_domain_dir}/name_key.cc)
target_include_directories(contacts_domain PUBLIC ${TOUCHLINE_ROOT})
target_link_libraries(contacts_domain
  PUBLIC touchline_contacts_proto touchline_ids touchline_text touchline_validation
         nlohmann_json::nlohmann_json
         absl::status absl::statusor absl::strings absl::time
  PRIVATE touchline_phonenumber touchline_status ICU::uc ICU::i18n absl::str_format)
touchline_warnings(contacts_domain)

add_executable(contacts_domain_test
  ${contacts_domain_dir}/customer_json_test.cc
  ${contacts_domain_dir}/customer_merge_test.cc
  ${contacts_domain_dir}/customer_proto_test.cc
  ${contacts_domain_dir}/customer_update_test.cc
  ${contacts_domain_dir}/customer_validation_test.cc
  ${contacts_domain_dir}/name_key_test.cc)
target_link_libraries(contacts_domain_test PRIVATE contacts_domain touchline_status GTest::gmock
                      GTest::gtest_main)
touchline_warnings(contacts_domain_test)
gtest_discover_tests(contacts_domain_test)
