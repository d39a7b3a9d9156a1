// Folding one customer into another (MergeCustomers), and what a merge and its undoing store:
// the same decisions for every CustomerStore.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/contacts/model.h"

namespace touchline::contacts {

// A contact person of the merged customer that a merge folded into a person already on the
// survivor: whatever named person_id names into_person_id after the merge.
struct FoldedPerson {
  std::string person_id;
  std::string into_person_id;
  bool operator==(const FoldedPerson&) const = default;
};

// The survivor after taking in `merged`; both are expected normalised (E.164 phones,
// lower-cased emails, formatted names). Deterministic: the same inputs give the same result.
//  - Identity, kind, display_name, state, times and version stay the survivor's (the caller
//    sets state, times and version).
//  - industry, region, owner_id: the survivor's unless empty; level: the higher of the two;
//    lifecycle_status: the survivor's unless UNSPECIFIED.
//  - tags: the survivor's, then the merged customer's new ones; custom_fields: the union,
//    the survivor's value winning a conflict; addresses: the union without exact
//    duplicates.
//  - contact_persons: the survivor's, then each merged person, except that a merged person
//    who is the same as one already there is folded into that one (first match). Two persons
//    are the same when they share an E.164 phone number or an email address, or when they
//    have the same formatted_name and one of them has neither phone nor email (two people
//    called 张伟 with different numbers stay two people). Folding unites phones (by number),
//    emails (by address), addresses, messaging accounts and titles, and fills an empty
//    department or note; the survivor's name and person_id stay.
// Every list is capped at the limit CustomerValidator enforces, so the result stays valid;
// what a cap leaves out is still in the merged customer and in the merge record.
// `folded`, when given, receives the merged persons folded into another, in merged's order.
Customer FoldInto(const Customer& survivor, const Customer& merged,
                  std::vector<FoldedPerson>* folded = nullptr);

// The persons FoldInto(survivor, merged) folds (the same every time: FoldInto is deterministic),
// e.g. for the events of a merge and of its undoing, from the merge record.
std::vector<FoldedPerson> FoldedPersons(const Customer& survivor, const Customer& merged);

// Both customers of a merge and its record: as a merge leaves them, or as undoing it restores
// them.
struct MergeOutcome {
  Customer survivor;
  Customer merged;
  CustomerMerge merge;
};

// What merging `merged` into `survivor` (both as stored) at `now` stores, `folded` being the
// survivor's new state (FoldInto, vetted by the caller): the survivor as folded with the next
// version and update_time `now`; the merged customer MERGED into it, deleted at `now`, with
// the next version; and the merge record `merge_id` keeping both as they were and the versions
// the merge left them at.
MergeOutcome MergeOf(const Customer& survivor, const Customer& merged, Customer folded,
                     std::string merge_id, absl::Time now);

// FAILED_PRECONDITION (ErrorInfo reason ALREADY_UNMERGED) when `merge` was undone already.
absl::Status CheckNotUnmerged(const CustomerMerge& merge);

// What undoing `merge` at `now` stores, given both customers as they are now: each exactly as
// before the merge, but with the next version (an etag never comes back) and update_time
// `now`; the record with unmerge_time `now`. FAILED_PRECONDITION (reason CHANGED_SINCE_MERGE)
// when either customer changed after the merge: undoing it would lose those changes.
absl::StatusOr<MergeOutcome> UnmergeOf(const CustomerMerge& merge, const Customer& survivor_now,
                                       const Customer& merged_now, absl::Time now);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_
