// The one disclosure step every output of a resource goes through: the caller's field
// policies hide and mask fields (auth::Scope::Redact), and what one response still shows of
// sensitive fields is reported as ONE "<resource>.read_sensitive" audit entry. Reads must not
// gain a database write, so the entry goes to the AuditPublisher (best effort); changes are
// audited durably through the outbox by whoever writes them.
//
//   disclosure::Disclosure disclosed(caller, auth::kCustomerResource,
//                                    {.max_listed_ids = 100, .detail_prefix = "customers "});
//   for (v1::Customer& customer : page) disclosed.Apply(customer, {customer.customer_id()});
//   disclosed.Report(audit);
//
// A manager calls it on everything it returns; an adapter never redacts on its own.
#ifndef TOUCHLINE_COMMON_DISCLOSURE_DISCLOSURE_H_
#define TOUCHLINE_COMMON_DISCLOSURE_DISCLOSURE_H_

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "google/protobuf/message.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::disclosure {

// How a response that showed several resources is reported.
struct ReadAuditOptions {
  // Most resource ids the entry's detail lists; the rest are counted ("and 3 more").
  size_t max_listed_ids = 100;
  // Text before the ids in the detail, e.g. "customers ".
  std::string detail_prefix;
};

// The disclosure of one response to one caller. Not thread-safe: one per response.
class Disclosure {
 public:
  // `resource` is one the field policies know (auth::kCustomerResource,
  // auth::kTouchpointResource): the messages given to Apply are of its type, and entries are
  // "<resource>.read_sensitive" of resource type `resource`. Precondition: caller.scope is
  // set (managers refuse calls without one first). `caller` must outlive the Disclosure.
  Disclosure(const auth::RequestContext& caller, std::string resource,
             ReadAuditOptions options = {});

  // Hides and masks the fields of `message` the caller's field policies restrict, in place.
  // When sensitive fields are left readable, notes their paths and `ids` (the resources
  // `message` shows: one, or both of a pair) for Report.
  void Apply(google::protobuf::Message& message, const std::vector<std::string>& ids);

  // Notes the sensitive `fields` shown of resource `id` in a message redacted for this caller
  // before (the gateway's prepared views are redacted when they are built, per field
  // profile). Nothing when `fields` is empty.
  void Note(const std::vector<std::string_view>& fields, std::string_view id);

  // The audit entry of what was noted; nullopt when nothing sensitive was shown. It names
  // the resource (resource_id) when one was shown; otherwise its detail lists the ids sorted,
  // at most max_listed_ids, after detail_prefix. Its fields are the noted paths, sorted,
  // each once.
  std::optional<touchline::events::v1::EventEnvelope> Entry() const;

  // Publishes Entry(), if any, to `audit` (not waiting for Redis).
  void Report(audit::AuditPublisher* audit) const;

 private:
  const auth::RequestContext& caller_;
  const std::string resource_;
  const ReadAuditOptions options_;
  std::set<std::string> ids_;
  std::set<std::string> fields_;
};

}  // namespace touchline::disclosure

#endif  // TOUCHLINE_COMMON_DISCLOSURE_DISCLOSURE_H_
