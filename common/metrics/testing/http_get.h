// A minimal HTTP/1.0 GET over a plain socket, so tests can scrape /metrics without an HTTP
// client library.
#ifndef TOUCHLINE_COMMON_METRICS_TESTING_HTTP_GET_H_
#define TOUCHLINE_COMMON_METRICS_TESTING_HTTP_GET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace touchline::metrics::testing {

// GETs http://127.0.0.1:<port><path> and returns the whole response, status line and headers
// included. UNAVAILABLE if the connection or the exchange fails.
absl::StatusOr<std::string> HttpGet(int port, std::string_view path);

}  // namespace touchline::metrics::testing

#endif  // TOUCHLINE_COMMON_METRICS_TESTING_HTTP_GET_H_
