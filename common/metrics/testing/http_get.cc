#include "common/metrics/testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace touchline::metrics::testing {
namespace {

absl::Status Errno(std::string_view what) {
  return absl::UnavailableError(absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

absl::StatusOr<std::string> Exchange(int fd, int port, std::string_view path) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Errno("connect");
  }
  // HTTP/1.0: the server closes the connection after the response, which marks its end.
  const std::string request =
      absl::StrCat("GET ", std::string(path), " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  for (std::string_view rest = request; !rest.empty();) {
    const ssize_t sent = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EINTR) return Errno("send");
    if (sent > 0) rest.remove_prefix(static_cast<size_t>(sent));
  }
  std::string response;
  char buffer[4096];
  while (true) {
    const ssize_t received = ::recv(fd, buffer, sizeof(buffer), 0);
    if (received == 0) return response;
    if (received < 0 && errno != EINTR) return Errno("recv");
    if (received > 0) response.append(buffer, static_cast<size_t>(received));
  }
}

}  // namespace

absl::StatusOr<std::string> HttpGet(int port, std::string_view path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Errno("socket");
  absl::StatusOr<std::string> response = Exchange(fd, port, path);
  ::close(fd);
  return response;
}

}  // namespace touchline::metrics::testing
