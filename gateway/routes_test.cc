// The methods the gateway serves with --automation_addr: every AutomationService RPC with a
// google.api.http route forwarded over gRPC (Backends) and routed over HTTP (the route table
// main builds, every service's routes together, without a clash), the task, webhook endpoint
// and rule routes in particular.
#include <string>
#include <vector>

#include "gateway/backends.h"
#include "gateway/http/route_table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/contacts/v1/contacts_service.pb.h"
#include "touchline/gateway/v1/gateway_service.pb.h"
#include "touchline/journeys/v1/journeys_service.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.pb.h"

namespace touchline::gateway {
namespace {

const google::protobuf::ServiceDescriptor& Automation() {
  // Naming a generated type links the contract in, as main does.
  return *automation::v1::ListTasksRequest::descriptor()->file()->service(0);
}

// The services main routes when every address is given.
std::vector<std::string> RoutedServices() {
  return {v1::GetCustomer360Request::descriptor()->file()->service(0)->full_name(),
          contacts::v1::GetCustomerRequest::descriptor()->file()->service(0)->full_name(),
          touchpoints::v1::ListTouchpointsRequest::descriptor()->file()->service(0)->full_name(),
          permissions::v1::ListCustomerSharesRequest::descriptor()->file()->service(0)->full_name(),
          journeys::v1::GetCustomerJourneysRequest::descriptor()->file()->service(0)->full_name(),
          Automation().full_name()};
}

TEST(AutomationRoutesTest, EveryRoutedMethodIsForwardedOverGrpc) {
  ASSERT_EQ(Automation().full_name(), "touchline.automation.v1.AutomationService");
  TL_ASSERT_OK_AND_ASSIGN(const auto backends,
                          Backends::Create({{Automation().full_name(), "127.0.0.1:1"}}, 4 << 20));
  int forwarded = 0;
  for (int i = 0; i < Automation().method_count(); ++i) {
    const std::string path =
        "/touchline.automation.v1.AutomationService/" + Automation().method(i)->name();
    const BackendMethod* method = backends->Find(path);
    ASSERT_NE(method, nullptr) << path;
    EXPECT_EQ(method->descriptor, Automation().method(i));
    EXPECT_FALSE(method->credential_free) << path;
    EXPECT_EQ(method->channel, backends->ChannelOf(Automation().full_name()));
    ++forwarded;
  }
  EXPECT_GT(forwarded, 0);
  EXPECT_EQ(backends->Find("/touchline.contacts.v1.ContactsService/GetCustomer"), nullptr);
}

struct Case {
  const char* http_method;
  const char* path;
  const char* rpc;
  http::Bindings bindings;
};

TEST(AutomationRoutesTest, TheHttpFrontRoutesTasksEndpointsAndRulesBesideEveryOtherService) {
  TL_ASSERT_OK_AND_ASSIGN(const http::RouteTable table, http::RouteTable::Build(RoutedServices()));
  int automation_routes = 0;
  for (const http::Route& route : table.routes()) {
    automation_routes += route.method->service() == &Automation();
  }
  EXPECT_EQ(automation_routes, Automation().method_count());
  const Case cases[] = {
      {"POST", "/v1/automation/tasks", "CreateTask", {}},
      {"GET", "/v1/automation/tasks", "ListTasks", {}},
      {"GET", "/v1/automation/tasks/k1", "GetTask", {{"task_id", "k1"}}},
      {"POST", "/v1/automation/tasks/k1:complete", "CompleteTask", {{"task_id", "k1"}}},
      {"POST", "/v1/automation/tasks/k1:reassign", "ReassignTask", {{"task_id", "k1"}}},
      {"POST", "/v1/automation/tasks/k1:cancel", "CancelTask", {{"task_id", "k1"}}},
      {"POST", "/v1/automation/webhook-endpoints", "CreateWebhookEndpoint", {}},
      {"GET", "/v1/automation/webhook-endpoints", "ListWebhookEndpoints", {}},
      {"GET", "/v1/automation/webhook-endpoints/e1", "GetWebhookEndpoint", {{"endpoint_id", "e1"}}},
      {"PATCH",
       "/v1/automation/webhook-endpoints/e1",
       "UpdateWebhookEndpoint",
       {{"endpoint.endpoint_id", "e1"}}},
      {"POST",
       "/v1/automation/webhook-endpoints/e1:rotateSecret",
       "RotateWebhookSecret",
       {{"endpoint_id", "e1"}}},
      {"POST", "/v1/automation/rules", "CreateRule", {}},
      {"GET", "/v1/automation/rules", "ListRules", {}},
      {"POST", "/v1/automation/rules:test", "TestRule", {}},
      {"GET", "/v1/automation/rules/r1", "GetRule", {{"rule_id", "r1"}}},
      {"PATCH", "/v1/automation/rules/r1", "UpdateRule", {{"rule.rule_id", "r1"}}},
      {"POST", "/v1/automation/rules/r1:publish", "PublishRule", {{"rule_id", "r1"}}},
      {"POST", "/v1/automation/rules/r1:archive", "ArchiveRule", {{"rule_id", "r1"}}},
      {"GET", "/v1/automation/rules/r1/runs", "ListRuleRuns", {{"rule_id", "r1"}}},
      {"GET", "/v1/automation/runs/run1", "GetRuleRun", {{"run_id", "run1"}}},
      {"POST",
       "/v1/automation/dead-letters/d1:redrive",
       "RedriveDeadLetter",
       {{"dead_letter_id", "d1"}}},
      // The other services' routes are still theirs.
      {"GET", "/v1/customers/c1/360", "GetCustomer360", {{"customer_id", "c1"}}},
      {"GET", "/v1/customers/c1", "GetCustomer", {{"customer_id", "c1"}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<http::RouteMatch> match = table.Find(c.http_method, c.path);
    ASSERT_TRUE(match.ok()) << c.http_method << " " << c.path << ": " << match.status();
    ASSERT_NE(match->route, nullptr) << c.http_method << " " << c.path;
    EXPECT_EQ(match->route->method->name(), c.rpc) << c.http_method << " " << c.path;
    EXPECT_EQ(match->bindings, c.bindings) << c.http_method << " " << c.path;
  }
  TL_ASSERT_OK_AND_ASSIGN(const http::RouteMatch task,
                          table.Find("GET", "/v1/automation/tasks/k1"));
  EXPECT_EQ(task.route->body, "");
  TL_ASSERT_OK_AND_ASSIGN(const http::RouteMatch update,
                          table.Find("PATCH", "/v1/automation/rules/r1"));
  EXPECT_EQ(update.route->body, "rule");
}

}  // namespace
}  // namespace touchline::gateway
