// Client channels to the other Touchline services.
#ifndef TOUCHLINE_COMMON_CHANNEL_BALANCED_CHANNEL_H_
#define TOUCHLINE_COMMON_CHANNEL_BALANCED_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"

namespace touchline::channel {

// An insecure channel to `target` (e.g. "dns:///contacts:8080") that balances calls round
// robin over every address the name resolves to, so each replica of the service gets its share.
std::shared_ptr<grpc::Channel> BalancedChannel(const std::string& target);

}  // namespace touchline::channel

#endif  // TOUCHLINE_COMMON_CHANNEL_BALANCED_CHANNEL_H_
