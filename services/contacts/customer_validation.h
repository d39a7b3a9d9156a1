// Checks and normalises customers before they are stored: the rules of the
// touchline.contacts.v1.Customer contract, applied to the domain model.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_VALIDATION_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_VALIDATION_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/validation/field_checker.h"
#include "services/contacts/model.h"

namespace touchline::contacts {

// One bad input field, shaped for google.rpc.BadRequest.FieldViolation. `field` is a path
// of proto field names: "customer.contact_persons[0].phones[1].number",
// "customer.custom_fields[\"vip_since\"]", "update_mask". Descriptions are the shared
// field checker's (common/validation).
using FieldViolation = validation::FieldViolation;

// Limits of the contract. Lengths count code points unless a rule says bytes. Shared with
// the merge, which keeps a merged customer within them.
inline constexpr size_t kMaxDisplayNameLength = 256;
inline constexpr size_t kMaxShortTextLength = 128;  // industry, region, owner, name parts...
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxTagLength = 64;
inline constexpr size_t kMaxCustomFields = 64;
inline constexpr size_t kMaxCustomStringLength = 4096;
inline constexpr size_t kMaxContactPersons = 100;
inline constexpr size_t kMaxHonorificLength = 64;
inline constexpr size_t kMaxFormattedNameLength = 256;
inline constexpr size_t kMaxTitles = 8;
inline constexpr size_t kMaxPhones = 16;
inline constexpr size_t kMaxPhoneInputLength = 64;
inline constexpr size_t kMaxEmails = 16;
inline constexpr size_t kMaxEmailBytes = 254;      // RFC 5321 counts octets.
inline constexpr size_t kMaxEmailLocalBytes = 64;  // RFC 5321 4.5.3.1.1.
inline constexpr size_t kMaxAddresses = 8;
inline constexpr size_t kMaxAddressLines = 4;
inline constexpr size_t kMaxAddressLineLength = 256;
inline constexpr size_t kMaxPostalCodeLength = 32;
inline constexpr size_t kMaxMessagingAccounts = 16;
inline constexpr size_t kMaxNoteLength = 4096;

struct ValidationOptions {
  // ISO 3166-1 alpha-2 region whose numbering plan applies to phone numbers given without
  // a country code ("138 0013 8000").
  std::string default_region = "CN";
};

// INVALID_ARGUMENT when `options` cannot work, e.g. a default_region libphonenumber does
// not know. For start-up configuration checks.
absl::Status CheckValidationOptions(const ValidationOptions& options);

class CustomerValidator {
 public:
  // Precondition: CheckValidationOptions(options) is OK; with an unknown region every
  // phone number without a country code is rejected.
  explicit CustomerValidator(ValidationOptions options);

  // Checks and normalises a customer in place, for a create (`for_create`: kind is
  // required) or after an update has been applied. Returns every violation found, empty
  // when the customer is valid. Nothing is ever truncated: a value over a limit is a
  // violation. On success the customer is normalised: single-line texts trimmed, phones in
  // E.164, emails lower-cased, country codes upper-cased, tags de-duplicated, empty
  // formatted names composed from the name parts, level/lifecycle defaulted (STANDARD,
  // LEAD), and all times truncated to microseconds (what PostgreSQL keeps). On failure the
  // customer may be partly normalised and must not be stored.
  std::vector<FieldViolation> Normalize(Customer& customer, bool for_create) const;

 private:
  ValidationOptions options_;
};

// Gives every contact person without a person_id a new UUID (touchline::ids::NewUuid).
void AssignPersonIds(Customer& customer);

// The field path of one custom field: customer.custom_fields["key"]. '"', '\', control
// characters and bytes of invalid UTF-8 are escaped (\", \\, \xNN) so the path is valid
// UTF-8 whatever the key.
std::string CustomFieldPath(std::string_view key);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_VALIDATION_H_
