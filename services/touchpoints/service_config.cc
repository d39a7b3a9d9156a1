#include "services/touchpoints/service_config.h"

#include "absl/flags/flag.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"

ABSL_FLAG(int, write_batch_threads, 2,
          "Threads that commit RecordTouchpoint in batches (one transaction per batch)");
ABSL_FLAG(touchline::touchpoints::ClockSkew, max_clock_skew,
          touchline::touchpoints::ClockSkew{absl::Minutes(5)},
          "How far in the future a touchpoint's occur_time may be");
ABSL_FLAG(int, partition_months_ahead, 3,
          "Monthly partitions kept created ahead of the current month");
ABSL_FLAG(std::string, contacts_addr, "",
          "Where the contacts service runs (e.g. dns:///contacts:8080), asked on the caller's "
          "behalf for a customer the read model does not know yet");

namespace touchline::touchpoints {

bool AbslParseFlag(absl::string_view text, ClockSkew* skew, std::string* error) {
  if (!absl::AbslParseFlag(text, &skew->value, error)) return false;
  if (skew->value >= absl::ZeroDuration()) return true;
  *error = "must not be negative";
  return false;
}

std::string AbslUnparseFlag(ClockSkew skew) { return absl::AbslUnparseFlag(skew.value); }

ServiceConfig ServiceConfigOrDie(bool migrate_only) {
  ServiceConfig config;
  config.validation.max_clock_skew = absl::GetFlag(FLAGS_max_clock_skew).value;
  config.months_ahead = absl::GetFlag(FLAGS_partition_months_ahead);
  if (config.months_ahead < 0 || config.months_ahead > 24) {
    config::Fatal("--partition_months_ahead must be between 0 and 24");
  }
  config.batching.threads = absl::GetFlag(FLAGS_write_batch_threads);
  config.batching.max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls));
  config.contacts_addr = absl::GetFlag(FLAGS_contacts_addr);
  if (!migrate_only && config.contacts_addr.empty()) config::Fatal("--contacts_addr is required");
  return config;
}

}  // namespace touchline::touchpoints
