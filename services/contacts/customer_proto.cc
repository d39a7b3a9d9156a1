#include "services/contacts/customer_proto.h"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/contacts/name_key.h"
#include "touchline/type/v1/contact_point.pb.h"
#include "touchline/type/v1/custom_value.pb.h"

namespace touchline::contacts {
namespace {

namespace type = ::touchline::type::v1;
using ::google::protobuf::Timestamp;

// The model's enums carry the proto numbers, so conversion is a cast; these checks keep it
// honest when either side changes.
template <typename Model, typename Proto>
constexpr bool SameNumber(Model model, Proto proto) {
  return static_cast<int>(model) == static_cast<int>(proto);
}

static_assert(SameNumber(CustomerKind::kUnspecified, v1::CUSTOMER_KIND_UNSPECIFIED) &&
              SameNumber(CustomerKind::kOrganization, v1::CUSTOMER_KIND_ORGANIZATION) &&
              SameNumber(CustomerKind::kPerson, v1::CUSTOMER_KIND_PERSON) &&
              SameNumber(CustomerKind::kPerson, v1::CustomerKind_MAX));
static_assert(SameNumber(CustomerLevel::kUnspecified, v1::CUSTOMER_LEVEL_UNSPECIFIED) &&
              SameNumber(CustomerLevel::kStandard, v1::CUSTOMER_LEVEL_STANDARD) &&
              SameNumber(CustomerLevel::kKey, v1::CUSTOMER_LEVEL_KEY) &&
              SameNumber(CustomerLevel::kVip, v1::CUSTOMER_LEVEL_VIP) &&
              SameNumber(CustomerLevel::kVip, v1::CustomerLevel_MAX));
static_assert(SameNumber(LifecycleStatus::kUnspecified, v1::LIFECYCLE_STATUS_UNSPECIFIED) &&
              SameNumber(LifecycleStatus::kLead, v1::LIFECYCLE_STATUS_LEAD) &&
              SameNumber(LifecycleStatus::kProspect, v1::LIFECYCLE_STATUS_PROSPECT) &&
              SameNumber(LifecycleStatus::kOpportunity, v1::LIFECYCLE_STATUS_OPPORTUNITY) &&
              SameNumber(LifecycleStatus::kHighIntent, v1::LIFECYCLE_STATUS_HIGH_INTENT) &&
              SameNumber(LifecycleStatus::kCustomer, v1::LIFECYCLE_STATUS_CUSTOMER) &&
              SameNumber(LifecycleStatus::kChurned, v1::LIFECYCLE_STATUS_CHURNED) &&
              SameNumber(LifecycleStatus::kChurned, v1::LifecycleStatus_MAX));
static_assert(SameNumber(CustomerState::kUnspecified, v1::CUSTOMER_STATE_UNSPECIFIED) &&
              SameNumber(CustomerState::kActive, v1::CUSTOMER_STATE_ACTIVE) &&
              SameNumber(CustomerState::kDeleted, v1::CUSTOMER_STATE_DELETED) &&
              SameNumber(CustomerState::kMerged, v1::CUSTOMER_STATE_MERGED) &&
              SameNumber(CustomerState::kMerged, v1::CustomerState_MAX));
static_assert(SameNumber(ContactPointKind::kUnspecified, type::CONTACT_POINT_KIND_UNSPECIFIED) &&
              SameNumber(ContactPointKind::kWork, type::CONTACT_POINT_KIND_WORK) &&
              SameNumber(ContactPointKind::kHome, type::CONTACT_POINT_KIND_HOME) &&
              SameNumber(ContactPointKind::kMobile, type::CONTACT_POINT_KIND_MOBILE) &&
              SameNumber(ContactPointKind::kFax, type::CONTACT_POINT_KIND_FAX) &&
              SameNumber(ContactPointKind::kOther, type::CONTACT_POINT_KIND_OTHER) &&
              SameNumber(ContactPointKind::kOther, type::ContactPointKind_MAX));
static_assert(SameNumber(MessagingService::kUnspecified, type::MESSAGING_SERVICE_UNSPECIFIED) &&
              SameNumber(MessagingService::kWeCom, type::MESSAGING_SERVICE_WECOM) &&
              SameNumber(MessagingService::kWeChat, type::MESSAGING_SERVICE_WECHAT) &&
              SameNumber(MessagingService::kDingTalk, type::MESSAGING_SERVICE_DINGTALK) &&
              SameNumber(MessagingService::kFeishu, type::MESSAGING_SERVICE_FEISHU) &&
              SameNumber(MessagingService::kQq, type::MESSAGING_SERVICE_QQ) &&
              SameNumber(MessagingService::kWhatsApp, type::MESSAGING_SERVICE_WHATSAPP) &&
              SameNumber(MessagingService::kLine, type::MESSAGING_SERVICE_LINE) &&
              SameNumber(MessagingService::kOther, type::MESSAGING_SERVICE_OTHER) &&
              SameNumber(MessagingService::kOther, type::MessagingService_MAX));

// DedupeReason travels as touchline.contacts.v1.DuplicateReason.
static_assert(SameNumber(DedupeReason::kPhone, v1::DUPLICATE_REASON_SAME_PHONE) &&
              SameNumber(DedupeReason::kEmail, v1::DUPLICATE_REASON_SAME_EMAIL) &&
              SameNumber(DedupeReason::kName, v1::DUPLICATE_REASON_SAME_NAME) &&
              SameNumber(DedupeReason::kName, v1::DuplicateReason_MAX));

template <typename To, typename From>
To CastEnum(From value) {
  return static_cast<To>(static_cast<int>(value));
}

void ToTimestamp(absl::Time time, Timestamp* proto) {
  const std::int64_t seconds = absl::ToUnixSeconds(time);  // Rounds towards the past.
  proto->set_seconds(seconds);
  proto->set_nanos(
      static_cast<std::int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::Time FromTimestamp(const Timestamp& proto) {
  return absl::FromUnixSeconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
}

void ToProto(const PersonName& name, type::PersonName* proto) {
  proto->set_family_name(name.family_name);
  proto->set_given_name(name.given_name);
  proto->set_additional_names(name.additional_names);
  proto->set_honorific_prefix(name.honorific_prefix);
  proto->set_honorific_suffix(name.honorific_suffix);
  proto->set_formatted_name(name.formatted_name);
}

PersonName FromProto(const type::PersonName& proto) {
  return {.family_name = proto.family_name(),
          .given_name = proto.given_name(),
          .additional_names = proto.additional_names(),
          .honorific_prefix = proto.honorific_prefix(),
          .honorific_suffix = proto.honorific_suffix(),
          .formatted_name = proto.formatted_name()};
}

void ToProto(const PostalAddress& address, type::PostalAddress* proto) {
  proto->set_kind(CastEnum<type::ContactPointKind>(address.kind));
  proto->set_country_code(address.country_code);
  proto->set_administrative_area(address.administrative_area);
  proto->set_locality(address.locality);
  proto->set_sublocality(address.sublocality);
  proto->mutable_address_lines()->Assign(address.address_lines.begin(),
                                         address.address_lines.end());
  proto->set_postal_code(address.postal_code);
}

PostalAddress FromProto(const type::PostalAddress& proto) {
  return {.kind = CastEnum<ContactPointKind>(proto.kind()),
          .country_code = proto.country_code(),
          .administrative_area = proto.administrative_area(),
          .locality = proto.locality(),
          .sublocality = proto.sublocality(),
          .address_lines = {proto.address_lines().begin(), proto.address_lines().end()},
          .postal_code = proto.postal_code()};
}

void ToProto(const ContactPerson& person, v1::ContactPerson* proto) {
  proto->set_person_id(person.person_id);
  ToProto(person.name, proto->mutable_name());
  proto->mutable_titles()->Assign(person.titles.begin(), person.titles.end());
  proto->set_department(person.department);
  for (const Phone& phone : person.phones) {
    type::PhoneNumber* out = proto->add_phones();
    out->set_number(phone.number);
    out->set_kind(CastEnum<type::ContactPointKind>(phone.kind));
    out->set_primary(phone.primary);
  }
  for (const Email& email : person.emails) {
    type::EmailAddress* out = proto->add_emails();
    out->set_address(email.address);
    out->set_kind(CastEnum<type::ContactPointKind>(email.kind));
    out->set_primary(email.primary);
  }
  for (const PostalAddress& address : person.addresses) ToProto(address, proto->add_addresses());
  for (const MessagingAccount& account : person.messaging_accounts) {
    type::MessagingAccount* out = proto->add_messaging_accounts();
    out->set_service(CastEnum<type::MessagingService>(account.service));
    out->set_account_id(account.account_id);
  }
  proto->set_note(person.note);
}

ContactPerson FromProto(const v1::ContactPerson& proto) {
  ContactPerson person;
  person.person_id = proto.person_id();
  person.name = FromProto(proto.name());
  person.titles.assign(proto.titles().begin(), proto.titles().end());
  person.department = proto.department();
  person.note = proto.note();
  for (const type::PhoneNumber& phone : proto.phones()) {
    person.phones.push_back({.number = phone.number(),
                             .kind = CastEnum<ContactPointKind>(phone.kind()),
                             .primary = phone.primary()});
  }
  for (const type::EmailAddress& email : proto.emails()) {
    person.emails.push_back({.address = email.address(),
                             .kind = CastEnum<ContactPointKind>(email.kind()),
                             .primary = email.primary()});
  }
  for (const type::PostalAddress& address : proto.addresses()) {
    person.addresses.push_back(FromProto(address));
  }
  for (const type::MessagingAccount& account : proto.messaging_accounts()) {
    person.messaging_accounts.push_back({.service = CastEnum<MessagingService>(account.service()),
                                         .account_id = account.account_id()});
  }
  return person;
}

void ToProto(const CustomValue& value, type::CustomValue* proto) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          proto->set_string_value(v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          proto->set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          proto->set_double_value(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          proto->set_bool_value(v);
        } else {
          static_assert(std::is_same_v<T, absl::Time>);
          ToTimestamp(v, proto->mutable_timestamp_value());
        }
      },
      value);
}

// The value of one custom field; nothing for a value with none of its kinds set.
std::optional<CustomValue> FromProto(const type::CustomValue& proto) {
  switch (proto.kind_case()) {
    case type::CustomValue::kStringValue:
      return proto.string_value();
    case type::CustomValue::kIntValue:
      return proto.int_value();
    case type::CustomValue::kDoubleValue:
      return proto.double_value();
    case type::CustomValue::kBoolValue:
      return proto.bool_value();
    case type::CustomValue::kTimestampValue:
      return FromTimestamp(proto.timestamp_value());
    case type::CustomValue::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

}  // namespace

void ToProto(const Customer& customer, v1::Customer* proto) {
  proto->Clear();
  proto->set_customer_id(customer.customer_id);
  proto->set_kind(CastEnum<v1::CustomerKind>(customer.kind));
  proto->set_display_name(customer.display_name);
  proto->set_industry(customer.industry);
  proto->set_region(customer.region);
  proto->set_level(CastEnum<v1::CustomerLevel>(customer.level));
  proto->set_lifecycle_status(CastEnum<v1::LifecycleStatus>(customer.lifecycle_status));
  proto->set_owner_id(customer.owner_id);
  proto->mutable_tags()->Assign(customer.tags.begin(), customer.tags.end());
  for (const auto& [key, value] : customer.custom_fields) {
    ToProto(value, &(*proto->mutable_custom_fields())[key]);
  }
  for (const ContactPerson& person : customer.contact_persons) {
    ToProto(person, proto->add_contact_persons());
  }
  for (const PostalAddress& address : customer.addresses) {
    ToProto(address, proto->add_addresses());
  }
  proto->set_state(CastEnum<v1::CustomerState>(customer.state));
  proto->set_merged_into_customer_id(customer.merged_into_customer_id);
  ToTimestamp(customer.create_time, proto->mutable_create_time());
  ToTimestamp(customer.update_time, proto->mutable_update_time());
  if (customer.delete_time.has_value()) {
    ToTimestamp(*customer.delete_time, proto->mutable_delete_time());
  }
  proto->set_etag(std::to_string(customer.version));
}

Customer FromProto(const v1::Customer& proto) {
  Customer customer;
  customer.customer_id = proto.customer_id();
  customer.kind = CastEnum<CustomerKind>(proto.kind());
  customer.display_name = proto.display_name();
  customer.industry = proto.industry();
  customer.region = proto.region();
  customer.level = CastEnum<CustomerLevel>(proto.level());
  customer.lifecycle_status = CastEnum<LifecycleStatus>(proto.lifecycle_status());
  customer.owner_id = proto.owner_id();
  customer.tags.assign(proto.tags().begin(), proto.tags().end());
  for (const auto& [key, value] : proto.custom_fields()) {
    if (std::optional<CustomValue> converted = FromProto(value)) {
      customer.custom_fields.emplace(key, *std::move(converted));
    }
  }
  for (const v1::ContactPerson& person : proto.contact_persons()) {
    customer.contact_persons.push_back(FromProto(person));
  }
  for (const type::PostalAddress& address : proto.addresses()) {
    customer.addresses.push_back(FromProto(address));
  }
  return customer;
}

void ToProto(const CustomerMerge& merge, v1::CustomerMerge* proto) {
  proto->Clear();
  proto->set_merge_id(merge.merge_id);
  proto->set_survivor_customer_id(merge.survivor_customer_id);
  proto->set_merged_customer_id(merge.merged_customer_id);
  ToTimestamp(merge.create_time, proto->mutable_create_time());
  if (merge.unmerge_time.has_value()) {
    ToTimestamp(*merge.unmerge_time, proto->mutable_unmerge_time());
  }
}

}  // namespace touchline::contacts
