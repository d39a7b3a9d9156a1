// Folding one customer into another (MergeCustomers).
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_

#include <string>
#include <vector>

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

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MERGE_H_
