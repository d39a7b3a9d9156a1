// The journeys schema's migrations, compiled in from migrations/*.sql by
// touchline_embed_migrations() (cmake/TouchlineEmbed.cmake).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_MIGRATIONS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_MIGRATIONS_H_

#include <vector>

#include "common/pg/migrator.h"

namespace touchline::pg {
const std::vector<Migration>& journeys_migrations();
}  // namespace touchline::pg

#endif  // TOUCHLINE_SERVICES_JOURNEYS_MIGRATIONS_H_
