#include "services/contacts/customer_validation.h"

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/text/text.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"
#include "services/contacts/customer_json.h"
#include "unicode/uchar.h"
#include "unicode/uscript.h"
#include "unicode/utf8.h"

namespace touchline::contacts {

using text::CodePointCount;
using validation::FieldChecker;
using validation::FieldPath;
using validation::ItemPath;
namespace {

using ::i18n::phonenumbers::PhoneNumberUtil;

// Texts are optional and trimmed unless a rule says otherwise; free-form texts (notes,
// custom strings) are kept exactly as sent.
constexpr validation::TextRule kRequired{.required = true};
constexpr validation::TextRule kUntrimmed{.trim = false};

// A repeated string field: at most `max_entries` non-empty trimmed values.
void CheckTextList(FieldChecker& check, std::vector<std::string>& values, std::string_view path,
                   size_t max_entries, size_t max_length) {
  check.MaxEntries(values.size(), path, max_entries);
  for (size_t i = 0; i < values.size(); ++i) {
    check.Text(values[i], ItemPath(path, i), max_length, kRequired);
  }
}

// Checks the size of a repeated message field, then each element with `check_one(element,
// element_path)`.
template <typename T, typename CheckOne>
void CheckEntries(FieldChecker& check, std::vector<T>& values, std::string_view path,
                  size_t max_entries, CheckOne check_one) {
  check.MaxEntries(values.size(), path, max_entries);
  for (size_t i = 0; i < values.size(); ++i) check_one(values[i], ItemPath(path, i));
}

// Whether any code point of `text` satisfies `predicate`; ill-formed bytes are skipped
// (callers check UTF-8 first).
template <typename Predicate>
bool AnyCodePoint(std::string_view text, Predicate predicate) {
  int32_t pos = 0;
  const int32_t size = static_cast<int32_t>(text.size());
  while (pos < size) {
    UChar32 c;
    U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), pos, size, c);
    if (c >= 0 && predicate(c)) return true;
  }
  return false;
}

// Chinese, Japanese and Korean names are written family name first, without a space.
bool IsEastAsianText(std::string_view text) {
  return AnyCodePoint(text, [](UChar32 c) {
    UErrorCode error = U_ZERO_ERROR;
    const UScriptCode script = uscript_getScript(c, &error);
    return script == USCRIPT_HAN || script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA ||
           script == USCRIPT_HANGUL;
  });
}

// The vCard FN for a name given only in parts. Honorifics are left out on purpose: they stay
// in their own fields, and the formatted name is also what the merge compares, where
// "Dr. Wei Zhang" and "Wei Zhang" should be one person. East Asian names put the family name
// first without a space (张伟); additional names, in practice an English name such as
// "David", follow after a space. Other names read "given additional family".
std::string ComposeFormattedName(const PersonName& name) {
  if (IsEastAsianText(name.family_name) || IsEastAsianText(name.given_name)) {
    std::string composed = absl::StrCat(name.family_name, name.given_name);
    if (!name.additional_names.empty()) absl::StrAppend(&composed, " ", name.additional_names);
    return composed;
  }
  std::vector<std::string> parts;
  for (const std::string* part : {&name.given_name, &name.additional_names, &name.family_name}) {
    if (!part->empty()) parts.push_back(*part);
  }
  return absl::StrJoin(parts, " ");
}

void CheckName(FieldChecker& check, PersonName& name, std::string_view path) {
  bool parts_ok = check.Text(name.family_name, FieldPath(path, "family_name"), kMaxShortTextLength);
  parts_ok &= check.Text(name.given_name, FieldPath(path, "given_name"), kMaxShortTextLength);
  parts_ok &=
      check.Text(name.additional_names, FieldPath(path, "additional_names"), kMaxShortTextLength);
  check.Text(name.honorific_prefix, FieldPath(path, "honorific_prefix"), kMaxHonorificLength);
  check.Text(name.honorific_suffix, FieldPath(path, "honorific_suffix"), kMaxHonorificLength);
  const std::string formatted_path = FieldPath(path, "formatted_name");
  if (!check.Text(name.formatted_name, formatted_path, kMaxFormattedNameLength) || !parts_ok) {
    return;
  }
  if (name.formatted_name.empty() && name.family_name.empty() && name.given_name.empty()) {
    check.Add(path, "formatted_name, family_name or given_name is required");
    return;
  }
  if (!name.formatted_name.empty()) return;
  std::string composed = ComposeFormattedName(name);
  if (CodePointCount(composed) > kMaxFormattedNameLength) {
    check.Add(formatted_path,
              absl::StrCat("the name composed from its parts is longer than ",
                           kMaxFormattedNameLength, " characters; give formatted_name"));
    return;
  }
  name.formatted_name = std::move(composed);
}

bool IsEmailSyntax(std::string_view address) {
  const size_t at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > kMaxEmailLocalBytes) return false;
  // A domain needs at least two labels, none of them empty.
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  // No white space of any kind (U+3000 from a Chinese keyboard too) and no control
  // characters.
  return !AnyCodePoint(address, [](UChar32 c) { return u_isUWhiteSpace(c) || u_iscntrl(c); });
}

// Rewrites a phone number to E.164, taking a number without a country code as one of
// `region`.
void NormalizePhone(FieldChecker& check, std::string& number, const std::string& path,
                    const std::string& region) {
  if (!check.Text(number, path, kMaxPhoneInputLength, kRequired)) return;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  ::i18n::phonenumbers::PhoneNumber parsed;
  if (util.Parse(number, region, &parsed) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsValidNumber(parsed)) {
    check.Add(path, absl::StrCat("not a valid phone number for region ", region));
    return;
  }
  // E.164 has no extension: storing the number alone would silently drop it.
  if (parsed.has_extension()) {
    check.Add(path, "phone extensions cannot be stored; give the number without one");
    return;
  }
  std::string e164;
  util.Format(parsed, PhoneNumberUtil::E164, &e164);
  number = std::move(e164);
}

void CheckEmail(FieldChecker& check, Email& email, std::string_view path) {
  check.KnownEnum(email.kind, ContactPointKind::kOther, FieldPath(path, "kind"));
  const std::string address_path = FieldPath(path, "address");
  if (!check.Trim(email.address, address_path)) return;
  absl::AsciiStrToLower(&email.address);
  if (check.Required(!email.address.empty(), address_path) &&
      check.MaxBytes(email.address, address_path, kMaxEmailBytes) &&
      !IsEmailSyntax(email.address)) {
    check.Add(address_path, "is not a valid email address");
  }
}

void CheckAddress(FieldChecker& check, PostalAddress& address, std::string_view path) {
  check.KnownEnum(address.kind, ContactPointKind::kOther, FieldPath(path, "kind"));
  const std::string country_path = FieldPath(path, "country_code");
  if (check.Text(address.country_code, country_path, 2)) {
    const std::string& code = address.country_code;
    if (!code.empty() &&
        (code.size() != 2 || !absl::ascii_isalpha(static_cast<unsigned char>(code[0])) ||
         !absl::ascii_isalpha(static_cast<unsigned char>(code[1])))) {
      check.Add(country_path, "must be an ISO 3166-1 alpha-2 code such as CN");
    }
    absl::AsciiStrToUpper(&address.country_code);
  }
  check.Text(address.administrative_area, FieldPath(path, "administrative_area"),
             kMaxShortTextLength);
  check.Text(address.locality, FieldPath(path, "locality"), kMaxShortTextLength);
  check.Text(address.sublocality, FieldPath(path, "sublocality"), kMaxShortTextLength);
  CheckTextList(check, address.address_lines, FieldPath(path, "address_lines"), kMaxAddressLines,
                kMaxAddressLineLength);
  check.Text(address.postal_code, FieldPath(path, "postal_code"), kMaxPostalCodeLength);
  if (address.country_code.empty() && address.administrative_area.empty() &&
      address.locality.empty() && address.sublocality.empty() && address.address_lines.empty() &&
      address.postal_code.empty()) {
    check.Add(path, "an address needs at least one non-empty part");
  }
}

void CheckMessagingAccount(FieldChecker& check, MessagingAccount& account, std::string_view path) {
  const std::string service_path = FieldPath(path, "service");
  if (check.KnownEnum(account.service, MessagingService::kOther, service_path)) {
    check.Required(account.service != MessagingService::kUnspecified, service_path);
  }
  check.Text(account.account_id, FieldPath(path, "account_id"), kMaxShortTextLength, kRequired);
}

void CheckCustomValue(FieldChecker& check, CustomValue& value, std::string_view path) {
  // The range of google.protobuf.Timestamp, which PostgreSQL timestamptz also covers.
  static const absl::Time kMinTime =
      absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  static const absl::Time kMaxTime =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          check.Text(v, path, kMaxCustomStringLength, kUntrimmed);
        } else if constexpr (std::is_same_v<T, double>) {
          check.Finite(v, path);
        } else if constexpr (std::is_same_v<T, absl::Time>) {
          v = TruncateToMicros(v);
          if (v < kMinTime || v >= kMaxTime) {
            check.Add(path, "must be a time between the years 1 and 9999");
          }
        }
      },
      value);
}

// [a-z][a-z0-9_]{0,63}: keys become JSON keys and index names.
constexpr validation::TokenShape kCustomFieldKey{
    .max_length = 64, .punctuation = "_", .starts_with_letter = true};

void CheckCustomFields(FieldChecker& check, std::map<std::string, CustomValue>& fields) {
  check.MaxEntries(fields.size(), "customer.custom_fields", kMaxCustomFields);
  for (auto& [key, value] : fields) {
    const std::string path = CustomFieldPath(key);
    if (check.Encoding(key, path)) check.ForKeys().Token(key, path, kCustomFieldKey);
    CheckCustomValue(check, value, path);
  }
}

// Tags are trimmed and de-duplicated (first occurrence wins) before they are counted, so
// a client re-sending a tag does not hit the limit.
void CheckTags(FieldChecker& check, std::vector<std::string>& tags) {
  std::vector<std::string> distinct;
  std::set<std::string> seen;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!check.Text(tags[i], ItemPath("customer.tags", i), kMaxTagLength, kRequired)) {
      continue;
    }
    if (seen.insert(tags[i]).second) distinct.push_back(tags[i]);
  }
  check.MaxEntries(distinct.size(), "customer.tags", kMaxTags);
  tags = std::move(distinct);
}

}  // namespace

absl::Status CheckValidationOptions(const ValidationOptions& options) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  if (regions.count(options.default_region) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("default phone region '", options.default_region,
                     "' is not an ISO 3166-1 alpha-2 region libphonenumber knows (e.g. CN)"));
  }
  return absl::OkStatus();
}

CustomerValidator::CustomerValidator(ValidationOptions options) : options_(std::move(options)) {}

std::vector<FieldViolation> CustomerValidator::Normalize(Customer& customer,
                                                         bool for_create) const {
  std::vector<FieldViolation> violations;
  FieldChecker check(violations);

  check.Encoding(customer.tenant_id, "customer.tenant_id");
  check.Encoding(customer.customer_id, "customer.customer_id");
  check.Encoding(customer.merged_into_customer_id, "customer.merged_into_customer_id");

  if (check.KnownEnum(customer.kind, CustomerKind::kPerson, "customer.kind") && for_create) {
    check.Required(customer.kind != CustomerKind::kUnspecified, "customer.kind");
  }
  check.Text(customer.display_name, "customer.display_name", kMaxDisplayNameLength, kRequired);
  check.Text(customer.industry, "customer.industry", kMaxShortTextLength);
  check.Text(customer.region, "customer.region", kMaxShortTextLength);
  if (check.KnownEnum(customer.level, CustomerLevel::kVip, "customer.level") &&
      customer.level == CustomerLevel::kUnspecified) {
    customer.level = CustomerLevel::kStandard;
  }
  if (check.KnownEnum(customer.lifecycle_status, LifecycleStatus::kChurned,
                      "customer.lifecycle_status") &&
      customer.lifecycle_status == LifecycleStatus::kUnspecified) {
    customer.lifecycle_status = LifecycleStatus::kLead;
  }
  check.Text(customer.owner_id, "customer.owner_id", kMaxShortTextLength);
  CheckTags(check, customer.tags);
  CheckCustomFields(check, customer.custom_fields);

  validation::DuplicateCheck person_ids("contact_persons", ".person_id");
  size_t person_index = 0;
  CheckEntries(check, customer.contact_persons, "customer.contact_persons", kMaxContactPersons,
               [&](ContactPerson& person, const std::string& path) {
                 const size_t index = person_index++;
                 const std::string id_path = FieldPath(path, "person_id");
                 // Empty: a new person, given an id by AssignPersonIds.
                 if (!person.person_id.empty() && check.Uuid(person.person_id, id_path)) {
                   person_ids.First(check, person.person_id, index, id_path);
                 }
                 CheckName(check, person.name, FieldPath(path, "name"));
                 CheckTextList(check, person.titles, FieldPath(path, "titles"), kMaxTitles,
                               kMaxShortTextLength);
                 check.Text(person.department, FieldPath(path, "department"), kMaxShortTextLength);
                 CheckEntries(check, person.phones, FieldPath(path, "phones"), kMaxPhones,
                              [&](Phone& phone, const std::string& phone_path) {
                                check.KnownEnum(phone.kind, ContactPointKind::kOther,
                                                FieldPath(phone_path, "kind"));
                                NormalizePhone(check, phone.number, FieldPath(phone_path, "number"),
                                               options_.default_region);
                              });
                 CheckEntries(check, person.emails, FieldPath(path, "emails"), kMaxEmails,
                              [&](Email& email, const std::string& email_path) {
                                CheckEmail(check, email, email_path);
                              });
                 CheckEntries(check, person.addresses, FieldPath(path, "addresses"), kMaxAddresses,
                              [&](PostalAddress& address, const std::string& address_path) {
                                CheckAddress(check, address, address_path);
                              });
                 CheckEntries(check, person.messaging_accounts,
                              FieldPath(path, "messaging_accounts"), kMaxMessagingAccounts,
                              [&](MessagingAccount& account, const std::string& account_path) {
                                CheckMessagingAccount(check, account, account_path);
                              });
                 check.Text(person.note, FieldPath(path, "note"), kMaxNoteLength, kUntrimmed);
               });
  CheckEntries(check, customer.addresses, "customer.addresses", kMaxAddresses,
               [&](PostalAddress& address, const std::string& address_path) {
                 CheckAddress(check, address, address_path);
               });

  customer.create_time = TruncateToMicros(customer.create_time);
  customer.update_time = TruncateToMicros(customer.update_time);
  if (customer.delete_time.has_value()) {
    customer.delete_time = TruncateToMicros(*customer.delete_time);
  }
  return violations;
}

void AssignPersonIds(Customer& customer) {
  for (ContactPerson& person : customer.contact_persons) {
    if (person.person_id.empty()) person.person_id = ids::NewUuid();
  }
}

std::string CustomFieldPath(std::string_view key) {
  return validation::EntryPath("customer.custom_fields", key);
}

}  // namespace touchline::contacts
