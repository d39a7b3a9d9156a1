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

// A TCP connection to 127.0.0.1:`port` from `source_address` ("" for the default), with
// 10 s send and receive timeouts; the descriptor, or -1 when it could not connect.
int OpenConnection(int port, const std::string& source_address = "");

// Like HttpCall, but the request goes out byte for byte as given, header names and values
// unchecked (any byte, any length, any number), on a new connection from `source_address` (a
// local address such as "127.0.0.2", "" for the default) that is closed after the reply.
// A Content-Length header is added for `body`. status 0 when no reply came.
HttpReply RawHttpCall(int port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body = "", const std::string& source_address = "");

// Percent-encodes `text` for a path segment or query value (UTF-8 bytes as %XX).
std::string UrlEncode(const std::string& text);

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_HTTP_CLIENT_H_
