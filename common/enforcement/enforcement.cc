#include "common/enforcement/enforcement.h"

#include <utility>

#include "absl/flags/flag.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/enforcement/shares_read_model.h"

namespace touchline::enforcement {
namespace {

events::ConsumerOptions SharesConsumerOptions(const EnforcementOptions& options) {
  events::ConsumerOptions consumer;
  consumer.stream_prefix = options.stream_prefix;
  consumer.topic = kPermissionsTopic;
  consumer.group = options.consumer_group;
  consumer.consumer = events::ProcessConsumerName();
  consumer.inbox_retention = options.inbox_retention;
  consumer.dead_letter_max_len = options.dead_letter_max_len;
  return consumer;
}

// The signer `create` makes of the content of --edge_secret_file; nullopt when it is empty.
template <typename Signer>
std::optional<Signer> SignerFromFlags(absl::StatusOr<Signer> (*create)(std::string_view,
                                                                       absl::Duration)) {
  const std::string file = absl::GetFlag(FLAGS_edge_secret_file);
  if (file.empty()) return std::nullopt;
  return config::OrDie(
      create(config::ReadFileOrDie("edge_secret_file", file), Signer::kDefaultTolerance),
      "--edge_secret_file");
}

}  // namespace

EnforcementConfig EnforcementConfigFromFlags(std::string consumer_group) {
  const std::string permissions_addr = absl::GetFlag(FLAGS_permissions_addr);
  if (permissions_addr.empty()) config::Fatal("--permissions_addr is required");
  return EnforcementConfig{
      .verifier =
          config::OrDie(auth::TokenVerifier::Create(config::ReadFileOrDie(
                            "jwt_public_key_file", absl::GetFlag(FLAGS_jwt_public_key_file))),
                        "--jwt_public_key_file"),
      .options = {.permissions_addr = permissions_addr,
                  .stream_prefix = absl::GetFlag(FLAGS_events_stream_prefix),
                  .consumer_group = std::move(consumer_group),
                  .shares_changed = nullptr,
                  .inbox_retention = absl::GetFlag(FLAGS_inbox_retention),
                  .dead_letter_max_len = absl::GetFlag(FLAGS_events_dead_letter_max_len)}};
}

std::optional<auth::EdgeAddressSigner> EdgeAddressSignerFromFlags() {
  return SignerFromFlags(&auth::EdgeAddressSigner::Create);
}

std::optional<auth::ServiceSigner> ServiceSignerFromFlags() {
  return SignerFromFlags(&auth::ServiceSigner::Create);
}

Enforcement::Enforcement(EnforcementConfig config, redis::Pool* redis, pg::Pool* pool)
    : authenticator_(
          std::move(config.verifier),
          auth::MakeGrpcScopeSource(channel::BalancedChannel(config.options.permissions_addr))),
      invalidation_(redis, config.options.stream_prefix, &authenticator_),
      shares_(SharesConsumerOptions(config.options), redis, pool,
              events::ApplyFn([changed = config.options.shares_changed](
                                  pqxx::work& txn, const events::v1::EventEnvelope& event) {
                return ApplyPermissionEvent(txn, event, changed);
              })) {}

void Enforcement::Start() {
  invalidation_.Start();
  shares_.Start();
}

void Enforcement::Stop() {
  invalidation_.Stop();
  shares_.Stop();
}

}  // namespace touchline::enforcement
