#include "tests/testing/suite.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/auth/request_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"

namespace touchline::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

// Runs a shell command; false (and a test failure) if it does not exit 0.
bool Shell(const std::string& command) {
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command;
  return rc == 0;
}

}  // namespace

Suite::Suite(Options options) { Start(options); }

void Suite::Start(const Options& options) {
  redis_addr_ = options.redis_addr.empty() ? TestRedisAddr() : options.redis_addr;
  gateway_flags_ = options.gateway_flags;
  char dir_template[] = "/tmp/touchline_suite_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  dir_ = dir_template;
  log_ = dir_ + "/services.log";
  ASSERT_TRUE(Shell("openssl genrsa -out " + dir_ +
                    "/jwt.key 2048 2>/dev/null && openssl rsa -in " + dir_ +
                    "/jwt.key -pubout -out " + dir_ + "/jwt.pub 2>/dev/null"));
  ASSERT_TRUE(Shell("openssl rand -hex 32 > " + edge_secret_path()));

  std::vector<std::string> permission_args =
      CommonArgs(permissions_schema_.name(), permissions_port_);
  permission_args.push_back("--jwt_private_key_file=" + dir_ + "/jwt.key");
  permission_args.push_back("--jwt_public_key_file=" + dir_ + "/jwt.pub");
  permission_args.push_back("--password_hash_strength=min");
  permission_args.push_back("--edge_secret_file=" + edge_secret_path());

  ::setenv("TOUCHLINE_BOOTSTRAP_PASSWORD", kAdminPassword, 1);
  std::string service_keys;
  for (const std::string& tenant : options.tenants) {
    std::vector<std::string> args = permission_args;
    const std::string key_file = dir_ + "/" + tenant + ".gateway.key";
    args.push_back("--bootstrap_tenant=" + tenant);
    args.push_back("--bootstrap_admin=admin");
    args.push_back("--bootstrap_gateway_key_file=" + key_file);
    ServiceProcess bootstrap(TOUCHLINE_PERMISSIONS_BINARY, args, log_);
    ASSERT_EQ(bootstrap.Wait(std::chrono::seconds(60)), 0)
        << "bootstrap of " << tenant << " failed:\n"
        << ReadFile(log_);
    service_keys += ReadFile(key_file);
  }
  std::ofstream(service_keys_path()) << service_keys;

  // Asked for customers its read model does not know yet (contacts' port is chosen already).
  permission_args.push_back("--contacts_addr=" + contacts_address());
  permissions_ =
      std::make_unique<ServiceProcess>(TOUCHLINE_PERMISSIONS_BINARY, permission_args, log_);
  ASSERT_TRUE(WaitForHealth(permissions_address(), "touchline.permissions.v1.PermissionsService",
                            HealthCheckResponse::SERVING))
      << ReadFile(log_);
  if (options.contacts) StartContacts();
  if (options.touchpoints) StartTouchpoints();
  if (options.journeys) StartJourneys();
  if (options.gateway)
    StartGateway(options.journeys
                     ? std::vector<std::string>{"--journeys_addr=" + journeys_address()}
                     : std::vector<std::string>{});
}

Suite::~Suite() {
  gateway_.reset();
  journeys_.reset();
  touchpoints_.reset();
  contacts_.reset();
  permissions_.reset();
  std::error_code ignored;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> Suite::CommonArgs(const std::string& schema, int port) const {
  return {"--pg_dsn=" + TestPgDsn(),
          "--redis_addr=" + redis_addr_,
          "--pg_schema=" + schema,
          "--events_stream_prefix=" + prefix_,
          "--listen_address=" + Address(port),
          "--metrics_address="};
}

std::vector<std::string> Suite::ClientArgs() const {
  return {"--jwt_public_key_file=" + dir_ + "/jwt.pub",
          "--permissions_addr=" + permissions_address(),
          "--edge_secret_file=" + edge_secret_path()};
}

void Suite::StartService(std::unique_ptr<ServiceProcess>& process, const char* binary,
                         const ScopedSchema& schema, int port, const char* grpc_service,
                         std::vector<std::string> extra) {
  std::vector<std::string> args = CommonArgs(schema.name(), port);
  for (auto& arg : ClientArgs()) args.push_back(std::move(arg));
  for (auto& arg : extra) args.push_back(std::move(arg));
  process.reset();
  process = std::make_unique<ServiceProcess>(binary, args, log_);
  ASSERT_TRUE(WaitForHealth(Address(port), grpc_service, HealthCheckResponse::SERVING))
      << ReadFile(log_);
}

void Suite::StartContacts(std::vector<std::string> extra) {
  StartService(contacts_, TOUCHLINE_CONTACTS_BINARY, contacts_schema_, contacts_port_,
               "touchline.contacts.v1.ContactsService", std::move(extra));
}

void Suite::StartTouchpoints(std::vector<std::string> extra) {
  extra.insert(extra.begin(), "--contacts_addr=" + contacts_address());
  StartService(touchpoints_, TOUCHLINE_TOUCHPOINTS_BINARY, touchpoints_schema_, touchpoints_port_,
               "touchline.touchpoints.v1.TouchpointsService", std::move(extra));
}

void Suite::StartJourneys(std::vector<std::string> extra) {
  extra.insert(extra.begin(), "--contacts_addr=" + contacts_address());
  StartService(journeys_, TOUCHLINE_JOURNEYS_BINARY, journeys_schema_, journeys_port_,
               "touchline.journeys.v1.JourneysService", std::move(extra));
}

void Suite::StartGateway(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--redis_addr=" + redis_addr_,
                                   "--events_stream_prefix=" + prefix_,
                                   "--listen_address=" + Address(gateway_port_),
                                   "--http_address=" + Address(gateway_http_port_),
                                   "--metrics_address=",
                                   "--contacts_addr=" + contacts_address(),
                                   "--touchpoints_addr=" + touchpoints_address(),
                                   "--service_api_keys_file=" + service_keys_path()};
  for (auto& arg : ClientArgs()) args.push_back(std::move(arg));
  for (const std::string& flag : gateway_flags_) args.push_back(flag);
  for (auto& arg : extra) args.push_back(std::move(arg));
  gateway_.reset();
  gateway_ =
      std::make_unique<ServiceProcess>(TOUCHLINE_GATEWAY_BINARY, args, dir_ + "/gateway.log");
  ASSERT_TRUE(WaitForHealth(gateway_address(), "touchline.gateway.v1.GatewayService",
                            HealthCheckResponse::SERVING))
      << ReadFile(dir_ + "/gateway.log");
}

std::string Suite::gateway_address() const { return Address(gateway_port_); }

std::string Suite::permissions_address() const { return Address(permissions_port_); }
std::string Suite::contacts_address() const { return Address(contacts_port_); }
std::string Suite::touchpoints_address() const { return Address(touchpoints_port_); }
std::string Suite::journeys_address() const { return Address(journeys_port_); }
std::string Suite::private_key_pem() const { return ReadFile(dir_ + "/jwt.key"); }
std::string Suite::public_key_pem() const { return ReadFile(dir_ + "/jwt.pub"); }

std::unique_ptr<permissions::v1::PermissionsService::Stub> Suite::Permissions() const {
  return permissions::v1::PermissionsService::NewStub(
      grpc::CreateChannel(permissions_address(), grpc::InsecureChannelCredentials()));
}

grpc::Status Suite::Login(const std::string& tenant, const std::string& username,
                          const std::string& password, permissions::v1::LoginResponse* response,
                          const std::string& totp_code) const {
  grpc::ClientContext context;
  context.AddMetadata(auth::kTenantHeader, tenant);
  permissions::v1::LoginRequest request;
  request.set_username(username);
  request.set_password(password);
  request.set_totp_code(totp_code);
  return Permissions()->Login(&context, request, response);
}

std::string Suite::AdminToken(const std::string& tenant) const {
  permissions::v1::LoginResponse response;
  const grpc::Status status = Login(tenant, "admin", kAdminPassword, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.access_token();
}

void Suite::Authorize(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
}

std::string Suite::CreateCustomer(const std::string& tenant, const std::string& token,
                                  const std::string& name) const {
  auto contacts = contacts::v1::ContactsService::NewStub(
      grpc::CreateChannel(contacts_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata(auth::kTenantHeader, tenant);
  Authorize(context, token);
  contacts::v1::CreateCustomerRequest request;
  request.mutable_customer()->set_kind(contacts::v1::CUSTOMER_KIND_PERSON);
  request.mutable_customer()->set_display_name(name);
  request.mutable_customer()->set_region("华东");
  contacts::v1::CreateCustomerResponse response;
  const grpc::Status status = contacts->CreateCustomer(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.customer().customer_id();
}

}  // namespace touchline::testing
