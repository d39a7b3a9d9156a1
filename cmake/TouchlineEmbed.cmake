# touchline_embed_migrations(TARGET <lib> SCHEMA <schema> FILES <sql files...>)
#
# Compiles numbered migration files into the library as
#   const std::vector<touchline::pg::Migration>& <schema>_migrations();
# so a service binary carries its schema with it (no files to ship next to it).
function(touchline_embed_migrations)
  cmake_parse_arguments(ARG "" "TARGET;SCHEMA" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_SCHEMA}_migrations.cc)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSCHEMA=${ARG_SCHEMA} "-DFILES=${ARG_FILES}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake
    DEPENDS ${ARG_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake
    COMMENT "Embedding ${ARG_SCHEMA} migrations"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${out})
endfunction()
