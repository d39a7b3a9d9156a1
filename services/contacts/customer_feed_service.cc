#include "services/contacts/customer_feed_service.h"

#include <utility>

#include "common/status/macros.h"

namespace touchline::contacts {
namespace {

// The enums of model.h carry the proto numbers (customer_proto.cc checks it).
void ToProto(const CustomerSnapshot& snapshot, v1::CustomerSnapshot* out) {
  out->set_tenant_id(snapshot.tenant_id);
  out->set_customer_id(snapshot.customer_id);
  out->set_state(static_cast<v1::CustomerState>(snapshot.state));
  out->set_merged_into_customer_id(snapshot.merged_into_customer_id);
  out->set_merge_id(snapshot.merge_id);
  for (const std::string& person_id : snapshot.person_ids) out->add_person_ids(person_id);
  out->set_owner_id(snapshot.owner_id);
  out->set_region(snapshot.region);
  out->set_level(static_cast<v1::CustomerLevel>(snapshot.level));
  out->set_version(snapshot.version);
  for (const FoldedPerson& folded : snapshot.folded_persons) {
    v1::CustomerSnapshot::FoldedPerson* person = out->add_folded_persons();
    person->set_person_id(folded.person_id);
    person->set_into_person_id(folded.into_person_id);
  }
  out->set_lifecycle_status(static_cast<v1::LifecycleStatus>(snapshot.lifecycle_status));
  for (const std::string& tag : snapshot.tags) out->add_tags(tag);
}

}  // namespace

CustomerFeedService::CustomerFeedService(CustomerManager* manager, server::UnaryRunner* runner)
    : manager_(manager), runner_(runner) {}

grpc::ServerUnaryReactor* CustomerFeedService::ListCustomerSnapshots(
    grpc::CallbackServerContext* context, const v1::ListCustomerSnapshotsRequest* request,
    v1::ListCustomerSnapshotsResponse* response) {
  return runner_->Run(
      context, "ListCustomerSnapshots", [=, this](const auth::RequestContext& caller) {
        TL_ASSIGN_OR_RETURN(
            const SnapshotPage page,
            manager_->ListSnapshots(caller, request->page_size(), request->page_token()));
        for (const CustomerSnapshot& snapshot : page.snapshots) {
          ToProto(snapshot, response->add_customers());
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

}  // namespace touchline::contacts
