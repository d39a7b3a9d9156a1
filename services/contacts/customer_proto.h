// Conversion between the customer model and the touchline.contacts.v1 protos.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_PROTO_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_PROTO_H_

#include "services/contacts/model.h"
#include "touchline/contacts/v1/contacts_service.pb.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::contacts {

// Fills `proto` (cleared first) with everything a caller may see: the etag is the decimal
// version; delete_time is set only when the customer has one. tenant_id is not part of
// the API and is not copied.
void ToProto(const Customer& customer, v1::Customer* proto);

// The input fields of `proto`: customer_id, kind, display_name, industry, region, level,
// lifecycle_status, owner_id, tags, custom_fields, contact_persons and addresses. The
// output-only fields (state, merged_into_customer_id, times) and the etag are ignored; the
// caller reads proto.etag() itself. Nothing is checked here; CustomerValidator::Normalize
// does that: enum numbers are copied as they are, unknown ones too, and timestamps are
// converted whatever their range (Normalize rejects years outside 1..9999). A custom field
// whose value has none of its kinds set carries nothing and is left out, so with an update
// mask naming "custom_fields.<key>" it removes that key.
Customer FromProto(const v1::Customer& proto);

// The merge record as callers see it; the before-snapshots and versions stay internal.
void ToProto(const CustomerMerge& merge, v1::CustomerMerge* proto);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_PROTO_H_
