#include "services/automation/webhooks/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace touchline::automation {
namespace {

// Whether the top `bits` bits of `address` are those of `prefix` (both host order).
constexpr bool InV4(uint32_t address, uint32_t prefix, int bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (address & mask) == (prefix & mask);
}

std::optional<std::string> ForbiddenV4(uint32_t a) {
  if (InV4(a, 0x00000000, 8)) return "unspecified";         // 0.0.0.0/8, "this network"
  if (InV4(a, 0x7f000000, 8)) return "loopback";            // 127/8
  if (InV4(a, 0x0a000000, 8)) return "private";             // 10/8
  if (InV4(a, 0xac100000, 12)) return "private";            // 172.16/12
  if (InV4(a, 0xc0a80000, 16)) return "private";            // 192.168/16
  if (InV4(a, 0xa9fe0000, 16)) return "link-local";         // 169.254/16
  if (InV4(a, 0x64400000, 10)) return "carrier-grade NAT";  // 100.64/10
  if (InV4(a, 0xe0000000, 4)) return "multicast";           // 224/4
  if (InV4(a, 0xf0000000, 4)) return "reserved";            // 240/4, and 255.255.255.255
  return std::nullopt;
}

uint32_t V4At(const uint8_t* bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
         uint32_t{bytes[3]};
}

bool StartsWith(const uint8_t* bytes, std::initializer_list<uint8_t> prefix) {
  return std::memcmp(bytes, prefix.begin(), prefix.size()) == 0;
}

std::optional<std::string> ForbiddenV6(const uint8_t* b) {
  static constexpr uint8_t kZeros[12] = {};
  if (std::memcmp(b, kZeros, 12) == 0) {
    const uint32_t tail = V4At(b + 12);
    if (tail == 0) return "unspecified";  // ::
    if (tail == 1) return "loopback";     // ::1
    return "reserved";                    // IPv4-compatible, deprecated (RFC 4291)
  }
  if (StartsWith(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) return ForbiddenV4(V4At(b + 12));
  if (StartsWith(b, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return ForbiddenV4(V4At(b + 12));  // NAT64, RFC 6052: a gateway would connect to it
  }
  if (StartsWith(b, {0x20, 0x02})) return ForbiddenV4(V4At(b + 2));  // 6to4
  if (b[0] == 0xff) return "multicast";                              // ff00::/8
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";    // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";       // fec0::/10
  if ((b[0] & 0xfe) == 0xfc) return "private";                       // fc00::/7
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ForbiddenAddressReason(const sockaddr& address) {
  if (address.sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, &address, sizeof(v4));
    return ForbiddenV4(ntohl(v4.sin_addr.s_addr));
  }
  if (address.sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &address, sizeof(v6));
    return ForbiddenV6(v6.sin6_addr.s6_addr);
  }
  return "unknown address family";
}

std::string AddressText(const sockaddr& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, &address, sizeof(v4));
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
  } else if (address.sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &address, sizeof(v6));
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
  } else {
    return "?";
  }
  return text;
}

}  // namespace touchline::automation
