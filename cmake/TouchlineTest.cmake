# touchline_discover_tests(<target> [LABELS <label>...])
#
# gtest_discover_tests() with CTest labels. Its PROPERTIES argument splits values at ';'
# (CMake issue 17812), so LABELS "pg;redis" would label the tests "pg" only; here the labels
# are set by a script ctest runs after discovery.
#
# The tier shows in the name as well as the labels: a test program that needs PostgreSQL or
# Redis (label pg or redis) is named *_pgtest, or *_process_test when it starts the binaries
# (label process); a *_pgtest has the label of what it needs. Hermetic tests are *_test.
function(touchline_discover_tests target)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  set(needs_servers FALSE)
  if("pg" IN_LIST ARG_LABELS OR "redis" IN_LIST ARG_LABELS)
    set(needs_servers TRUE)
  endif()
  if(needs_servers AND NOT target MATCHES "_(pgtest|process_test)$")
    message(FATAL_ERROR "${target} needs PostgreSQL or Redis (LABELS ${ARG_LABELS}): "
                        "name it *_pgtest (or *_process_test with LABELS process)")
  endif()
  if(target MATCHES "_pgtest$" AND NOT needs_servers)
    message(FATAL_ERROR "${target}: a *_pgtest needs LABELS pg and/or redis")
  endif()
  gtest_discover_tests(${target} TEST_LIST ${target}_tests)
  if(ARG_LABELS)
    set(script ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake)
    file(WRITE ${script}
         "set_tests_properties(\${${target}_tests} PROPERTIES LABELS \"${ARG_LABELS}\")\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
  endif()
endfunction()
