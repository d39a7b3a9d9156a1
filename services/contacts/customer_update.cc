#include "services/contacts/customer_update.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"

namespace touchline::contacts {
namespace {

constexpr std::string_view kMask = "update_mask";
constexpr std::string_view kCustomFieldPrefix = "custom_fields.";

// How one updatable field moves from the patch to the target.
struct UpdatableField {
  std::string_view path;
  void (*copy)(const Customer& patch, Customer& target);
};

template <auto Member>
void CopyMember(const Customer& patch, Customer& target) {
  target.*Member = patch.*Member;
}

constexpr UpdatableField kUpdatableFields[] = {
    {"display_name", &CopyMember<&Customer::display_name>},
    {"industry", &CopyMember<&Customer::industry>},
    {"region", &CopyMember<&Customer::region>},
    {"level", &CopyMember<&Customer::level>},
    {"lifecycle_status", &CopyMember<&Customer::lifecycle_status>},
    {"owner_id", &CopyMember<&Customer::owner_id>},
    {"tags", &CopyMember<&Customer::tags>},
    {"custom_fields", &CopyMember<&Customer::custom_fields>},
    {"contact_persons", &CopyMember<&Customer::contact_persons>},
    {"addresses", &CopyMember<&Customer::addresses>},
};

// Fields of the resource that exist but are set by the server or fixed at creation.
constexpr std::string_view kFixedFields[] = {
    "customer_id", "kind",        "state",       "merged_into_customer_id",
    "create_time", "update_time", "delete_time", "etag",
};

const UpdatableField* FindUpdatable(std::string_view path) {
  for (const UpdatableField& field : kUpdatableFields) {
    if (field.path == path) return &field;
  }
  return nullptr;
}

bool IsKnownField(std::string_view name) {
  return FindUpdatable(name) != nullptr ||
         std::find(std::begin(kFixedFields), std::end(kFixedFields), name) !=
             std::end(kFixedFields);
}

// Why `path` cannot be updated; only called for paths that are neither updatable nor a
// custom field key.
std::string RejectionReason(std::string_view path) {
  const std::string quoted = "'" + std::string(path) + "'";
  const std::string_view top = path.substr(0, path.find('.'));
  if (top.size() < path.size() && FindUpdatable(top) != nullptr) {
    return "field " + quoted + " cannot be updated on its own; update '" + std::string(top) +
           "' as a whole";
  }
  if (IsKnownField(top)) return "field " + quoted + " cannot be updated";
  return "unknown field " + quoted;
}

void SetOrRemoveCustomField(const Customer& patch, std::string_view key, Customer& target) {
  const std::string name(key);
  if (auto it = patch.custom_fields.find(name); it != patch.custom_fields.end()) {
    target.custom_fields.insert_or_assign(name, it->second);
  } else {
    target.custom_fields.erase(name);
  }
}

void CheckPersonIds(const Customer& patch, const Customer& target,
                    std::vector<FieldViolation>& violations) {
  for (size_t i = 0; i < patch.contact_persons.size(); ++i) {
    const std::string& id = patch.contact_persons[i].person_id;
    if (id.empty()) continue;
    const bool known =
        std::any_of(target.contact_persons.begin(), target.contact_persons.end(),
                    [&](const ContactPerson& person) { return person.person_id == id; });
    if (!known) {
      violations.push_back(
          {absl::StrCat("customer.contact_persons[", i, "].person_id"), "no such person"});
    }
  }
}

template <typename T, auto Member>
bool Differs(const T& a, const T& b) {
  return !(a.*Member == b.*Member);
}

// A field field policies may name, and how to tell whether two values of it differ.
template <typename T>
struct ComparedField {
  std::string_view path;
  bool (*differs)(const T& a, const T& b);
};

// In proto field order. Contact persons are compared person by person (see kPersonFields),
// hence no function of their own.
constexpr ComparedField<Customer> kCustomerFields[] = {
    {"kind", &Differs<Customer, &Customer::kind>},
    {"display_name", &Differs<Customer, &Customer::display_name>},
    {"industry", &Differs<Customer, &Customer::industry>},
    {"region", &Differs<Customer, &Customer::region>},
    {"level", &Differs<Customer, &Customer::level>},
    {"lifecycle_status", &Differs<Customer, &Customer::lifecycle_status>},
    {"owner_id", &Differs<Customer, &Customer::owner_id>},
    {"tags", &Differs<Customer, &Customer::tags>},
    {"custom_fields", &Differs<Customer, &Customer::custom_fields>},
    {"contact_persons", nullptr},
    {"addresses", &Differs<Customer, &Customer::addresses>},
};

constexpr ComparedField<ContactPerson> kPersonFields[] = {
    {"contact_persons.name", &Differs<ContactPerson, &ContactPerson::name>},
    {"contact_persons.titles", &Differs<ContactPerson, &ContactPerson::titles>},
    {"contact_persons.department", &Differs<ContactPerson, &ContactPerson::department>},
    {"contact_persons.phones", &Differs<ContactPerson, &ContactPerson::phones>},
    {"contact_persons.emails", &Differs<ContactPerson, &ContactPerson::emails>},
    {"contact_persons.addresses", &Differs<ContactPerson, &ContactPerson::addresses>},
    {"contact_persons.messaging_accounts",
     &Differs<ContactPerson, &ContactPerson::messaging_accounts>},
    {"contact_persons.note", &Differs<ContactPerson, &ContactPerson::note>},
};

void AppendChangedPersonFields(const std::vector<ContactPerson>& before,
                               const std::vector<ContactPerson>& after,
                               std::vector<std::string>& paths) {
  const ContactPerson none;
  const size_t count = std::max(before.size(), after.size());
  for (const ComparedField<ContactPerson>& field : kPersonFields) {
    for (size_t i = 0; i < count; ++i) {
      if (field.differs(i < before.size() ? before[i] : none, i < after.size() ? after[i] : none)) {
        paths.emplace_back(field.path);
        break;
      }
    }
  }
}

}  // namespace

std::vector<FieldViolation> ApplyUpdateMask(const Customer& patch,
                                            const std::vector<std::string>& paths,
                                            Customer& target) {
  std::vector<FieldViolation> violations;
  if (paths.empty()) {
    violations.push_back({std::string(kMask), "must name at least one field"});
    return violations;
  }
  Customer updated = target;
  bool persons_replaced = false;
  for (const std::string& path : paths) {
    if (path == "*") {
      for (const UpdatableField& field : kUpdatableFields) field.copy(patch, updated);
      persons_replaced = true;
    } else if (const UpdatableField* field = FindUpdatable(path)) {
      field->copy(patch, updated);
      persons_replaced |= field->path == "contact_persons";
    } else if (path.starts_with(kCustomFieldPrefix)) {
      const std::string_view key = std::string_view(path).substr(kCustomFieldPrefix.size());
      if (key.empty()) {
        violations.push_back({std::string(kMask), absl::StrCat("'", path, "' names no key")});
      } else {
        SetOrRemoveCustomField(patch, key, updated);
      }
    } else {
      violations.push_back({std::string(kMask), RejectionReason(path)});
    }
  }
  if (persons_replaced) CheckPersonIds(patch, target, violations);
  if (violations.empty()) target = std::move(updated);
  return violations;
}

std::vector<std::string> WrittenFieldPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> written;
  for (const std::string& path : paths) {
    if (path != "*") {
      written.push_back(path);
      continue;
    }
    for (const UpdatableField& field : kUpdatableFields) written.emplace_back(field.path);
  }
  return written;
}

std::vector<std::string> ChangedFieldPaths(const Customer& before, const Customer& after) {
  std::vector<std::string> paths;
  for (const ComparedField<Customer>& field : kCustomerFields) {
    if (field.differs == nullptr) {
      AppendChangedPersonFields(before.contact_persons, after.contact_persons, paths);
    } else if (field.differs(before, after)) {
      paths.emplace_back(field.path);
    }
  }
  return paths;
}

}  // namespace touchline::contacts
