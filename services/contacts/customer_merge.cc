#include "services/contacts/customer_merge.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
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

MergeOutcome MergeOf(const Customer& survivor, const Customer& merged, Customer folded,
                     std::string merge_id, absl::Time now) {
  MergeOutcome outcome;
  outcome.survivor = std::move(folded);
  outcome.survivor.version = survivor.version + 1;
  outcome.survivor.update_time = now;
  outcome.merged = merged;
  outcome.merged.state = CustomerState::kMerged;
  outcome.merged.merged_into_customer_id = survivor.customer_id;
  outcome.merged.delete_time = now;
  outcome.merged.version = merged.version + 1;
  outcome.merged.update_time = now;
  outcome.merge = CustomerMerge{.tenant_id = survivor.tenant_id,
                                .merge_id = std::move(merge_id),
                                .survivor_customer_id = survivor.customer_id,
                                .merged_customer_id = merged.customer_id,
                                .create_time = now,
                                .unmerge_time = std::nullopt,
                                .survivor_before = survivor,
                                .merged_before = merged,
                                .survivor_version_after = outcome.survivor.version,
                                .merged_version_after = outcome.merged.version};
  return outcome;
}

absl::Status CheckNotUnmerged(const CustomerMerge& merge) {
  if (!merge.unmerge_time) return absl::OkStatus();
  return status::WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("merge ", merge.merge_id, " was already undone")),
      "ALREADY_UNMERGED");
}

absl::StatusOr<MergeOutcome> UnmergeOf(const CustomerMerge& merge, const Customer& survivor_now,
                                       const Customer& merged_now, absl::Time now) {
  if (survivor_now.version != merge.survivor_version_after ||
      merged_now.version != merge.merged_version_after) {
    return status::WithErrorInfo(
        absl::FailedPreconditionError(
            "a customer of this merge changed after it; undoing it would lose those changes"),
        "CHANGED_SINCE_MERGE");
  }
  MergeOutcome outcome{
      .survivor = merge.survivor_before, .merged = merge.merged_before, .merge = merge};
  outcome.survivor.version = survivor_now.version + 1;
  outcome.survivor.update_time = now;
  outcome.merged.version = merged_now.version + 1;
  outcome.merged.update_time = now;
  outcome.merge.unmerge_time = now;
  return outcome;
}

}  // namespace touchline::contacts
