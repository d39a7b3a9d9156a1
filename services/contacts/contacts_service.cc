#include "services/contacts/contacts_service.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "services/contacts/customer_proto.h"
#include "services/contacts/customer_validation.h"

namespace touchline::contacts {
namespace {

using auth::RequestContext;
using Done = server::UnaryRunner::Done;

// Most customer ids one audit entry of a read lists in its detail.
constexpr size_t kMaxAuditedIds = 100;

// The customer as the caller may see it: `customer` through their field policies. Returns
// the sensitive field paths left readable. Precondition: caller.scope is set (the manager
// refuses calls without one before anything reaches here).
std::vector<std::string> Redact(const RequestContext& caller, v1::Customer& customer) {
  return caller.scope->Redact(auth::kCustomerResource, customer);
}

// `customer` into `out`, as the caller may see it.
void ToCallerProto(const RequestContext& caller, const Customer& customer, v1::Customer* out) {
  ToProto(customer, out);
  Redact(caller, *out);
}

// What a read response let through of sensitive fields, reported as ONE audit entry per
// response: reads must not add a database write, so they go to the AuditPublisher (best
// effort), while changes are audited durably by the store.
class SensitiveReads {
 public:
  explicit SensitiveReads(const RequestContext& caller) : caller_(caller) {}

  // Puts `customer` through the caller's field policies and notes what it let through.
  void Redact(v1::Customer& customer) {
    Note({customer.customer_id()}, contacts::Redact(caller_, customer));
  }

  // Puts the value of `match` of the pair `ids` through the caller's field policies: the
  // phone, email or name it matched on is placed where it lives in a customer, so the same
  // rules apply to it as to that field (hidden: the value is left empty).
  void Redact(v1::DuplicateMatch& match, const std::vector<std::string>& ids) {
    v1::Customer probe;
    switch (match.reason()) {
      case v1::DUPLICATE_REASON_SAME_PHONE:
        probe.add_contact_persons()->add_phones()->set_number(match.value());
        break;
      case v1::DUPLICATE_REASON_SAME_EMAIL:
        probe.add_contact_persons()->add_emails()->set_address(match.value());
        break;
      default:
        probe.set_display_name(match.value());
        break;
    }
    Note(ids, contacts::Redact(caller_, probe));
    const v1::ContactPerson* person =
        probe.contact_persons().empty() ? nullptr : &probe.contact_persons(0);
    switch (match.reason()) {
      case v1::DUPLICATE_REASON_SAME_PHONE:
        match.set_value(person != nullptr && !person->phones().empty() ? person->phones(0).number()
                                                                       : std::string());
        break;
      case v1::DUPLICATE_REASON_SAME_EMAIL:
        match.set_value(person != nullptr && !person->emails().empty() ? person->emails(0).address()
                                                                       : std::string());
        break;
      default:
        match.set_value(probe.display_name());
        break;
    }
  }

  // One "customer.read_sensitive" entry when anything sensitive was let through: naming the
  // customer when there was one, else listing the ids (at most kMaxAuditedIds) in detail.
  void Report(audit::AuditPublisher* audit) const {
    if (fields_.empty()) return;
    const std::vector<std::string> fields(fields_.begin(), fields_.end());
    if (ids_.size() == 1) {
      audit->Publish(audit::MakeAuditEnvelope(caller_, "customer.read_sensitive", "customer",
                                              *ids_.begin(), fields));
      return;
    }
    std::vector<std::string> listed;
    for (const std::string& id : ids_) {
      if (listed.size() == kMaxAuditedIds) break;
      listed.push_back(id);
    }
    std::string detail = absl::StrCat("customers ", absl::StrJoin(listed, ","));
    if (ids_.size() > listed.size()) {
      absl::StrAppend(&detail, " and ", ids_.size() - listed.size(), " more");
    }
    audit->Publish(audit::MakeAuditEnvelope(caller_, "customer.read_sensitive", "customer", "",
                                            fields, std::move(detail)));
  }

 private:
  void Note(const std::vector<std::string>& ids, const std::vector<std::string>& paths) {
    if (paths.empty()) return;
    ids_.insert(ids.begin(), ids.end());
    fields_.insert(paths.begin(), paths.end());
  }

  const RequestContext& caller_;
  std::set<std::string> ids_;
  std::set<std::string> fields_;
};

// The idempotency key of a mutation: its request id and a hash of the whole request, so a
// retry is recognised and a reused id with another request is refused.
absl::StatusOr<std::optional<IdempotencyKey>> KeyOf(std::string_view method,
                                                    const google::protobuf::Message& request,
                                                    const std::string& request_id) {
  if (request_id.empty()) return std::nullopt;
  if (const char* problem = text::EncodingProblem(request_id)) {
    return status::InvalidArgument("request_id", problem);
  }
  if (request_id.size() > kMaxRequestIdBytes) {
    return status::InvalidArgument("request_id",
                                   absl::StrCat("must be at most ", kMaxRequestIdBytes, " bytes"));
  }
  return IdempotencyKey{.request_id = request_id,
                        .method = std::string(method),
                        .fingerprint = ids::Fingerprint(request)};
}

// The times `customer` carries, checked as sent: converting a bad one would shift it silently.
absl::Status CheckTimes(const v1::Customer& customer) {
  status::FieldViolations violations;
  for (const auto& [key, value] : customer.custom_fields()) {
    if (value.has_timestamp_value()) {
      status::CheckTimestamp(value.timestamp_value(), CustomFieldPath(key), violations);
    }
  }
  return violations.ToStatus();
}

absl::StatusOr<CustomerOrder> OrderOf(v1::CustomerOrder order) {
  switch (order) {
    case v1::CUSTOMER_ORDER_UNSPECIFIED:
    case v1::CUSTOMER_ORDER_UPDATE_TIME_DESC:
      return CustomerOrder::kUpdateTimeDesc;
    case v1::CUSTOMER_ORDER_CREATE_TIME_DESC:
      return CustomerOrder::kCreateTimeDesc;
    case v1::CUSTOMER_ORDER_DISPLAY_NAME:
      return CustomerOrder::kDisplayName;
    default:
      return status::InvalidArgument("order", "is not a known order");
  }
}

absl::StatusOr<CustomerQuery> QueryOf(const v1::ListCustomersRequest& request) {
  CustomerQuery query;
  status::FieldViolations violations;
  for (int i = 0; i < request.lifecycle_statuses_size(); ++i) {
    const int value = request.lifecycle_statuses(i);
    if (value <= 0 || !v1::LifecycleStatus_IsValid(value)) {
      violations.Add(absl::StrCat("lifecycle_statuses[", i, "]"), "is not a known status");
    }
    query.lifecycle_statuses.push_back(static_cast<LifecycleStatus>(value));
  }
  for (int i = 0; i < request.levels_size(); ++i) {
    const int value = request.levels(i);
    if (value <= 0 || !v1::CustomerLevel_IsValid(value)) {
      violations.Add(absl::StrCat("levels[", i, "]"), "is not a known level");
    }
    query.levels.push_back(static_cast<CustomerLevel>(value));
  }
  if (request.has_updated_since()) {
    status::CheckTimestamp(request.updated_since(), "updated_since", violations);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  query.region = request.region();
  query.owner_id = request.owner_id();
  query.tag = request.tag();
  if (request.has_updated_since()) {
    query.updated_since = absl::FromUnixSeconds(request.updated_since().seconds()) +
                          absl::Nanoseconds(request.updated_since().nanos());
  }
  query.display_name_prefix = request.display_name_prefix();
  query.show_deleted = request.show_deleted();
  TL_ASSIGN_OR_RETURN(query.order, OrderOf(request.order()));
  query.page_size = request.page_size();
  return query;
}

}  // namespace

ContactsService::ContactsService(CustomerManager* manager, server::UnaryRunner* runner,
                                 audit::AuditPublisher* audit)
    : manager_(manager), runner_(runner), audit_(audit) {}

grpc::ServerUnaryReactor* ContactsService::CreateCustomer(grpc::CallbackServerContext* context,
                                                          const v1::CreateCustomerRequest* request,
                                                          v1::CreateCustomerResponse* response) {
  return runner_->RunAsync(context, "CreateCustomer",
                           [=, this](const RequestContext& caller, Done done) {
                             if (!request->has_customer()) {
                               return done(status::InvalidArgument("customer", "is required"));
                             }
                             if (absl::Status times = CheckTimes(request->customer());
                                 !times.ok()) {
                               return done(times);
                             }
                             absl::StatusOr<std::optional<IdempotencyKey>> key =
                                 KeyOf("CreateCustomer", *request, request->request_id());
                             if (!key.ok()) return done(key.status());
                             manager_->Create(
                                 caller, FromProto(request->customer()), *key,
                                 [caller, response, done](absl::StatusOr<Customer> created) {
                                   if (created.ok()) {
                                     ToCallerProto(caller, *created, response->mutable_customer());
                                   }
                                   done(created.status());
                                 });
                           });
}

grpc::ServerUnaryReactor* ContactsService::GetCustomer(grpc::CallbackServerContext* context,
                                                       const v1::GetCustomerRequest* request,
                                                       v1::GetCustomerResponse* response) {
  return runner_->RunAsync(
      context, "GetCustomer", [=, this](const RequestContext& caller, Done done) {
        manager_->Get(caller, request->customer_id(),
                      [this, caller, response, done](absl::StatusOr<Customer> customer) {
                        if (customer.ok()) {
                          ToProto(*customer, response->mutable_customer());
                          SensitiveReads reads(caller);
                          reads.Redact(*response->mutable_customer());
                          reads.Report(audit_);
                        }
                        done(customer.status());
                      });
      });
}

grpc::ServerUnaryReactor* ContactsService::BatchGetCustomers(
    grpc::CallbackServerContext* context, const v1::BatchGetCustomersRequest* request,
    v1::BatchGetCustomersResponse* response) {
  return runner_->Run(context, "BatchGetCustomers", [=, this](const RequestContext& caller) {
    const std::vector<std::string> ids(request->customer_ids().begin(),
                                       request->customer_ids().end());
    TL_ASSIGN_OR_RETURN(const std::vector<Customer> customers, manager_->BatchGet(caller, ids));
    SensitiveReads reads(caller);
    for (const Customer& c : customers) {
      v1::Customer* out = response->add_customers();
      ToProto(c, out);
      reads.Redact(*out);
    }
    reads.Report(audit_);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::ListCustomers(grpc::CallbackServerContext* context,
                                                         const v1::ListCustomersRequest* request,
                                                         v1::ListCustomersResponse* response) {
  return runner_->Run(context, "ListCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(CustomerQuery query, QueryOf(*request));
    TL_ASSIGN_OR_RETURN(const ListResult result,
                        manager_->List(caller, std::move(query), request->page_token()));
    SensitiveReads reads(caller);
    for (const Customer& c : result.customers) {
      v1::Customer* out = response->add_customers();
      ToProto(c, out);
      reads.Redact(*out);
    }
    reads.Report(audit_);
    response->set_next_page_token(result.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::UpdateCustomer(grpc::CallbackServerContext* context,
                                                          const v1::UpdateCustomerRequest* request,
                                                          v1::UpdateCustomerResponse* response) {
  return runner_->Run(context, "UpdateCustomer", [=, this](const RequestContext& caller) {
    if (!request->has_customer()) return status::InvalidArgument("customer", "is required");
    TL_RETURN_IF_ERROR(CheckTimes(request->customer()));
    Customer patch = FromProto(request->customer());
    patch.customer_id = request->customer().customer_id();
    const std::vector<std::string> paths(request->update_mask().paths().begin(),
                                         request->update_mask().paths().end());
    TL_ASSIGN_OR_RETURN(const Customer updated,
                        manager_->Update(caller, patch, request->customer().etag(), paths));
    ToCallerProto(caller, updated, response->mutable_customer());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::DeleteCustomer(grpc::CallbackServerContext* context,
                                                          const v1::DeleteCustomerRequest* request,
                                                          v1::DeleteCustomerResponse* response) {
  return runner_->Run(context, "DeleteCustomer", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(const Customer deleted,
                        manager_->Delete(caller, request->customer_id(), request->etag()));
    ToCallerProto(caller, deleted, response->mutable_customer());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::UndeleteCustomer(
    grpc::CallbackServerContext* context, const v1::UndeleteCustomerRequest* request,
    v1::UndeleteCustomerResponse* response) {
  return runner_->Run(context, "UndeleteCustomer", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(const Customer restored,
                        manager_->Undelete(caller, request->customer_id(), request->etag()));
    ToCallerProto(caller, restored, response->mutable_customer());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::FindDuplicateCustomers(
    grpc::CallbackServerContext* context, const v1::FindDuplicateCustomersRequest* request,
    v1::FindDuplicateCustomersResponse* response) {
  return runner_->Run(context, "FindDuplicateCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(const DuplicatesResult result,
                        manager_->FindDuplicates(caller, request->customer_id(),
                                                 request->page_size(), request->page_token()));
    SensitiveReads reads(caller);
    for (const DuplicatePair& pair : result.pairs) {
      v1::DuplicateCandidate* candidate = response->add_candidates();
      candidate->set_customer_id(pair.customer_id);
      candidate->set_duplicate_customer_id(pair.duplicate_customer_id);
      for (const DuplicateMatch& match : pair.matches) {
        v1::DuplicateMatch* out = candidate->add_matches();
        out->set_reason(static_cast<v1::DuplicateReason>(match.reason));
        out->set_value(match.value);
        reads.Redact(*out, {pair.customer_id, pair.duplicate_customer_id});
      }
    }
    reads.Report(audit_);
    response->set_next_page_token(result.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::MergeCustomers(grpc::CallbackServerContext* context,
                                                          const v1::MergeCustomersRequest* request,
                                                          v1::MergeCustomersResponse* response) {
  return runner_->Run(context, "MergeCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(const auto key, KeyOf("MergeCustomers", *request, request->request_id()));
    TL_ASSIGN_OR_RETURN(
        const MergeOutcome outcome,
        manager_->Merge(caller, request->survivor_customer_id(), request->merged_customer_id(),
                        request->survivor_etag(), request->merged_etag(), key));
    ToCallerProto(caller, outcome.survivor, response->mutable_survivor());
    ToProto(outcome.merge, response->mutable_merge());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::UnmergeCustomers(
    grpc::CallbackServerContext* context, const v1::UnmergeCustomersRequest* request,
    v1::UnmergeCustomersResponse* response) {
  return runner_->Run(context, "UnmergeCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(const MergeOutcome outcome, manager_->Unmerge(caller, request->merge_id()));
    ToCallerProto(caller, outcome.survivor, response->mutable_survivor());
    ToCallerProto(caller, outcome.merged, response->mutable_restored());
    ToProto(outcome.merge, response->mutable_merge());
    return absl::OkStatus();
  });
}

}  // namespace touchline::contacts
