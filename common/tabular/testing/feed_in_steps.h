// Feeds a tabular reader (CsvReader, CsvFileReader, VCardReader) a file in steps, for tests.
#ifndef TOUCHLINE_COMMON_TABULAR_TESTING_FEED_IN_STEPS_H_
#define TOUCHLINE_COMMON_TABULAR_TESTING_FEED_IN_STEPS_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace touchline::tabular::testing {

// Feeds `reader` the file `bytes`, `step` bytes at a time, then its end, keeping each item (row
// or card) it gives in `items`. The status that stopped it; OK when it read to the end.
template <typename Reader, typename Item>
absl::Status FeedInSteps(Reader& reader, std::string_view bytes, size_t step,
                         std::vector<Item>& items) {
  const auto keep = [&items](Item& item) {
    items.push_back(item);
    return absl::OkStatus();
  };
  for (size_t at = 0; at < bytes.size(); at += step) {
    if (absl::Status status = reader.Feed(bytes.substr(at, step), keep); !status.ok()) {
      return status;
    }
  }
  return reader.Finish(keep);
}

}  // namespace touchline::tabular::testing

#endif  // TOUCHLINE_COMMON_TABULAR_TESTING_FEED_IN_STEPS_H_
