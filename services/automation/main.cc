// The automation service on the shared host: read model, consumers, the rule engine, managers
// and adapter.
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/service_host/service_host.h"
#include "services/automation/automation_service.h"
#include "services/automation/endpoints/pg_endpoint_store.h"
#include "services/automation/engine/engine_host.h"
#include "services/automation/migrations.h"
#include "services/automation/rules/pg_rule_store.h"
#include "services/automation/tasks/follow_ups.h"
#include "services/automation/tasks/pg_task_store.h"

ABSL_FLAG(std::string, contacts_addr, "",
          "Required: where contacts runs (dns:///contacts:8080); its feed builds the read model");
ABSL_FLAG(std::string, webhook_secret_key_file, "",
          "Required: the key webhook secrets are sealed with at rest (32 bytes, raw or base64)");

namespace touchline::automation {
namespace {

constexpr char kServiceName[] = "touchline.automation.v1.AutomationService";
int Main(int argc, char** argv) {
  service_host::ServiceOptions options("automation", "Touchline automation service");
  options.migrations = &pg::automation_migrations();
  options.request_ids = true;
  options.customer_read_model = true;
  options.trimmed_topics = {events::kAuditTopic, events::kTasksTopic};
  service_host::ServiceHost host(argc, argv, options);
  const std::string contacts = absl::GetFlag(FLAGS_contacts_addr);
  const std::string key_file = absl::GetFlag(FLAGS_webhook_secret_key_file);
  const bool serving = !host.config().migrate_only;
  if (serving && contacts.empty()) config::Fatal("--contacts_addr is required");
  if (serving && key_file.empty()) config::Fatal("--webhook_secret_key_file is required");
  if (!host.Setup()) return 0;  // --migrate_only
  const SecretBox box =
      config::OrDie(SecretBox::LoadKeyFile(key_file), "--webhook_secret_key_file");
  PgTaskStore task_store(host.pool(), host.RelayWaker());
  PgEndpointStore endpoint_store(host.pool(), &box, host.RelayWaker());
  PgRuleStore rule_store(host.pool(), host.RelayWaker());
  const EngineHostOptions engine_options = EngineHostOptionsFromFlags();
  HostedEngine hosted(host, contacts, &rule_store, &task_store, &endpoint_store,
                      FollowUpConsumer(&absl::Now), engine_options);
  Engine* engine = &hosted.engine();
  TaskManager tasks(&task_store, &host.page_tokens(), &absl::Now);
  EndpointManager endpoints(&endpoint_store, &host.page_tokens(), &absl::Now,
                            engine_options.sender.allow_private_addresses);
  RuleManager rules(&rule_store, &host.page_tokens(), &absl::Now,
                    [engine](const auth::RequestContext& caller, const std::string& id) {
                      return engine->CustomerValues(caller.tenant_id, id);
                    });
  RunManager runs(engine, &host.page_tokens());
  AutomationService service({&rules, &runs, &tasks, &endpoints, host.runner(kServiceName)});
  return host.Serve({{kServiceName, &service}});
}

}  // namespace
}  // namespace touchline::automation

int main(int argc, char** argv) { return touchline::automation::Main(argc, argv); }
