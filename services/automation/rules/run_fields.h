// The values of one run by the field catalogue's names (field_catalogue.h), from what the
// engine receives: a customer, a touchpoint, and the TriggerEvent a run records. What the
// conditions evaluate and the templates fill in. Pure. Absent values are left out (see
// FieldValues): an empty text, an UNSPECIFIED (or unknown) enumeration, an empty list, an
// unset time or a custom value with no kind set.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RUN_FIELDS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RUN_FIELDS_H_

#include "common/auth/scope.h"
#include "services/automation/rules/field_catalogue.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::automation {

// customer.level and customer.lifecycle_status (their value names, "CUSTOMER_LEVEL_VIP"),
// customer.region, customer.owner_id, customer.display_name, customer.tags and
// customer.custom_fields.<key>.
FieldValues CustomerFieldValues(const contacts::v1::Customer& c);

// touchpoint.channel, .direction, .category, .outcome, .sentiment (value names), .tags,
// .summary, .occur_time and touchpoint.custom_attributes.<key>.
FieldValues TouchpointFieldValues(const touchpoints::v1::Touchpoint& t);

// The inverses, for what works on whole messages (field policies): the customer and the
// touchpoint `values` describe (names other than theirs ignored), so that
// CustomerFieldValues(CustomerOf(v)) gives v's customer.* values back, and alike.
contacts::v1::Customer CustomerOf(const FieldValues& values);
touchpoints::v1::Touchpoint TouchpointOf(const FieldValues& values);

// `values` as `scope` may see them: the customer's and the touchpoint's values through the
// scope's field policies (hidden ones left out, masked ones masked), the others as they are.
// What a rule sends out is shown to its owner's scope; what a run or a dry run shows, to the
// reader's.
FieldValues ShownTo(const auth::Scope& scope, const FieldValues& values);

// The value `result` saw, as `scope` may see it: cleared when the field is hidden from it,
// masked when masked.
void ShowTo(const auth::Scope& scope, v1::ComparisonResult& result);

// The values an event carries: its `fields` as scalars and its `list_fields` as lists.
FieldValues TriggerEventValues(const v1::TriggerEvent& e);

// The inverse: replaces e.fields and e.list_fields with `values` (scalars into fields, lists
// into list_fields), leaving out absent ones, so TriggerEventValues(e) gives `values` back
// without them.
void SetTriggerEventValues(const FieldValues& values, v1::TriggerEvent& e);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RUN_FIELDS_H_
