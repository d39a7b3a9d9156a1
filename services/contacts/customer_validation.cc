#include "services/contacts/customer_validation.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"
#include "services/contacts/customer_json.h"
#include "common/text/text.h"
#include "unicode/uchar.h"
#include "unicode/uscript.h"
#include "unicode/utf8.h"

namespace touchline::contacts {

using text::CodePointCount;
using text::TrimSpace;
namespace {

using ::i18n::phonenumbers::PhoneNumberUtil;

// Field paths are built from std::string_view, which this Abseil's StrCat does not take.
std::string Field(std::string_view parent, std::string_view name) {
  return std::string(parent).append(".").append(name);
}

std::string Item(std::string_view parent, size_t index) {
  return std::string(parent).append("[").append(std::to_string(index)).append("]");
}

enum class Presence { kOptional, kRequired };
enum class Trim { kYes, kNo };

// Collects violations; each check names the field it looked at.
class Checker {
 public:
  explicit Checker(std::vector<FieldViolation>& out) : out_(out) {}

  void Add(std::string field, std::string description) {
    out_.push_back({std::move(field), std::move(description)});
  }

  // Every other check of a string starts here: lengths and syntax mean nothing for bytes
  // that are not text, and a NUL cannot be stored.
  bool Utf8(std::string_view value, std::string_view path) {
    const char* problem = text::EncodingProblem(value);
    if (problem == nullptr) return true;
    Add(std::string(path), problem);
    return false;
  }

  // Trims `value` (unless told not to) and checks its length in code points. Returns
  // whether it passed, so callers only go on to parse text that is well formed.
  bool Text(std::string& value, std::string_view path, size_t max_length,
            Presence presence = Presence::kOptional, Trim trim = Trim::kYes) {
    if (!Utf8(value, path)) return false;
    if (trim == Trim::kYes) value = TrimSpace(value);
    if (value.empty() && presence == Presence::kRequired) {
      Add(std::string(path), "is required");
      return false;
    }
    if (CodePointCount(value) > max_length) {
      Add(std::string(path), absl::StrCat("must be at most ", max_length, " characters"));
      return false;
    }
    return true;
  }

  void MaxEntries(size_t count, std::string_view path, size_t max_entries) {
    if (count > max_entries) {
      Add(std::string(path), absl::StrCat("must have at most ", max_entries, " entries"));
    }
  }

  // A repeated string field: at most `max_entries` non-empty trimmed values.
  void TextList(std::vector<std::string>& values, std::string_view path, size_t max_entries,
                size_t max_length) {
    MaxEntries(values.size(), path, max_entries);
    for (size_t i = 0; i < values.size(); ++i) {
      Text(values[i], Item(path, i), max_length, Presence::kRequired);
    }
  }

  // Checks an enum holds one of its known values, kUnspecified included.
  template <typename Enum>
  bool KnownEnum(Enum value, Enum last, std::string_view path) {
    const auto number = static_cast<std::underlying_type_t<Enum>>(value);
    if (number >= 0 && number <= static_cast<std::underlying_type_t<Enum>>(last)) return true;
    Add(std::string(path), absl::StrCat("unknown value ", number));
    return false;
  }

  // Checks the size of a repeated message field, then each element with `check(element,
  // element_path)`.
  template <typename T, typename CheckOne>
  void Entries(std::vector<T>& values, std::string_view path, size_t max_entries, CheckOne check) {
    MaxEntries(values.size(), path, max_entries);
    for (size_t i = 0; i < values.size(); ++i) check(values[i], Item(path, i));
  }

 private:
  std::vector<FieldViolation>& out_;
};

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

void CheckName(Checker& check, PersonName& name, std::string_view path) {
  bool parts_ok = check.Text(name.family_name, Field(path, "family_name"), kMaxShortTextLength);
  parts_ok &= check.Text(name.given_name, Field(path, "given_name"), kMaxShortTextLength);
  parts_ok &=
      check.Text(name.additional_names, Field(path, "additional_names"), kMaxShortTextLength);
  check.Text(name.honorific_prefix, Field(path, "honorific_prefix"), kMaxHonorificLength);
  check.Text(name.honorific_suffix, Field(path, "honorific_suffix"), kMaxHonorificLength);
  const std::string formatted_path = Field(path, "formatted_name");
  if (!check.Text(name.formatted_name, formatted_path, kMaxFormattedNameLength) || !parts_ok) {
    return;
  }
  if (name.formatted_name.empty() && name.family_name.empty() && name.given_name.empty()) {
    check.Add(std::string(path), "formatted_name, family_name or given_name is required");
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
void NormalizePhone(Checker& check, std::string& number, const std::string& path,
                    const std::string& region) {
  if (!check.Text(number, path, kMaxPhoneInputLength, Presence::kRequired)) return;
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

void CheckEmail(Checker& check, Email& email, std::string_view path) {
  check.KnownEnum(email.kind, ContactPointKind::kOther, Field(path, "kind"));
  const std::string address_path = Field(path, "address");
  if (!check.Utf8(email.address, address_path)) return;
  email.address = absl::AsciiStrToLower(TrimSpace(email.address));
  if (email.address.empty()) {
    check.Add(address_path, "is required");
  } else if (email.address.size() > kMaxEmailBytes) {
    check.Add(address_path, absl::StrCat("must be at most ", kMaxEmailBytes, " bytes"));
  } else if (!IsEmailSyntax(email.address)) {
    check.Add(address_path, "is not a valid email address");
  }
}

void CheckAddress(Checker& check, PostalAddress& address, std::string_view path) {
  check.KnownEnum(address.kind, ContactPointKind::kOther, Field(path, "kind"));
  const std::string country_path = Field(path, "country_code");
  if (check.Text(address.country_code, country_path, 2)) {
    const std::string& code = address.country_code;
    if (!code.empty() &&
        (code.size() != 2 || !absl::ascii_isalpha(static_cast<unsigned char>(code[0])) ||
         !absl::ascii_isalpha(static_cast<unsigned char>(code[1])))) {
      check.Add(country_path, "must be an ISO 3166-1 alpha-2 code such as CN");
    }
    absl::AsciiStrToUpper(&address.country_code);
  }
  check.Text(address.administrative_area, Field(path, "administrative_area"), kMaxShortTextLength);
  check.Text(address.locality, Field(path, "locality"), kMaxShortTextLength);
  check.Text(address.sublocality, Field(path, "sublocality"), kMaxShortTextLength);
  check.TextList(address.address_lines, Field(path, "address_lines"), kMaxAddressLines,
                 kMaxAddressLineLength);
  check.Text(address.postal_code, Field(path, "postal_code"), kMaxPostalCodeLength);
  if (address.country_code.empty() && address.administrative_area.empty() &&
      address.locality.empty() && address.sublocality.empty() && address.address_lines.empty() &&
      address.postal_code.empty()) {
    check.Add(std::string(path), "an address needs at least one non-empty part");
  }
}

void CheckMessagingAccount(Checker& check, MessagingAccount& account, std::string_view path) {
  const std::string service_path = Field(path, "service");
  if (check.KnownEnum(account.service, MessagingService::kOther, service_path) &&
      account.service == MessagingService::kUnspecified) {
    check.Add(service_path, "is required");
  }
  check.Text(account.account_id, Field(path, "account_id"), kMaxShortTextLength,
             Presence::kRequired);
}

void CheckCustomValue(Checker& check, CustomValue& value, std::string_view path) {
  // The range of google.protobuf.Timestamp, which PostgreSQL timestamptz also covers.
  static const absl::Time kMinTime =
      absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  static const absl::Time kMaxTime =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          check.Text(v, path, kMaxCustomStringLength, Presence::kOptional, Trim::kNo);
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(v)) check.Add(std::string(path), "must be a finite number");
        } else if constexpr (std::is_same_v<T, absl::Time>) {
          v = TruncateToMicros(v);
          if (v < kMinTime || v >= kMaxTime) {
            check.Add(std::string(path), "must be a time between the years 1 and 9999");
          }
        }
      },
      value);
}

bool IsCustomFieldKey(std::string_view key) {
  if (key.empty() || key.size() > 64 || !absl::ascii_islower(static_cast<unsigned char>(key[0])))
    return false;
  for (char c : key) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(byte) && !absl::ascii_isdigit(byte) && c != '_') return false;
  }
  return true;
}

void CheckCustomFields(Checker& check, std::map<std::string, CustomValue>& fields) {
  check.MaxEntries(fields.size(), "customer.custom_fields", kMaxCustomFields);
  for (auto& [key, value] : fields) {
    const std::string path = CustomFieldPath(key);
    if (check.Utf8(key, path) && !IsCustomFieldKey(key)) {
      check.Add(path, "key must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter");
    }
    CheckCustomValue(check, value, path);
  }
}

// Tags are trimmed and de-duplicated (first occurrence wins) before they are counted, so
// a client re-sending a tag does not hit the limit.
void CheckTags(Checker& check, std::vector<std::string>& tags) {
  std::vector<std::string> distinct;
  std::set<std::string> seen;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!check.Text(tags[i], Item("customer.tags", i), kMaxTagLength, Presence::kRequired)) {
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
  Checker check(violations);

  check.Utf8(customer.tenant_id, "customer.tenant_id");
  check.Utf8(customer.customer_id, "customer.customer_id");
  check.Utf8(customer.merged_into_customer_id, "customer.merged_into_customer_id");

  if (check.KnownEnum(customer.kind, CustomerKind::kPerson, "customer.kind") && for_create &&
      customer.kind == CustomerKind::kUnspecified) {
    check.Add("customer.kind", "is required");
  }
  check.Text(customer.display_name, "customer.display_name", kMaxDisplayNameLength,
             Presence::kRequired);
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

  std::set<std::string> person_ids;
  check.Entries(customer.contact_persons, "customer.contact_persons", kMaxContactPersons,
                [&](ContactPerson& person, const std::string& path) {
                  const std::string id_path = Field(path, "person_id");
                  if (check.Utf8(person.person_id, id_path) && !person.person_id.empty()) {
                    if (!ids::IsUuid(person.person_id)) {
                      check.Add(id_path, "must be a UUID");
                    } else if (!person_ids.insert(person.person_id).second) {
                      check.Add(id_path, "duplicate person_id");
                    }
                  }
                  CheckName(check, person.name, Field(path, "name"));
                  check.TextList(person.titles, Field(path, "titles"), kMaxTitles,
                                 kMaxShortTextLength);
                  check.Text(person.department, Field(path, "department"), kMaxShortTextLength);
                  check.Entries(person.phones, Field(path, "phones"), kMaxPhones,
                                [&](Phone& phone, const std::string& phone_path) {
                                  check.KnownEnum(phone.kind, ContactPointKind::kOther,
                                                  Field(phone_path, "kind"));
                                  NormalizePhone(check, phone.number, Field(phone_path, "number"),
                                                 options_.default_region);
                                });
                  check.Entries(person.emails, Field(path, "emails"), kMaxEmails,
                                [&](Email& email, const std::string& email_path) {
                                  CheckEmail(check, email, email_path);
                                });
                  check.Entries(person.addresses, Field(path, "addresses"), kMaxAddresses,
                                [&](PostalAddress& address, const std::string& address_path) {
                                  CheckAddress(check, address, address_path);
                                });
                  check.Entries(person.messaging_accounts, Field(path, "messaging_accounts"),
                                kMaxMessagingAccounts,
                                [&](MessagingAccount& account, const std::string& account_path) {
                                  CheckMessagingAccount(check, account, account_path);
                                });
                  check.Text(person.note, Field(path, "note"), kMaxNoteLength, Presence::kOptional,
                             Trim::kNo);
                });
  check.Entries(customer.addresses, "customer.addresses", kMaxAddresses,
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
  std::string escaped;
  const int32_t size = static_cast<int32_t>(key.size());
  int32_t pos = 0;
  while (pos < size) {
    const int32_t start = pos;
    UChar32 c;
    U8_NEXT(reinterpret_cast<const uint8_t*>(key.data()), pos, size, c);
    if (c == '"' || c == '\\') {
      escaped.push_back('\\');
      escaped.push_back(static_cast<char>(c));
    } else if (c < 0 || c < 0x20 || c == 0x7F) {
      for (int32_t i = start; i < pos; ++i) {
        absl::StrAppendFormat(&escaped, "\\x%02X", static_cast<unsigned char>(key[i]));
      }
    } else {
      escaped.append(key.substr(start, pos - start));
    }
  }
  return absl::StrCat("customer.custom_fields[\"", escaped, "\"]");
}

}  // namespace touchline::contacts
