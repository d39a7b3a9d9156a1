#include "tests/testing/http_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace touchline::testing {

std::string HttpReply::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpReply HttpCall(int port, const std::string& method, const std::string& path,
                   const std::string& token, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.body = body;
  for (const auto& [name, value] : headers) request.headers.emplace(name, value);
  if (!token.empty()) request.headers.emplace("Authorization", "Bearer " + token);
  if (!body.empty() && !request.has_header("Content-Type")) {
    request.headers.emplace("Content-Type", "application/json");
  }
  HttpReply reply;
  const httplib::Result result = client.send(request);
  if (!result) return reply;
  reply.status = result->status;
  reply.body = result->body;
  for (const auto& [name, value] : result->headers) {
    reply.headers.emplace(absl::AsciiStrToLower(name), value);
  }
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

namespace {

// Status, headers and body of a whole HTTP/1.1 response (read until the server closed).
HttpReply ParseResponse(const std::string& raw) {
  HttpReply reply;
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return reply;
  const std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, head_end), "\r\n");
  const std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &reply.status)) return reply;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    reply.headers.emplace(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  reply.body = raw.substr(head_end + 4);
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

}  // namespace

int OpenConnection(int port, const std::string& source_address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  const timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  bool ok = true;
  if (!source_address.empty()) {
    ok = ::inet_pton(AF_INET, source_address.c_str(), &address.sin_addr) == 1 &&
         ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ok = ok && ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  if (!ok) {
    ::close(fd);
    return -1;
  }
  return fd;
}

HttpReply RawHttpCall(int port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body, const std::string& source_address) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  request += body;

  const int fd = OpenConnection(port, source_address);
  if (fd < 0) return {};
  bool ok = true;
  for (size_t sent = 0; ok && sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    // The server may answer (431, 400) and close before it has read everything.
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  for (ssize_t n; ok && (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    raw.append(buffer, static_cast<size_t>(n));
    // Done at the end of the body: a server may keep the connection open a while.
    const HttpReply so_far = ParseResponse(raw);
    size_t length = 0;
    if (so_far.status != 0 && absl::SimpleAtoi(so_far.header("content-length"), &length) &&
        so_far.body.size() >= length) {
      break;
    }
  }
  ::close(fd);
  return ParseResponse(raw);
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
      out += escaped;
    }
  }
  return out;
}

}  // namespace touchline::testing
