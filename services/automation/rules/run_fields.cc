#include "services/automation/rules/run_fields.h"

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"

namespace touchline::automation {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using type::v1::CustomValue;

// Adds `name` = `value` unless the value is absent.
void PutText(FieldValues& values, std::string_view name, const std::string& text) {
  if (text.empty()) return;
  CustomValue value;
  value.set_string_value(text);
  values.emplace(std::string(name), std::move(value));
}

// An enumeration by its value name; number 0 (UNSPECIFIED) and unknown numbers are absent.
void PutEnum(FieldValues& values, std::string_view name,
             const google::protobuf::EnumDescriptor* enumeration, int number) {
  const google::protobuf::EnumValueDescriptor* named = enumeration->FindValueByNumber(number);
  if (number == 0 || named == nullptr) return;
  PutText(values, name, named->name());
}

void PutList(FieldValues& values, std::string_view name,
             const google::protobuf::RepeatedPtrField<std::string>& items) {
  if (items.empty()) return;
  values.emplace(std::string(name), std::vector<std::string>(items.begin(), items.end()));
}

void PutCustom(FieldValues& values, std::string_view prefix,
               const google::protobuf::Map<std::string, CustomValue>& entries) {
  for (const auto& [key, value] : entries) {
    if (value.kind_case() == CustomValue::KIND_NOT_SET) continue;
    values.emplace(std::string(prefix) + key, value);
  }
}

}  // namespace

FieldValues CustomerFieldValues(const cv1::Customer& c) {
  FieldValues values;
  PutEnum(values, "customer.level", cv1::CustomerLevel_descriptor(), c.level());
  PutEnum(values, "customer.lifecycle_status", cv1::LifecycleStatus_descriptor(),
          c.lifecycle_status());
  PutText(values, "customer.region", c.region());
  PutText(values, "customer.owner_id", c.owner_id());
  PutText(values, "customer.display_name", c.display_name());
  PutList(values, "customer.tags", c.tags());
  PutCustom(values, "customer.custom_fields.", c.custom_fields());
  return values;
}

FieldValues TouchpointFieldValues(const tv1::Touchpoint& t) {
  FieldValues values;
  PutEnum(values, "touchpoint.channel", tv1::Channel_descriptor(), t.channel());
  PutEnum(values, "touchpoint.direction", tv1::Direction_descriptor(), t.direction());
  PutEnum(values, "touchpoint.category", tv1::Category_descriptor(), t.category());
  PutEnum(values, "touchpoint.outcome", tv1::Outcome_descriptor(), t.outcome());
  PutEnum(values, "touchpoint.sentiment", tv1::Sentiment_descriptor(), t.sentiment());
  PutList(values, "touchpoint.tags", t.tags());
  PutText(values, "touchpoint.summary", t.summary());
  if (t.has_occur_time()) {
    CustomValue occur;
    *occur.mutable_timestamp_value() = t.occur_time();
    values.emplace("touchpoint.occur_time", std::move(occur));
  }
  PutCustom(values, "touchpoint.custom_attributes.", t.custom_attributes());
  return values;
}

namespace {

// The text of `name` in `values`, empty when absent or not text.
std::string TextOf(const FieldValues& values, std::string_view name) {
  const FieldValue* value = FindValue(values, name);
  const CustomValue* custom = value == nullptr ? nullptr : std::get_if<CustomValue>(value);
  return custom == nullptr ? std::string() : custom->string_value();
}

// The number of the enumeration value named by `name`'s text; 0 when absent or unknown.
int EnumOf(const FieldValues& values, std::string_view name,
           const google::protobuf::EnumDescriptor* enumeration) {
  const google::protobuf::EnumValueDescriptor* named =
      enumeration->FindValueByName(TextOf(values, name));
  return named == nullptr ? 0 : named->number();
}

void ListInto(const FieldValues& values, std::string_view name,
              google::protobuf::RepeatedPtrField<std::string>& items) {
  const FieldValue* value = FindValue(values, name);
  const auto* list = value == nullptr ? nullptr : std::get_if<std::vector<std::string>>(value);
  if (list != nullptr) items.Add(list->begin(), list->end());
}

void CustomInto(const FieldValues& values, std::string_view prefix,
                google::protobuf::Map<std::string, CustomValue>& entries) {
  for (auto it = values.lower_bound(prefix); it != values.end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    if (const auto* custom = std::get_if<CustomValue>(&it->second)) {
      entries[it->first.substr(prefix.size())] = *custom;
    }
  }
}

}  // namespace

cv1::Customer CustomerOf(const FieldValues& values) {
  cv1::Customer c;
  c.set_level(static_cast<cv1::CustomerLevel>(
      EnumOf(values, "customer.level", cv1::CustomerLevel_descriptor())));
  c.set_lifecycle_status(static_cast<cv1::LifecycleStatus>(
      EnumOf(values, "customer.lifecycle_status", cv1::LifecycleStatus_descriptor())));
  c.set_region(TextOf(values, "customer.region"));
  c.set_owner_id(TextOf(values, "customer.owner_id"));
  c.set_display_name(TextOf(values, "customer.display_name"));
  ListInto(values, "customer.tags", *c.mutable_tags());
  CustomInto(values, "customer.custom_fields.", *c.mutable_custom_fields());
  return c;
}

tv1::Touchpoint TouchpointOf(const FieldValues& values) {
  tv1::Touchpoint t;
  t.set_channel(
      static_cast<tv1::Channel>(EnumOf(values, "touchpoint.channel", tv1::Channel_descriptor())));
  t.set_direction(static_cast<tv1::Direction>(
      EnumOf(values, "touchpoint.direction", tv1::Direction_descriptor())));
  t.set_category(static_cast<tv1::Category>(
      EnumOf(values, "touchpoint.category", tv1::Category_descriptor())));
  t.set_outcome(
      static_cast<tv1::Outcome>(EnumOf(values, "touchpoint.outcome", tv1::Outcome_descriptor())));
  t.set_sentiment(static_cast<tv1::Sentiment>(
      EnumOf(values, "touchpoint.sentiment", tv1::Sentiment_descriptor())));
  ListInto(values, "touchpoint.tags", *t.mutable_tags());
  t.set_summary(TextOf(values, "touchpoint.summary"));
  if (const FieldValue* occur = FindValue(values, "touchpoint.occur_time")) {
    if (const auto* custom = std::get_if<CustomValue>(occur);
        custom && custom->has_timestamp_value()) {
      *t.mutable_occur_time() = custom->timestamp_value();
    }
  }
  CustomInto(values, "touchpoint.custom_attributes.", *t.mutable_custom_attributes());
  return t;
}

FieldValues ShownTo(const auth::Scope& scope, const FieldValues& values) {
  const bool customer = scope.HasFieldRules(auth::kCustomerResource);
  const bool touchpoint = scope.HasFieldRules(auth::kTouchpointResource);
  if (!customer && !touchpoint) return values;
  FieldValues shown;
  for (const auto& [name, value] : values) {
    if ((customer && name.starts_with("customer.")) ||
        (touchpoint && name.starts_with("touchpoint."))) {
      continue;
    }
    shown.emplace(name, value);
  }
  if (customer) {
    cv1::Customer c = CustomerOf(values);
    scope.Redact(auth::kCustomerResource, c);
    shown.merge(CustomerFieldValues(c));
  }
  if (touchpoint) {
    tv1::Touchpoint t = TouchpointOf(values);
    scope.Redact(auth::kTouchpointResource, t);
    shown.merge(TouchpointFieldValues(t));
  }
  return shown;
}

void ShowTo(const auth::Scope& scope, v1::ComparisonResult& result) {
  if (!result.has_value()) return;
  const std::string& field = result.field();
  FieldValues seen;
  // The tags (the only lists) are shown joined in one text: masked as one item.
  if (field.ends_with(".tags")) {
    seen.emplace(field, std::vector<std::string>{result.value().string_value()});
  } else {
    seen.emplace(field, result.value());
  }
  const FieldValues shown = ShownTo(scope, seen);
  const FieldValue* value = FindValue(shown, field);
  if (value == nullptr) {
    result.clear_value();
  } else if (const auto* list = std::get_if<std::vector<std::string>>(value)) {
    result.mutable_value()->set_string_value(list->front());
  } else {
    *result.mutable_value() = std::get<CustomValue>(*value);
  }
}

FieldValues TriggerEventValues(const v1::TriggerEvent& e) {
  FieldValues values;
  PutCustom(values, "", e.fields());
  for (const auto& [name, list] : e.list_fields()) PutList(values, name, list.values());
  return values;
}

void SetTriggerEventValues(const FieldValues& values, v1::TriggerEvent& e) {
  e.clear_fields();
  e.clear_list_fields();
  for (const auto& [name, value] : values) {
    if (FindValue(values, name) == nullptr) continue;
    if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
      v1::TextList& items = (*e.mutable_list_fields())[name];
      items.mutable_values()->Add(list->begin(), list->end());
    } else {
      (*e.mutable_fields())[name] = std::get<CustomValue>(value);
    }
  }
}

}  // namespace touchline::automation
