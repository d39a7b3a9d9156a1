// What every service's in-process tests stand on: one service behind a real gRPC stack, on
// real PostgreSQL (a fresh schema per test, with the migrations the service host applies) and
// Redis (a fresh key prefix per test), callers authenticated by
// auth::testing::TrustedAuthenticator (an administrator unless a test gives a caller a scope).
// The outbox relay is made but not started (unless Options::run_relay): tests publish with
// relay()->PublishPending(). A service's fixture holds one and adds only its own store,
// manager and typed calls:
//
//   class ContactsServiceFixture : public ::testing::Test {
//    protected:
//     void SetUp() override {
//       env_.SetUp();
//       if (HasFatalFailure()) return;
//       store_ = std::make_unique<PgCustomerStore>(env_.pool().get(), [] {});
//       ... the manager ...
//       service_ = std::make_unique<ContactsService>(manager_.get(), env_.runner());
//       env_.Serve(service_.get());
//       if (HasFatalFailure()) return;
//       stub_ = v1::ContactsService::NewStub(env_.channel());
//     }
//     void TearDown() override { env_.Shutdown(); }
//
//     testing::InProcessService env_{Options()};  // name "contacts", its migrations...
//     ... store_, manager_, service_, stub_ after env_ ...
//   };
#ifndef TOUCHLINE_TESTS_TESTING_IN_PROCESS_SERVICE_H_
#define TOUCHLINE_TESTS_TESTING_IN_PROCESS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/audit/audit.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/outbox_relay.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "tests/testing/pg_test_env.h"

namespace touchline::testing {

// Who calls: the x-touchline-tenant and x-touchline-caller of a call. The caller acts with
// the scope the test gave the authenticator for its id, an administrator's otherwise.
struct Caller {
  std::string tenant;
  std::string id;
};

// Sends the call of `context` as `caller`.
void Authorize(grpc::ClientContext& context, const Caller& caller);

class InProcessService {
 public:
  struct Options {
    // The service's short name ("contacts"): the component of its own migrations and the
    // start of the schema's name ("contacts_test_<hex>").
    std::string name;
    // Its gRPC service's full name ("touchline.contacts.v1.ContactsService"): the runner's
    // and the server's.
    std::string grpc_service;
    // As service_host::ServiceOptions: the service's own migrations (may be null), whether
    // the shares read model, the idempotency keys and the customer read model are migrated
    // too, and what every pooled connection prepares and sets.
    const std::vector<pg::Migration>* migrations = nullptr;
    bool enforce_scopes = true;
    bool request_ids = false;
    bool customer_read_model = false;
    std::vector<std::pair<std::string, std::string>> prepared;
    std::vector<std::pair<std::string, std::string>> settings;
    int pool_size = 20;
    // Whether the relay runs, publishing every 50 ms and at every relay()->Wake() (a store's
    // "events written"), for tests that wait for what the service published.
    bool run_relay = false;
  };

  // Makes the schema (failing the test if it cannot) and the key prefix; connects nothing.
  explicit InProcessService(Options options);
  InProcessService(const InProcessService&) = delete;
  InProcessService& operator=(const InProcessService&) = delete;
  // Shutdown().
  ~InProcessService();

  // Migrates the schema as service_host::StandardMigrations says, connects the pool, sets up
  // the Redis pool, the relay (started with run_relay) and the runner, and starts the audit
  // publisher. A fatal test failure when a step fails: the caller checks HasFatalFailure().
  void SetUp();
  // After SetUp: serves `service` (not owned; it must outlive Shutdown) as
  // options.grpc_service on 127.0.0.1 at a free port. A fatal test failure when the server
  // cannot start.
  void Serve(grpc::Service* service);
  // Stops the server, then the audit publisher (which flushes what it holds). Idempotent.
  void Shutdown();

  const ScopedSchema& schema() const { return schema_; }
  // The Redis key prefix of the relay's and the audit publisher's streams.
  const std::string& prefix() const { return prefix_; }
  // Set by SetUp. Owned here; handles so that fixtures may keep the names their tests use.
  const std::unique_ptr<pg::Pool>& pool() const { return pool_; }
  const std::unique_ptr<redis::Pool>& redis() const { return redis_; }
  const std::unique_ptr<events::OutboxRelay>& relay() const { return relay_; }
  const std::unique_ptr<audit::AuditPublisher>& audit() const { return audit_; }
  server::UnaryRunner* runner() const { return runner_.get(); }
  auth::testing::TrustedAuthenticator& authenticator() { return authenticator_; }
  // After Serve: a channel to the server.
  std::shared_ptr<grpc::Channel> channel() const;

  // After SetUp: count(*) of `from` (a table, optionally with a WHERE clause); -1 and a test
  // failure when the query fails.
  int CountRows(const std::string& from) const;

 private:
  const Options options_;
  ScopedSchema schema_;
  const std::string prefix_ = UniqueRedisPrefix();
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<events::OutboxRelay> relay_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  server::Executor executor_{32, 1024};
  auth::testing::TrustedAuthenticator authenticator_;
  std::unique_ptr<server::UnaryRunner> runner_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_IN_PROCESS_SERVICE_H_
