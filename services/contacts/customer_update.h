// Applying an UpdateCustomer field mask to the domain model.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_UPDATE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_UPDATE_H_

#include <string>
#include <vector>

#include "services/contacts/customer_validation.h"
#include "services/contacts/model.h"

namespace touchline::contacts {

// Copies the fields named by `paths` (google.protobuf.FieldMask paths, relative to the
// customer) from `patch` into `target`. Updatable: display_name, industry, region, level,
// lifecycle_status, owner_id, tags, custom_fields (replaces them all), custom_fields.<key>
// (sets one; removes it when `patch` has no such key), contact_persons and addresses; "*"
// names all of them. Contact persons are replaced as a list: a patch person with a
// person_id keeps it and must be one the target has, a person without one is new (its id is
// assigned later, see AssignPersonIds), and target persons not in the patch are removed.
//
// Returns the violations, empty on success: on "update_mask" for an empty mask, an unknown
// path or one that cannot be updated (kind, customer_id, state, times, etag...), and on
// "customer.contact_persons[i].person_id" for an id the target lacks. `target` is changed
// only when there are none. The result is not validated: run CustomerValidator::Normalize
// on it next.
std::vector<FieldViolation> ApplyUpdateMask(const Customer& patch,
                                            const std::vector<std::string>& paths,
                                            Customer& target);

// The field paths an update mask writes, for field policies to vet before anything is
// written: `paths` as given, with "*" replaced by every updatable field.
std::vector<std::string> WrittenFieldPaths(const std::vector<std::string>& paths);

// The field paths (proto field names, in field order) whose values differ between `before`
// and `after`: the top-level fields, except that contact persons are compared person by
// person at the same position, giving "contact_persons.<field>" for each person field that
// differs (a person only one side has differs in every field it sets). Identity and state
// (tenant, ids, state, merged_into_customer_id, times, version) are left out. Against a
// default Customer, the fields `after` sets.
std::vector<std::string> ChangedFieldPaths(const Customer& before, const Customer& after);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_UPDATE_H_
