// The touchpoints service's own flags (beside the host's, common/service_host), checked.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_SERVICE_CONFIG_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_SERVICE_CONFIG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "services/touchpoints/touchpoint_validation.h"

namespace touchline::touchpoints {

// --max_clock_skew's type: a duration that is refused while the flags are parsed when it is
// negative, so that the error is the one line a bad value gets (config::ParseFlags), before
// anything else is read.
struct ClockSkew {
  absl::Duration value;
};
bool AbslParseFlag(absl::string_view text, ClockSkew* skew, std::string* error);
std::string AbslUnparseFlag(ClockSkew skew);

struct ServiceConfig {
  ValidationOptions validation;  // --max_clock_skew
  BatchOptions batching;         // --write_batch_threads, --max_queued_calls
  int months_ahead = 0;          // --partition_months_ahead, 0 to 24
  std::string contacts_addr;     // --contacts_addr, required unless migrating only
};

// The flags above, after config::ParseFlags; config::Fatal (one line, exit 2) on a bad one.
ServiceConfig ServiceConfigOrDie(bool migrate_only);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_SERVICE_CONFIG_H_
