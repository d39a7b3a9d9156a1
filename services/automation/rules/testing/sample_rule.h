// A valid rule for the rule store and manager tests: when a touchpoint of a VIP customer
// mentions 投诉, a task for the customer's owner and a webhook.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_SAMPLE_RULE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_SAMPLE_RULE_H_

#include <string>
#include <utility>

#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/automation/v1/rule.pb.h"

namespace touchline::automation::testing {

inline constexpr char kSampleEndpointId[] = "9b1e7c2d-4a6f-4e38-b5d0-2c7a8f1e6d34";

inline type::v1::CustomValue TextValue(std::string text) {
  type::v1::CustomValue value;
  value.set_string_value(std::move(text));
  return value;
}

inline v1::Rule SampleRule(std::string name = "VIP 投诉跟进") {
  v1::Rule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        description: "VIP 客户投诉时提醒负责人。"
        trigger {
          touchpoint_recorded {}
          delay { seconds: 3600 }
        }
        condition {
          any_of {
            all_of {
              field: "customer.level"
              operator: OPERATOR_EQUALS
              values { string_value: "CUSTOMER_LEVEL_VIP" }
            }
            all_of {
              field: "touchpoint.summary"
              operator: OPERATOR_CONTAINS
              values { string_value: "投诉" }
            }
          }
        }
        actions {
          action_id: "follow_up"
          create_task {
            assignee { owner: true }
            due_in { seconds: 86400 }
            title_template: "跟进 {{customer.display_name}}"
            body_template: "客户说：{{touchpoint.summary}}"
            priority: TASK_PRIORITY_HIGH
          }
        }
        actions {
          action_id: "notify"
          webhook {
            endpoint_id: "9b1e7c2d-4a6f-4e38-b5d0-2c7a8f1e6d34"
            payload_template: '{"客户": "{{customer.display_name}}", "摘要": "{{touchpoint.summary}}"}'
          }
        }
      )pb",
      &rule));
  rule.set_display_name(std::move(name));
  return rule;
}

// UpdateRuleRequest renaming rule `rule_id` to `name`, with `etag` (may be empty).
inline v1::UpdateRuleRequest RenameRule(const std::string& rule_id, std::string name,
                                        std::string etag = "") {
  v1::UpdateRuleRequest request;
  request.mutable_rule()->set_rule_id(rule_id);
  request.mutable_rule()->set_display_name(std::move(name));
  request.mutable_rule()->set_etag(std::move(etag));
  request.mutable_update_mask()->add_paths("display_name");
  return request;
}

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_TESTING_SAMPLE_RULE_H_
