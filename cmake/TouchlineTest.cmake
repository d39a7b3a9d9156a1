# touchline_discover_tests(<target> [LABELS <label>...])
#
# gtest_discover_tests() with CTest labels. Its PROPERTIES argument splits values at ';'
# (CMake issue 17812), so LABELS "pg;redis" would label the tests "pg" only; here the labels
# are set by a script ctest runs after discovery.
function(touchline_discover_tests target)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  gtest_discover_tests(${target} TEST_LIST ${target}_tests)
  if(ARG_LABELS)
    set(script ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake)
    file(WRITE ${script}
         "set_tests_properties(\${${target}_tests} PROPERTIES LABELS \"${ARG_LABELS}\")\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
  endif()
endfunction()
