#include "gateway/backends.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/api/annotations.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace touchline::gateway {
namespace {

// The calls that come before any credential exists.
constexpr std::string_view kCredentialFree[] = {
    "/touchline.permissions.v1.PermissionsService/Login",
    "/touchline.permissions.v1.PermissionsService/RefreshToken",
};

bool HasHttpRoute(const google::protobuf::MethodDescriptor& method) {
  return method.options().HasExtension(google::api::http);
}

bool IsRead(const google::protobuf::MethodDescriptor& method) {
  return method.options().GetExtension(google::api::http).pattern_case() ==
         google::api::HttpRule::kGet;
}

// Round-robin over every address the target resolves to, and up to three attempts of each
// read that fails with UNAVAILABLE (a replica going away). Writes are left alone: without the
// client's request_id a retried write could apply twice.
std::string ServiceConfig(const google::protobuf::ServiceDescriptor& service) {
  std::vector<std::string> reads;
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service.method(i);
    if (HasHttpRoute(method) && IsRead(method)) {
      reads.push_back(absl::StrCat(R"({"service":")", service.full_name(), R"(","method":")",
                                   method.name(), R"("})"));
    }
  }
  std::string config = R"({"loadBalancingConfig":[{"round_robin":{}}])";
  if (!reads.empty()) {
    absl::StrAppend(&config, R"(,"methodConfig":[{"name":[)", absl::StrJoin(reads, ","),
                    R"(],"retryPolicy":{"maxAttempts":3,"initialBackoff":"0.05s",)",
                    R"("maxBackoff":"0.5s","backoffMultiplier":2,)",
                    R"("retryableStatusCodes":["UNAVAILABLE"]}}])");
  }
  return config + "}";
}

}  // namespace

bool IsForwardedHeader(std::string_view name) {
  if (name.empty() || name[0] == ':' || name.starts_with("grpc-")) return false;
  for (std::string_view transport :
       {"content-type", "content-length", "te", "user-agent", "host", "connection", "keep-alive",
        "transfer-encoding", "upgrade", "accept-encoding", "x-touchline-caller"}) {
    if (name == transport) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Backends>> Backends::Create(const std::vector<Target>& targets,
                                                           int max_message_bytes) {
  std::unique_ptr<Backends> backends(new Backends());
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const Target& target : targets) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(target.service);
    if (service == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown service ", target.service));
    }
    if (target.address.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("no address for ", target.service));
    }
    grpc::ChannelArguments args;
    args.SetServiceConfigJSON(ServiceConfig(*service));
    args.SetMaxReceiveMessageSize(max_message_bytes);
    args.SetMaxSendMessageSize(max_message_bytes);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(target.address, grpc::InsecureChannelCredentials(), args);
    backends->channels_[target.service] = channel;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      if (!HasHttpRoute(*method)) continue;
      BackendMethod entry;
      entry.path = absl::StrCat("/", service->full_name(), "/", method->name());
      entry.descriptor = method;
      entry.channel = channel;
      for (std::string_view free : kCredentialFree) entry.credential_free |= entry.path == free;
      std::string path = entry.path;
      backends->methods_.emplace(std::move(path), std::move(entry));
    }
  }
  return backends;
}

const BackendMethod* Backends::Find(std::string_view path) const {
  const auto it = methods_.find(absl::string_view(path.data(), path.size()));
  return it == methods_.end() ? nullptr : &it->second;
}

std::shared_ptr<grpc::Channel> Backends::ChannelOf(std::string_view service) const {
  const auto it = channels_.find(absl::string_view(service.data(), service.size()));
  return it == channels_.end() ? nullptr : it->second;
}

}  // namespace touchline::gateway
