// The customer read model touchpoints keeps (customers::ReadModel, fed by contacts' events and
// built from its CustomerFeedService), and what touchpoints does when a customer of it changes:
// a merge moves the merged customer's touchpoints to the survivor, an unmerge moves back those
// recorded for the restored customer, and a change of who may see a customer (its attributes
// or its shares) sends its touchpoints through the change feed again. Everything runs in the
// transaction that changes the model (a StreamConsumer's, which records the event as applied
// in the same one, or a bootstrap page's).
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_

#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "common/customers/read_model.h"

namespace touchline::touchpoints {

// The read model with touchpoints' reaction to each change of a customer (CustomerChanged).
const customers::ReadModel& CustomerReadModel();

// The reaction, whatever brought the change (an event, a bootstrap page, a customer learnt
// from contacts):
//  - merged (merged_into set where it was not): moves the customer's touchpoints to the
//    survivor, their persons folded into the survivor's renamed, with a TouchpointsReassigned
//    event;
//  - unmerged (merged_into cleared): moves back from the survivor those recorded for the
//    customer (or for customers merged into it), their folded persons named as before, with a
//    TouchpointsReassigned event;
//  - otherwise, when who may see it changed (its owner, region, level or state), sends its
//    touchpoints through the change feed again: their change_xid moves to this transaction,
//    nothing else of them changes. A reader who sees the customer now gets them on from the
//    cursor it holds, even one that passed over them unseen before.
absl::Status CustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                             const customers::CustomerRow& after,
                             const events::v1::EventEnvelope* cause);

// The shares read model's hook (enforcement::SharesChangedFn): the customer's shares changed in
// `txn`, so its touchpoints are sent through the change feed again, as for its attributes.
absl::Status SharesChanged(pqxx::work& txn, const std::string& tenant_id,
                           const std::string& customer_id);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_CUSTOMER_EVENTS_H_
