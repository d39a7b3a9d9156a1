# Script mode helper for touchline_embed_migrations: writes OUT from FILES.
# File names must look like 0001_some_name.sql; the number is the version.
set(body "")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  if(NOT name MATCHES "^([0-9]+)_(.+)\\.sql$")
    message(FATAL_ERROR "migration file ${name} is not named NNNN_name.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ ${f} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"__sql__(${sql})__sql__\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from the migration files; do not edit.
#include <vector>

#include \"common/pg/migrator.h\"

namespace touchline::pg {
const std::vector<Migration>& ${SCHEMA}_migrations() {
  static const auto* const kMigrations = new std::vector<Migration>{
${body}  };
  return *kMigrations;
}
}  // namespace touchline::pg
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
