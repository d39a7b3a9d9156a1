#include "services/contacts/customer_json.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace touchline::contacts {
namespace {

using ::nlohmann::json;

// One list of the members of each struct serves both directions, so encoder and decoder
// cannot drift apart. `S` is the struct, const when encoding.
template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, PersonName>
void VisitFields(S& s, F&& f) {
  f("family_name", s.family_name);
  f("given_name", s.given_name);
  f("additional_names", s.additional_names);
  f("honorific_prefix", s.honorific_prefix);
  f("honorific_suffix", s.honorific_suffix);
  f("formatted_name", s.formatted_name);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, Phone>
void VisitFields(S& s, F&& f) {
  f("number", s.number);
  f("kind", s.kind);
  f("primary", s.primary);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, Email>
void VisitFields(S& s, F&& f) {
  f("address", s.address);
  f("kind", s.kind);
  f("primary", s.primary);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, PostalAddress>
void VisitFields(S& s, F&& f) {
  f("kind", s.kind);
  f("country_code", s.country_code);
  f("administrative_area", s.administrative_area);
  f("locality", s.locality);
  f("sublocality", s.sublocality);
  f("address_lines", s.address_lines);
  f("postal_code", s.postal_code);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, MessagingAccount>
void VisitFields(S& s, F&& f) {
  f("service", s.service);
  f("account_id", s.account_id);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, ContactPerson>
void VisitFields(S& s, F&& f) {
  f("person_id", s.person_id);
  f("name", s.name);
  f("titles", s.titles);
  f("department", s.department);
  f("phones", s.phones);
  f("emails", s.emails);
  f("addresses", s.addresses);
  f("messaging_accounts", s.messaging_accounts);
  f("note", s.note);
}

template <typename S, typename F>
requires std::same_as<std::remove_const_t<S>, Customer>
void VisitFields(S& s, F&& f) {
  f("tenant_id", s.tenant_id);
  f("customer_id", s.customer_id);
  f("kind", s.kind);
  f("display_name", s.display_name);
  f("industry", s.industry);
  f("region", s.region);
  f("level", s.level);
  f("lifecycle_status", s.lifecycle_status);
  f("owner_id", s.owner_id);
  f("tags", s.tags);
  f("custom_fields", s.custom_fields);
  f("contact_persons", s.contact_persons);
  f("addresses", s.addresses);
  f("state", s.state);
  f("merged_into_customer_id", s.merged_into_customer_id);
  f("create_time", s.create_time);
  f("update_time", s.update_time);
  f("delete_time", s.delete_time);
  f("version", s.version);
}

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

using CustomFields = std::map<std::string, CustomValue>;

// The member name of each CustomValue alternative, in variant order.
constexpr const char* kCustomValueKeys[] = {"s", "i", "d", "b", "t"};
static_assert(std::size(kCustomValueKeys) == std::variant_size_v<CustomValue>);

template <typename T>
json Encode(const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
    return json(value);
  } else if constexpr (std::is_enum_v<T>) {
    return json(static_cast<std::underlying_type_t<T>>(value));
  } else if constexpr (std::is_same_v<T, absl::Time>) {
    return json(absl::ToUnixMicros(value));
  } else if constexpr (std::is_same_v<T, std::optional<absl::Time>>) {
    return value.has_value() ? Encode(*value) : json(nullptr);
  } else if constexpr (IsVector<T>::value) {
    json array = json::array();
    for (const auto& element : value) array.push_back(Encode(element));
    return array;
  } else if constexpr (std::is_same_v<T, CustomFields>) {
    json object = json::object();
    for (const auto& [key, field] : value) object[key] = Encode(field);
    return object;
  } else if constexpr (std::is_same_v<T, CustomValue>) {
    json object = json::object();
    std::visit([&](const auto& v) { object[kCustomValueKeys[value.index()]] = Encode(v); }, value);
    return object;
  } else {
    json object = json::object();
    VisitFields(value, [&](const char* key, const auto& field) { object[key] = Encode(field); });
    return object;
  }
}

// Reads JSON into the model, remembering where it is so an error can say which member was
// wrong. The first error wins; reads after it do nothing.
class Decoder {
 public:
  template <typename T>
  void Read(const json& value, T& out) {
    if (!status_.ok()) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (!value.is_string()) return Fail("expected a string");
      out = value.get<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!value.is_boolean()) return Fail("expected true or false");
      out = value.get<bool>();
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() &&
           value.get<std::uint64_t>() >
               static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
        return Fail("expected a 64-bit integer");
      }
      out = value.get<std::int64_t>();
    } else if constexpr (std::is_same_v<T, double>) {
      if (!value.is_number()) return Fail("expected a number");
      out = value.get<double>();
    } else if constexpr (std::is_enum_v<T>) {
      std::int64_t number = 0;
      Read(value, number);
      using Underlying = std::underlying_type_t<T>;
      if (number < std::numeric_limits<Underlying>::min() ||
          number > std::numeric_limits<Underlying>::max()) {
        return Fail("enum number out of range");
      }
      out = static_cast<T>(number);
    } else if constexpr (std::is_same_v<T, absl::Time>) {
      std::int64_t micros = 0;
      Read(value, micros);
      out = absl::FromUnixMicros(micros);
    } else if constexpr (std::is_same_v<T, std::optional<absl::Time>>) {
      if (value.is_null()) {
        out.reset();
        return;
      }
      out.emplace();
      Read(value, *out);
    } else if constexpr (IsVector<T>::value) {
      if (!value.is_array()) return Fail("expected an array");
      out.assign(value.size(), {});
      for (size_t i = 0; i < value.size(); ++i) Member(absl::StrCat("[", i, "]"), value[i], out[i]);
    } else if constexpr (std::is_same_v<T, CustomFields>) {
      if (!value.is_object()) return Fail("expected an object");
      out.clear();
      for (const auto& [key, field] : value.items()) {
        Member(absl::StrCat("[\"", key, "\"]"), field, out[key]);
      }
    } else if constexpr (std::is_same_v<T, CustomValue>) {
      ReadCustomValue(value, out);
    } else {
      if (!value.is_object()) return Fail("expected an object");
      VisitFields(out, [&](const char* key, auto& field) {
        if (auto it = value.find(key); it != value.end())
          Member(absl::StrCat(".", key), *it, field);
      });
    }
  }

  absl::Status status() const { return status_; }

 private:
  // Reads a member or element, with `step` appended to the path while it does.
  template <typename T>
  void Member(std::string_view step, const json& value, T& out) {
    const size_t length = path_.size();
    path_.append(step);
    Read(value, out);
    path_.resize(length);
  }

  void ReadCustomValue(const json& value, CustomValue& out) {
    if (!value.is_object() || value.size() != 1) {
      return Fail("expected an object with exactly one member (s, i, d, b or t)");
    }
    const std::string& key = value.begin().key();
    const json& member = value.begin().value();
    if (key == "s") {
      Member(".s", member, out.emplace<std::string>());
    } else if (key == "i") {
      Member(".i", member, out.emplace<std::int64_t>());
    } else if (key == "d") {
      Member(".d", member, out.emplace<double>());
    } else if (key == "b") {
      Member(".b", member, out.emplace<bool>());
    } else if (key == "t") {
      Member(".t", member, out.emplace<absl::Time>());
    } else {
      Fail(absl::StrCat("unknown custom value type '", key, "'"));
    }
  }

  void Fail(std::string_view what) {
    status_ = absl::DataLossError(absl::StrCat("malformed stored JSON at ",
                                               path_.empty() ? "top level" : path_, ": ",
                                               absl::string_view(what.data(), what.size())));
  }

  std::string path_;
  absl::Status status_;
};

template <typename T>
absl::StatusOr<T> Decode(const json& value) {
  Decoder decoder;
  T out{};
  decoder.Read(value, out);
  if (!decoder.status().ok()) return decoder.status();
  return out;
}

}  // namespace

absl::Time TruncateToMicros(absl::Time time) {
  return absl::UnixEpoch() + absl::Floor(time - absl::UnixEpoch(), absl::Microseconds(1));
}

json ContactPersonsToJson(const std::vector<ContactPerson>& persons) { return Encode(persons); }

absl::StatusOr<std::vector<ContactPerson>> ContactPersonsFromJson(const json& value) {
  return Decode<std::vector<ContactPerson>>(value);
}

json AddressesToJson(const std::vector<PostalAddress>& addresses) { return Encode(addresses); }

absl::StatusOr<std::vector<PostalAddress>> AddressesFromJson(const json& value) {
  return Decode<std::vector<PostalAddress>>(value);
}

json CustomFieldsToJson(const CustomFields& fields) { return Encode(fields); }

absl::StatusOr<CustomFields> CustomFieldsFromJson(const json& value) {
  return Decode<CustomFields>(value);
}

json CustomerToJson(const Customer& customer) { return Encode(customer); }

absl::StatusOr<Customer> CustomerFromJson(const json& value) { return Decode<Customer>(value); }

absl::StatusOr<json> ParseJson(std::string_view text) {
  json parsed = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::DataLossError("stored text is not valid JSON");
  return parsed;
}

}  // namespace touchline::contacts
