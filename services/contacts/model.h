// Plain domain types of the contacts service: no protobuf, no libpqxx.
//
// Enumerators carry the numbers of the matching proto enums (touchline.contacts.v1 and
// touchline.type.v1) so the adapter converts with a cast; customer_proto.cc checks this.
#ifndef TOUCHLINE_SERVICES_CONTACTS_MODEL_H_
#define TOUCHLINE_SERVICES_CONTACTS_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace touchline::contacts {

enum class CustomerKind : int { kUnspecified = 0, kOrganization = 1, kPerson = 2 };
enum class CustomerLevel : int { kUnspecified = 0, kStandard = 1, kKey = 2, kVip = 3 };
enum class LifecycleStatus : int {
  kUnspecified = 0,
  kLead = 1,
  kProspect = 2,
  kOpportunity = 3,
  kHighIntent = 4,
  kCustomer = 5,
  kChurned = 6,
};
enum class CustomerState : int { kUnspecified = 0, kActive = 1, kDeleted = 2, kMerged = 3 };
enum class ContactPointKind : int {
  kUnspecified = 0,
  kWork = 1,
  kHome = 2,
  kMobile = 3,
  kFax = 4,
  kOther = 5,
};
enum class MessagingService : int {
  kUnspecified = 0,
  kWeCom = 1,
  kWeChat = 2,
  kDingTalk = 3,
  kFeishu = 4,
  kQq = 5,
  kWhatsApp = 6,
  kLine = 7,
  kOther = 8,
};

struct PersonName {
  std::string family_name;
  std::string given_name;
  std::string additional_names;
  std::string honorific_prefix;
  std::string honorific_suffix;
  std::string formatted_name;
  bool operator==(const PersonName&) const = default;
};

struct Phone {
  std::string number;  // E.164 once validated.
  ContactPointKind kind = ContactPointKind::kUnspecified;
  bool primary = false;
  bool operator==(const Phone&) const = default;
};

struct Email {
  std::string address;  // Lower-cased once validated.
  ContactPointKind kind = ContactPointKind::kUnspecified;
  bool primary = false;
  bool operator==(const Email&) const = default;
};

struct PostalAddress {
  ContactPointKind kind = ContactPointKind::kUnspecified;
  std::string country_code;
  std::string administrative_area;
  std::string locality;
  std::string sublocality;
  std::vector<std::string> address_lines;
  std::string postal_code;
  bool operator==(const PostalAddress&) const = default;
};

struct MessagingAccount {
  MessagingService service = MessagingService::kUnspecified;
  std::string account_id;
  bool operator==(const MessagingAccount&) const = default;
};

struct ContactPerson {
  std::string person_id;
  PersonName name;
  std::vector<std::string> titles;
  std::string department;
  std::vector<Phone> phones;
  std::vector<Email> emails;
  std::vector<PostalAddress> addresses;
  std::vector<MessagingAccount> messaging_accounts;
  std::string note;
  bool operator==(const ContactPerson&) const = default;
};

// A typed custom field value; exactly one alternative, as in touchline.type.v1.CustomValue.
using CustomValue = std::variant<std::string, std::int64_t, double, bool, absl::Time>;

struct Customer {
  std::string tenant_id;
  std::string customer_id;
  CustomerKind kind = CustomerKind::kUnspecified;
  std::string display_name;
  std::string industry;
  std::string region;
  CustomerLevel level = CustomerLevel::kUnspecified;
  LifecycleStatus lifecycle_status = LifecycleStatus::kUnspecified;
  std::string owner_id;
  std::vector<std::string> tags;
  std::map<std::string, CustomValue> custom_fields;
  std::vector<ContactPerson> contact_persons;
  std::vector<PostalAddress> addresses;
  CustomerState state = CustomerState::kUnspecified;
  std::string merged_into_customer_id;
  absl::Time create_time;
  absl::Time update_time;
  std::optional<absl::Time> delete_time;
  // Incremented by every write; the etag is its decimal string.
  std::int64_t version = 0;
  bool operator==(const Customer&) const = default;
};

// The record of one merge, with both customers as they were before it.
struct CustomerMerge {
  std::string tenant_id;
  std::string merge_id;
  std::string survivor_customer_id;
  std::string merged_customer_id;
  absl::Time create_time;
  std::optional<absl::Time> unmerge_time;
  Customer survivor_before;
  Customer merged_before;
  // Versions the merge left the two customers at; an unmerge requires them unchanged.
  std::int64_t survivor_version_after = 0;
  std::int64_t merged_version_after = 0;
  bool operator==(const CustomerMerge&) const = default;
};

// The lifecycle status a touchpoint left its customer in (the touchpoints service's
// customer_status_after), as its event tells it.
struct TouchpointStatus {
  std::string tenant_id;
  std::string customer_id;
  std::string touchpoint_id;
  LifecycleStatus status = LifecycleStatus::kUnspecified;
  absl::Time occurred_at;
  // Who recorded (or corrected) the touchpoint: the change to the customer is theirs.
  std::string actor_id;
  std::string request_id;
  bool operator==(const TouchpointStatus&) const = default;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_MODEL_H_
