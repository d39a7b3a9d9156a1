#include "services/contacts/customer_merge.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "services/contacts/customer_validation.h"

namespace touchline::contacts {
namespace {

// Appends the elements of `from` that `same` does not match to any element already in
// `to`, while `to` has fewer than `cap` elements.
template <typename T, typename Same>
void Unite(std::vector<T>& to, const std::vector<T>& from, size_t cap, Same same) {
  for (const T& candidate : from) {
    if (to.size() >= cap) return;
    const bool present = std::any_of(to.begin(), to.end(),
                                     [&](const T& existing) { return same(existing, candidate); });
    if (!present) to.push_back(candidate);
  }
}

template <typename T>
void Unite(std::vector<T>& to, const std::vector<T>& from, size_t cap) {
  Unite(to, from, cap, [](const T& a, const T& b) { return a == b; });
}

void FillIfEmpty(std::string& to, const std::string& from) {
  if (to.empty()) to = from;
}

bool HasContactPoints(const ContactPerson& person) {
  return !person.phones.empty() || !person.emails.empty();
}

bool SamePerson(const ContactPerson& a, const ContactPerson& b) {
  for (const Phone& phone : a.phones) {
    if (std::any_of(b.phones.begin(), b.phones.end(),
                    [&](const Phone& other) { return other.number == phone.number; })) {
      return true;
    }
  }
  for (const Email& email : a.emails) {
    if (std::any_of(b.emails.begin(), b.emails.end(),
                    [&](const Email& other) { return other.address == email.address; })) {
      return true;
    }
  }
  return !a.name.formatted_name.empty() && a.name.formatted_name == b.name.formatted_name &&
         (!HasContactPoints(a) || !HasContactPoints(b));
}

void FoldPerson(ContactPerson& into, const ContactPerson& from) {
  Unite(into.titles, from.titles, kMaxTitles);
  FillIfEmpty(into.department, from.department);
  Unite(into.phones, from.phones, kMaxPhones,
        [](const Phone& a, const Phone& b) { return a.number == b.number; });
  Unite(into.emails, from.emails, kMaxEmails,
        [](const Email& a, const Email& b) { return a.address == b.address; });
  Unite(into.addresses, from.addresses, kMaxAddresses);
  Unite(into.messaging_accounts, from.messaging_accounts, kMaxMessagingAccounts);
  FillIfEmpty(into.note, from.note);
}

}  // namespace

Customer FoldInto(const Customer& survivor, const Customer& merged,
                  std::vector<FoldedPerson>* folded) {
  Customer result = survivor;
  FillIfEmpty(result.industry, merged.industry);
  FillIfEmpty(result.region, merged.region);
  FillIfEmpty(result.owner_id, merged.owner_id);
  // The enumerators are in ascending order of weight (STANDARD < KEY < VIP).
  result.level = std::max(survivor.level, merged.level);
  if (result.lifecycle_status == LifecycleStatus::kUnspecified) {
    result.lifecycle_status = merged.lifecycle_status;
  }
  Unite(result.tags, merged.tags, kMaxTags);
  for (const auto& [key, value] : merged.custom_fields) {
    if (result.custom_fields.size() >= kMaxCustomFields) break;
    result.custom_fields.emplace(key, value);  // Keeps the survivor's value on a conflict.
  }
  for (const ContactPerson& person : merged.contact_persons) {
    auto same =
        std::find_if(result.contact_persons.begin(), result.contact_persons.end(),
                     [&](const ContactPerson& existing) { return SamePerson(existing, person); });
    if (same != result.contact_persons.end()) {
      FoldPerson(*same, person);
      if (folded != nullptr) folded->push_back({person.person_id, same->person_id});
    } else if (result.contact_persons.size() < kMaxContactPersons) {
      result.contact_persons.push_back(person);
    }
  }
  Unite(result.addresses, merged.addresses, kMaxAddresses);
  return result;
}

std::vector<FoldedPerson> FoldedPersons(const Customer& survivor, const Customer& merged) {
  std::vector<FoldedPerson> folded;
  FoldInto(survivor, merged, &folded);
  return folded;
}

}  // namespace touchline::contacts
