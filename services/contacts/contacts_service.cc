#include "services/contacts/contacts_service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "services/contacts/customer_proto.h"
#include "services/contacts/customer_validation.h"

namespace touchline::contacts {
namespace {

using auth::RequestContext;
using Done = server::UnaryRunner::Done;

// The idempotency key of a mutation: its request id and a hash of the whole request, so a
// retry is recognised and a reused id with another request is refused.
absl::StatusOr<std::optional<IdempotencyKey>> KeyOf(std::string_view method,
                                                    const google::protobuf::Message& request,
                                                    const std::string& request_id) {
  if (request_id.empty()) return std::nullopt;
  if (std::optional<std::string> problem = idempotency::RequestIdProblem(request_id)) {
    return status::InvalidArgument("request_id", *std::move(problem));
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

ContactsService::ContactsService(CustomerManager* manager, server::UnaryRunner* runner)
    : manager_(manager), runner_(runner) {}

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
                                 [response, done](absl::StatusOr<v1::Customer> created) {
                                   if (created.ok()) *response->mutable_customer() = *created;
                                   done(created.status());
                                 });
                           });
}

grpc::ServerUnaryReactor* ContactsService::GetCustomer(grpc::CallbackServerContext* context,
                                                       const v1::GetCustomerRequest* request,
                                                       v1::GetCustomerResponse* response) {
  return runner_->RunAsync(context, "GetCustomer",
                           [=, this](const RequestContext& caller, Done done) {
                             manager_->Get(caller, request->customer_id(),
                                           [response, done](absl::StatusOr<v1::Customer> customer) {
                                             if (!customer.ok()) return done(customer.status());
                                             *response->mutable_customer() = *std::move(customer);
                                             done(absl::OkStatus());
                                           });
                           });
}

grpc::ServerUnaryReactor* ContactsService::BatchGetCustomers(
    grpc::CallbackServerContext* context, const v1::BatchGetCustomersRequest* request,
    v1::BatchGetCustomersResponse* response) {
  return runner_->Run(context, "BatchGetCustomers", [=, this](const RequestContext& caller) {
    const std::vector<std::string> ids(request->customer_ids().begin(),
                                       request->customer_ids().end());
    TL_ASSIGN_OR_RETURN(std::vector<v1::Customer> customers, manager_->BatchGet(caller, ids));
    for (v1::Customer& customer : customers) *response->add_customers() = std::move(customer);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::ListCustomers(grpc::CallbackServerContext* context,
                                                         const v1::ListCustomersRequest* request,
                                                         v1::ListCustomersResponse* response) {
  return runner_->Run(context, "ListCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(CustomerQuery query, QueryOf(*request));
    TL_ASSIGN_OR_RETURN(ListResult result,
                        manager_->List(caller, std::move(query), request->page_token()));
    for (v1::Customer& customer : result.customers) {
      *response->add_customers() = std::move(customer);
    }
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
    TL_ASSIGN_OR_RETURN(const std::optional<IdempotencyKey> key,
                        KeyOf("UpdateCustomer", *request, request->request_id()));
    TL_ASSIGN_OR_RETURN(*response->mutable_customer(),
                        manager_->Update(caller, patch, request->customer().etag(), paths, key));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::DeleteCustomer(grpc::CallbackServerContext* context,
                                                          const v1::DeleteCustomerRequest* request,
                                                          v1::DeleteCustomerResponse* response) {
  return runner_->Run(context, "DeleteCustomer", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_customer(),
                        manager_->Delete(caller, request->customer_id(), request->etag()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::UndeleteCustomer(
    grpc::CallbackServerContext* context, const v1::UndeleteCustomerRequest* request,
    v1::UndeleteCustomerResponse* response) {
  return runner_->Run(context, "UndeleteCustomer", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_customer(),
                        manager_->Undelete(caller, request->customer_id(), request->etag()));
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
    for (const DuplicatePair& pair : result.pairs) {
      v1::DuplicateCandidate* candidate = response->add_candidates();
      candidate->set_customer_id(pair.customer_id);
      candidate->set_duplicate_customer_id(pair.duplicate_customer_id);
      for (const DuplicateMatch& match : pair.matches) {
        v1::DuplicateMatch* out = candidate->add_matches();
        out->set_reason(static_cast<v1::DuplicateReason>(match.reason));
        out->set_value(match.value);
      }
    }
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
        MergeResult outcome,
        manager_->Merge(caller, request->survivor_customer_id(), request->merged_customer_id(),
                        request->survivor_etag(), request->merged_etag(), key));
    *response->mutable_survivor() = std::move(outcome.survivor);
    ToProto(outcome.merge, response->mutable_merge());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactsService::UnmergeCustomers(
    grpc::CallbackServerContext* context, const v1::UnmergeCustomersRequest* request,
    v1::UnmergeCustomersResponse* response) {
  return runner_->Run(context, "UnmergeCustomers", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(MergeResult outcome, manager_->Unmerge(caller, request->merge_id()));
    *response->mutable_survivor() = std::move(outcome.survivor);
    *response->mutable_restored() = std::move(outcome.merged);
    ToProto(outcome.merge, response->mutable_merge());
    return absl::OkStatus();
  });
}

}  // namespace touchline::contacts
