// Which addresses a webhook may connect to. A tenant chooses the URL, so without this check a
// rule could make the service call itself, its neighbours on the private network or the
// cloud's metadata endpoint (169.254.169.254) and read the answer back in the run's details.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_ADDRESS_POLICY_H_
#define TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_ADDRESS_POLICY_H_

#include <sys/socket.h>

#include <optional>
#include <string>

namespace touchline::automation {

// Why a webhook may not connect to `address` (the start of a whole sockaddr_in or
// sockaddr_in6):
// "loopback", "private" (RFC 1918, fc00::/7 and deprecated site-local fec0::/10),
// "link-local", "unspecified" (0.0.0.0/8, ::), "multicast", "carrier-grade NAT" (100.64/10),
// "reserved" (240/4 and the broadcast address, and deprecated IPv4-compatible ::/96), or
// "unknown address family". An address that embeds an IPv4 address (IPv4-mapped ::ffff:0:0/96,
// NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that address. nullopt: the address may be
// used.
std::optional<std::string> ForbiddenAddressReason(const sockaddr& address);

// The address in text (no port), as inet_ntop writes it; "?" for another family.
std::string AddressText(const sockaddr& address);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_ADDRESS_POLICY_H_
