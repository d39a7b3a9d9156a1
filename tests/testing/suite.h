// The whole suite as an operator runs it, for process-level tests: a fresh RSA key pair and
// edge secret (shared by permissions and the gateway), the real touchline-permissions binary
// with tenants bootstrapped (an administrator and a gateway service key each), then
// touchline-contacts and touchline-touchpoints (and optionally touchline-journeys) pointed at
// it, each in its own schema of the test database, and optionally touchline-gateway in front of
// them (with the journeys routes when journeys runs), all sharing one Redis key prefix.
#ifndef TOUCHLINE_TESTS_TESTING_SUITE_H_
#define TOUCHLINE_TESTS_TESTING_SUITE_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/client_context.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline::testing {

// The password of every bootstrapped administrator (username "admin").
inline constexpr char kAdminPassword[] = "correct horse battery staple";

class Suite {
 public:
  struct Options {
    // Tenants bootstrapped with the five conventional roles and an administrator.
    std::vector<std::string> tenants = {"acme"};
    bool contacts = true;
    bool touchpoints = true;
    bool journeys = false;
    // Starts touchline-gateway too (needs contacts and touchpoints), with these extra flags.
    bool gateway = false;
    std::vector<std::string> gateway_flags;
    // The Redis every process uses; empty for the test command's (TOUCHLINE_REDIS_ADDR).
    std::string redis_addr;
  };

  // Starts everything and waits until each service is healthy; failures fail the test (check
  // ::testing::Test::HasFatalFailure()).
  explicit Suite(Options options);
  ~Suite();
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  std::string permissions_address() const;
  std::string contacts_address() const;
  std::string touchpoints_address() const;
  std::string journeys_address() const;
  // The gateway's gRPC address and HTTP port.
  std::string gateway_address() const;
  int gateway_http_port() const { return gateway_http_port_; }
  // The file of the tenants' gateway service keys (one line per tenant).
  std::string service_keys_path() const { return dir_ + "/gateway.keys"; }
  // The secret every process shares (--edge_secret_file): the gateway signs client addresses
  // with it, and the services their calls to contacts' CustomerFeedService.
  std::string edge_secret_path() const { return dir_ + "/edge.secret"; }
  // The PEM of the key that signs access tokens, for tests that forge tokens.
  std::string private_key_pem() const;
  std::string public_key_pem() const;

  std::unique_ptr<permissions::v1::PermissionsService::Stub> Permissions() const;

  // Logs `username` in; on failure returns the status and leaves `response` empty.
  grpc::Status Login(const std::string& tenant, const std::string& username,
                     const std::string& password, permissions::v1::LoginResponse* response,
                     const std::string& totp_code = "") const;
  // The administrator's access token of `tenant` (fails the test if login fails).
  std::string AdminToken(const std::string& tenant) const;

  // Adds "authorization: Bearer <token>".
  static void Authorize(grpc::ClientContext& context, const std::string& token);

  // Creates the person customer `name` in region 华东 through contacts, as the user of `token`
  // in `tenant`; its id ("" and a test failure when contacts refuses).
  std::string CreateCustomer(const std::string& tenant, const std::string& token,
                             const std::string& name) const;

  // Starts or restarts (after Kill) contacts or touchpoints with extra flags.
  void StartContacts(std::vector<std::string> extra = {});
  void StartTouchpoints(std::vector<std::string> extra = {});
  void StartJourneys(std::vector<std::string> extra = {});
  // Starts or restarts the gateway (after Kill) with Options::gateway_flags and `extra`.
  void StartGateway(std::vector<std::string> extra = {});
  ServiceProcess* contacts() { return contacts_.get(); }
  ServiceProcess* touchpoints() { return touchpoints_.get(); }
  ServiceProcess* journeys() { return journeys_.get(); }
  ServiceProcess* gateway() { return gateway_.get(); }
  const std::string& redis_prefix() const { return prefix_; }
  // The schema touchline-touchpoints keeps its tables in (TOUCHLINE_PG_DSN's database).
  const std::string& touchpoints_schema() const { return touchpoints_schema_.name(); }
  const std::string& log_path() const { return log_; }

 private:
  // The constructor's work, in a void function so that ASSERT_* can stop it.
  void Start(const Options& options);
  std::vector<std::string> CommonArgs(const std::string& schema, int port) const;
  // (Re)starts `process` from `binary` on `schema` and `port` with ClientArgs() and `extra`,
  // and waits until `grpc_service` is healthy.
  void StartService(std::unique_ptr<ServiceProcess>& process, const char* binary,
                    const ScopedSchema& schema, int port, const char* grpc_service,
                    std::vector<std::string> extra);
  // The flags of a process that calls permissions and the other services: the public key,
  // permissions' address and the shared secret.
  std::vector<std::string> ClientArgs() const;

  std::string dir_;
  std::string log_;
  std::string redis_addr_;
  std::vector<std::string> gateway_flags_;
  std::string prefix_ = UniqueRedisPrefix();
  ScopedSchema permissions_schema_{"perm_e2e"};
  ScopedSchema contacts_schema_{"contacts_e2e"};
  ScopedSchema touchpoints_schema_{"touchpoints_e2e"};
  ScopedSchema journeys_schema_{"journeys_e2e"};
  int permissions_port_ = FreePort();
  int contacts_port_ = FreePort();
  int touchpoints_port_ = FreePort();
  int journeys_port_ = FreePort();
  int gateway_port_ = FreePort();
  int gateway_http_port_ = FreePort();
  std::unique_ptr<ServiceProcess> permissions_;
  std::unique_ptr<ServiceProcess> contacts_;
  std::unique_ptr<ServiceProcess> touchpoints_;
  std::unique_ptr<ServiceProcess> journeys_;
  std::unique_ptr<ServiceProcess> gateway_;
};

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_SUITE_H_
