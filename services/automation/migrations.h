// The automation schema's migrations, compiled in from migrations/*.sql by
// touchline_embed_migrations() (cmake/TouchlineEmbed.cmake).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_MIGRATIONS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_MIGRATIONS_H_

#include <vector>

#include "common/pg/migrator.h"

namespace touchline::pg {
const std::vector<Migration>& automation_migrations();
}  // namespace touchline::pg

#endif  // TOUCHLINE_SERVICES_AUTOMATION_MIGRATIONS_H_
