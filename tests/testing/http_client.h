// One HTTP/JSON call to the gateway's HTTP front, for process-level tests.
#ifndef TOUCHLINE_TESTS_TESTING_HTTP_CLIENT_H_
#define TOUCHLINE_TESTS_TESTING_HTTP_CLIENT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace touchline::testing {

struct HttpReply {
  // 0 when no response came.
  int status = 0;
  // Header names in lower case.
  std::multimap<std::string, std::string> headers;
  std::string body;
  // The body parsed as JSON; null when it is not JSON.
  nlohmann::json json;

  // The first value of header `name` (lower case), "" when absent.
  std::string header(const std::string& name) const;
};

// `method` `path` (with query string) on 127.0.0.1:`port`, with `headers` and `body`, and
// "Authorization: Bearer <token>" when `token` is not empty.
HttpReply HttpCall(int port, const std::string& method, const std::string& path,
                   const std::string& token = "", const std::string& body = "",
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

// Percent-encodes `text` for a path segment or query value (UTF-8 bytes as %XX).
std::string UrlEncode(const std::string& text);

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_HTTP_CLIENT_H_
