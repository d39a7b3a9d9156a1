// A host with a tiny service on the development PostgreSQL and Redis: migrations, the relay
// feeding a consumer, periodic tasks, the audit publisher flushed at shutdown, calls served
// and then refused.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/synchronization/notification.h"
#include "common/audit/audit.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/config/common_flags.h"
#include "common/events/outbox.h"
#include "common/service_host/service_host.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/testing/v1/echo.grpc.pb.h"

ABSL_DECLARE_FLAG(std::string, pg_schema);
ABSL_DECLARE_FLAG(bool, migrate_only);

namespace touchline::service_host {
namespace {

using touchline::testing::v1::EchoRequest;
using touchline::testing::v1::EchoResponse;
using touchline::testing::v1::EchoService;

constexpr char kEchoService[] = "touchline.testing.v1.EchoService";

// The second builds on a shared table: the service's own migrations come after those.
const std::vector<pg::Migration>& TinyMigrations() {
  static const auto* const kMigrations = new std::vector<pg::Migration>{
      {.version = 1, .name = "0001_notes.sql", .sql = "CREATE TABLE notes (text text NOT NULL)"},
      {.version = 2,
       .name = "0002_note_events.sql",
       .sql = "CREATE VIEW note_events AS SELECT * FROM outbox WHERE topic = 'notes'"}};
  return *kMigrations;
}

class EchoImpl final : public EchoService::CallbackService {
 public:
  explicit EchoImpl(server::UnaryRunner* runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    return runner_->Run(context, "Echo", [=](const auth::RequestContext& caller) {
      response->set_text(request->text());
      response->set_tenant_id(caller.tenant_id);
      return absl::OkStatus();
    });
  }

 private:
  server::UnaryRunner* const runner_;
};

class ServiceHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_pg_dsn, touchline::testing::TestPgDsn());
    absl::SetFlag(&FLAGS_pg_schema, schema_.name());
    absl::SetFlag(&FLAGS_redis_addr, touchline::testing::TestRedisAddr());
    absl::SetFlag(&FLAGS_events_stream_prefix, prefix_);
    absl::SetFlag(&FLAGS_listen_address, "127.0.0.1:0");
    absl::SetFlag(&FLAGS_metrics_address, "");
    absl::SetFlag(&FLAGS_pg_pool_size, 4);
    absl::SetFlag(&FLAGS_worker_threads, 2);
  }

  // The components recorded in the schema's migrations table.
  std::set<std::string> MigratedComponents(pg::Pool& pool) {
    std::set<std::string> components;
    const absl::Status read = pool.Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec("SELECT DISTINCT component FROM schema_migrations")) {
        components.insert(row[0].as<std::string>());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return components;
  }

  absl::FlagSaver saver_;
  touchline::testing::ScopedSchema schema_{"service_host"};
  std::string prefix_ = touchline::testing::UniqueRedisPrefix();
};

TEST_F(ServiceHostTest, MigrateOnlyMigratesWithoutTheEnforcementFlags) {
  absl::SetFlag(&FLAGS_migrate_only, true);
  // No --jwt_public_key_file or --permissions_addr: migrating alone does not need them.
  ServiceOptions options("tiny", "");
  options.migrations = &TinyMigrations();
  options.request_ids = true;
  ServiceHost host(std::move(options));
  EXPECT_FALSE(host.Setup());
  EXPECT_EQ(host.pool(), nullptr);

  auto pool = pg::Pool::Create({.dsn = touchline::testing::TestPgDsn(),
                                .search_path = schema_.name(),
                                .size = 1,
                                .prepared = {},
                                .settings = {}});
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(MigratedComponents(**pool), (std::set<std::string>{"tiny", "outbox", "inbox", "shares",
                                                               "page_tokens", "idempotency"}));
}

TEST_F(ServiceHostTest, ServesCallsRunsItsPartsAndFlushesTheAuditAtShutdown) {
  ServiceOptions options("tiny", "");
  options.migrations = &TinyMigrations();
  options.enforce_scopes = false;
  options.trimmed_topics = {"notes"};
  ServiceHost host(std::move(options));
  ASSERT_TRUE(host.Setup());
  EXPECT_EQ(MigratedComponents(*host.pool()),
            (std::set<std::string>{"tiny", "outbox", "inbox", "page_tokens"}));

  // An event written to the outbox reaches the consumer through the relay.
  absl::Notification applied;
  host.AddConsumer("notes", [&](pqxx::work& txn, const events::v1::EventEnvelope& event) {
    txn.exec_params("INSERT INTO notes (text) VALUES ($1)", event.aggregate_id());
    applied.Notify();
    return absl::OkStatus();
  });
  absl::Notification ticked;
  host.AddPeriodic("tick", absl::Hours(1), [&] {
    ticked.Notify();
    return absl::OkStatus();
  });
  audit::AuditPublisher* audit = host.audit();
  auth::testing::TrustedAuthenticator authenticator;
  EchoImpl service(host.runner(kEchoService, &authenticator));
  host.Start({{kEchoService, &service}});

  const auto stub = EchoService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(host.port()), grpc::InsecureChannelCredentials()));
  EchoRequest request;
  request.set_text("你好");
  EchoResponse response;
  {
    grpc::ClientContext context;
    context.AddMetadata(auth::kTenantHeader, "acme");
    context.AddMetadata(auth::kCallerHeader, "u1");
    const grpc::Status status = stub->Echo(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(response.text(), "你好");
  EXPECT_EQ(response.tenant_id(), "acme");

  const absl::Status written = host.pool()->Transact([](pqxx::work& txn) {
    events::v1::EventEnvelope payload;
    events::AppendToOutbox(txn, "notes",
                           events::MakeEnvelope(payload, "acme", "note", "first note", "", ""));
    return absl::OkStatus();
  });
  ASSERT_TRUE(written.ok()) << written;
  host.RelayWaker()();
  applied.WaitForNotification();
  ticked.WaitForNotification();

  // A read reported just before shutdown is flushed by it.
  const auth::RequestContext caller{
      .tenant_id = "acme", .caller_id = "u1", .request_id = "r1", .scope = nullptr, .client = ""};
  audit->Publish(audit::MakeAuditEnvelope(caller, "note.read_sensitive", "note", "n1", {}));
  host.Shutdown();
  auto audited = touchline::testing::ReadEnvelopes(*host.redis(),
                                                   events::StreamKey(prefix_, events::kAuditTopic));
  ASSERT_TRUE(audited.ok()) << audited.status();
  ASSERT_EQ(audited->size(), 1u);
  EXPECT_EQ((*audited)[0].aggregate_id(), "n1");

  grpc::ClientContext late;
  late.AddMetadata(auth::kTenantHeader, "acme");
  late.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(stub->Echo(&late, request, &response).ok());
}

}  // namespace
}  // namespace touchline::service_host
