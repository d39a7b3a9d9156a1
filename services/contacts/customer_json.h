// Lossless JSON encoding of the customer model, for PostgreSQL jsonb columns (contact
// persons, addresses, custom fields) and for the whole-customer snapshots a merge keeps.
//
// Shapes: structs are objects keyed by the model's field names; enums are their numbers
// (the proto numbers, which never change); times are integer Unix microseconds, and an
// absent optional time is null. A custom field value is an object with exactly one member
// naming its type: {"s": "text"} | {"i": 123} | {"d": 1.5} | {"b": true} | {"t": micros}.
//
// Precision: PostgreSQL keeps microseconds, and so does this encoding: an absl::Time is
// truncated (towards the past) to the microsecond. CustomerValidator::Normalize truncates
// every time of a customer the same way, so what is stored equals what the caller got back.
//
// Strings must be valid UTF-8 (Normalize guarantees it); nlohmann::json::dump() throws on
// anything else. Decoding never throws: malformed input gives DATA_LOSS naming the place.
// Missing members read as the field's default, so rows written before a field existed
// still decode; unknown members are ignored.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_JSON_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_JSON_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/contacts/model.h"

namespace touchline::contacts {

// `time` truncated towards the infinite past to a whole microsecond.
absl::Time TruncateToMicros(absl::Time time);

nlohmann::json ContactPersonsToJson(const std::vector<ContactPerson>& persons);
absl::StatusOr<std::vector<ContactPerson>> ContactPersonsFromJson(const nlohmann::json& value);

nlohmann::json AddressesToJson(const std::vector<PostalAddress>& addresses);
absl::StatusOr<std::vector<PostalAddress>> AddressesFromJson(const nlohmann::json& value);

nlohmann::json CustomFieldsToJson(const std::map<std::string, CustomValue>& fields);
absl::StatusOr<std::map<std::string, CustomValue>> CustomFieldsFromJson(
    const nlohmann::json& value);

// Every field of the customer, tenant_id, state, times and version included.
nlohmann::json CustomerToJson(const Customer& customer);
absl::StatusOr<Customer> CustomerFromJson(const nlohmann::json& value);

// Parses JSON text as read from the database. DATA_LOSS when it is not JSON.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_JSON_H_
