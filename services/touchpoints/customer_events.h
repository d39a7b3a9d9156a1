// The customer read model that contacts' events feed, and what touchpoints does when a
// customer changes: a merge moves the merged customer's touchpoints to the survivor, an
// unmerge moves back those recorded for the restored customer, and a change of who may see a
// customer (its attributes or its shares) sends its touchpoints through the change feed again.
// Every function runs in the caller's transaction (a StreamConsumer's, which records the event
// as applied in the same one).
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::touchpoints {

// Applies one event of contacts' "customers" topic to the read model: upserts the customer
// unless the model already holds a newer version; on a merge moves the merged customer's
// touchpoints to the survivor, on an unmerge moves back those recorded for the restored
// customer (or for customers merged into it), each move with a TouchpointsReassigned event.
// Other event types are ignored.
//
// When who may see a customer changes (its owner, region, level, state or merge), its
// touchpoints are sent through the change feed again, in the same transaction: their
// change_xid moves to it, nothing else of them changes. A reader who sees the customer now
// gets them on from the cursor it holds, even one that passed over them unseen before.
absl::Status ApplyCustomerEvent(pqxx::work& txn, const events::v1::EventEnvelope& event);

// The shares read model's hook (enforcement::SharesChangedFn): the customer's shares changed in
// `txn`, so its touchpoints are sent through the change feed again, as ApplyCustomerEvent does
// for the customer's own attributes.
absl::Status SharesChanged(pqxx::work& txn, const std::string& tenant_id,
                           const std::string& customer_id);

// Adds `customer` as its owner reported it (TouchpointStore::LearnCustomer): at its version
// plus `version_offset`, unless the model holds that version or a newer one.
void LearnReportedCustomer(pqxx::work& txn, const std::string& tenant_id,
                           const contacts::v1::Customer& customer, int64_t version_offset);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_
