#include "tests/testing/in_process_service.h"

#include <pqxx/pqxx>
#include <utility>

#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/service_host/service_host.h"
#include "gtest/gtest.h"

namespace touchline::testing {

void Authorize(grpc::ClientContext& context, const Caller& caller) {
  context.AddMetadata(auth::kTenantHeader, caller.tenant);
  context.AddMetadata(auth::kCallerHeader, caller.id);
}

InProcessService::InProcessService(Options options)
    : options_(std::move(options)), schema_(options_.name + "_test") {}

InProcessService::~InProcessService() { Shutdown(); }

void InProcessService::SetUp() {
  const std::string dsn = TestPgDsn();
  ASSERT_FALSE(dsn.empty());
  service_host::ServiceOptions host_options(options_.name, "");
  host_options.migrations = options_.migrations;
  host_options.enforce_scopes = options_.enforce_scopes;
  host_options.request_ids = options_.request_ids;
  host_options.customer_read_model = options_.customer_read_model;
  for (const auto& [component, migrations] : service_host::StandardMigrations(host_options)) {
    const absl::Status migrated = pg::ApplyMigrations(dsn, schema_.name(), component, *migrations);
    ASSERT_TRUE(migrated.ok()) << component << ": " << migrated;
  }
  auto pool = pg::Pool::Create({.dsn = dsn,
                                .search_path = schema_.name(),
                                .size = options_.pool_size,
                                .prepared = options_.prepared,
                                .settings = options_.settings});
  ASSERT_TRUE(pool.ok()) << pool.status();
  pool_ = *std::move(pool);
  auto redis_options = redis::ParseRedisAddress(TestRedisAddr());
  ASSERT_TRUE(redis_options.ok()) << redis_options.status();
  auto redis = redis::Pool::Create(*redis_options);
  ASSERT_TRUE(redis.ok()) << redis.status();
  redis_ = *std::move(redis);
  events::RelayOptions relay_options;
  relay_options.dsn = dsn;
  relay_options.schema = schema_.name();
  relay_options.stream_prefix = prefix_;
  if (options_.run_relay) relay_options.poll_interval = absl::Milliseconds(50);
  relay_ = std::make_unique<events::OutboxRelay>(relay_options, redis_.get());
  if (options_.run_relay) relay_->Start();
  audit::AuditPublisherOptions audit_options;
  audit_options.stream_prefix = prefix_;
  auto audit = audit::AuditPublisher::Create(audit_options, redis_.get());
  ASSERT_TRUE(audit.ok()) << audit.status();
  audit_ = *std::move(audit);
  audit_->Start();
  runner_ = std::make_unique<server::UnaryRunner>(options_.grpc_service, &executor_,
                                                  &authenticator_, false);
}

void InProcessService::Serve(grpc::Service* service) {
  auto server = server::Server::Start({.listen_address = "127.0.0.1:0", .metrics_address = ""},
                                      {{options_.grpc_service, service}});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
}

void InProcessService::Shutdown() {
  if (server_) server_->Shutdown();
  if (audit_) audit_->Stop();
}

int InProcessService::CountRows(const std::string& from) const {
  int count = -1;
  const absl::Status counted = pool_->Query([&](pqxx::nontransaction& txn) {
    count = txn.exec("SELECT count(*) FROM " + from)[0][0].as<int>();
    return absl::OkStatus();
  });
  EXPECT_TRUE(counted.ok()) << from << ": " << counted;
  return count;
}

std::shared_ptr<grpc::Channel> InProcessService::channel() const {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                             grpc::InsecureChannelCredentials());
}

}  // namespace touchline::testing
