#include "services/automation/engine/testing/fake_delegation.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/testing/trusted_authenticator.h"

namespace touchline::automation::testing {

namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;

void FakeDelegation::SetScope(const std::string& user, pv1::EffectiveScope scope) {
  absl::MutexLock lock(&mu_);
  scopes_[user] = std::move(scope);
}

void FakeDelegation::SetUser(pv1::User user) {
  absl::MutexLock lock(&mu_);
  users_[user.user_id()] = std::move(user);
}

void FakeDelegation::SetTeam(const std::string& team_id, std::vector<std::string> members) {
  absl::MutexLock lock(&mu_);
  teams_[team_id] = std::move(members);
}

void FakeDelegation::PutCustomer(cv1::Customer customer) {
  absl::MutexLock lock(&mu_);
  if (customer.etag().empty()) customer.set_etag("1");
  customers_[customer.customer_id()] = std::move(customer);
}

void FakeDelegation::FailNext(std::vector<absl::Status> failures) {
  absl::MutexLock lock(&mu_);
  for (absl::Status& failure : failures) failures_.push_back(std::move(failure));
}

void FakeDelegation::LoseNextAnswer(absl::Status failure) {
  absl::MutexLock lock(&mu_);
  lose_answer_ = std::move(failure);
}

cv1::Customer FakeDelegation::Customer(const std::string& customer_id) const {
  absl::MutexLock lock(&mu_);
  const auto found = customers_.find(customer_id);
  return found == customers_.end() ? cv1::Customer() : found->second;
}

int FakeDelegation::applied_updates() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(applied_.size());
}

std::vector<std::string> FakeDelegation::applied_request_ids() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

absl::Status FakeDelegation::TakeFailure() {
  if (failures_.empty()) return absl::OkStatus();
  absl::Status failure = std::move(failures_.front());
  failures_.pop_front();
  return failure;
}

absl::StatusOr<std::shared_ptr<const auth::Scope>> FakeDelegation::ScopeOf(
    const std::string& tenant_id, const std::string& user) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
  const auto found = scopes_.find(user);
  pv1::EffectiveScope scope =
      found == scopes_.end() ? auth::testing::AdminScope(tenant_id, user) : found->second;
  scope.set_tenant_id(tenant_id);
  scope.set_user_id(user);
  return auth::Scope::Compile(std::move(scope));
}

absl::StatusOr<pv1::User> FakeDelegation::GetUser(const std::string& /*tenant_id*/,
                                                  const std::string& /*user*/,
                                                  const std::string& user_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
  const auto found = users_.find(user_id);
  if (found == users_.end()) return absl::NotFoundError(absl::StrCat("user ", user_id));
  return found->second;
}

absl::StatusOr<std::vector<std::string>> FakeDelegation::TeamMembers(
    const std::string& /*tenant_id*/, const std::string& /*user*/, const std::string& team_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
  const auto found = teams_.find(team_id);
  if (found == teams_.end()) return absl::NotFoundError(absl::StrCat("team ", team_id));
  return found->second;
}

absl::StatusOr<cv1::Customer> FakeDelegation::GetCustomer(const std::string& /*tenant_id*/,
                                                          const std::string& /*user*/,
                                                          const std::string& customer_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
  const auto found = customers_.find(customer_id);
  if (found == customers_.end()) return absl::NotFoundError(absl::StrCat("customer ", customer_id));
  return found->second;
}

absl::StatusOr<cv1::Customer> FakeDelegation::UpdateCustomer(
    const std::string& /*tenant_id*/, const std::string& /*user*/,
    const cv1::UpdateCustomerRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
  const cv1::Customer& patch = request.customer();
  const auto found = customers_.find(patch.customer_id());
  if (found == customers_.end()) {
    return absl::NotFoundError(absl::StrCat("customer ", patch.customer_id()));
  }
  cv1::Customer& customer = found->second;
  const std::string fingerprint = request.SerializeAsString();
  if (const auto prior = requests_.find(request.request_id()); prior != requests_.end()) {
    if (prior->second != fingerprint) {
      return absl::AlreadyExistsError(
          absl::StrCat("request_id ", request.request_id(), " was already used"));
    }
    return customer;
  }
  if (!patch.etag().empty() && patch.etag() != customer.etag()) {
    return absl::AbortedError("the customer changed since it was read");
  }
  cv1::Customer next = customer;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "level") {
      next.set_level(patch.level());
    } else if (path == "lifecycle_status") {
      next.set_lifecycle_status(patch.lifecycle_status());
    } else if (path == "tags") {
      *next.mutable_tags() = patch.tags();
    } else if (absl::StartsWith(path, "custom_fields.")) {
      const std::string key = path.substr(std::string_view("custom_fields.").size());
      const auto value = patch.custom_fields().find(key);
      if (value == patch.custom_fields().end()) {
        next.mutable_custom_fields()->erase(key);
      } else {
        (*next.mutable_custom_fields())[key] = value->second;
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("update_mask: ", path, " not supported"));
    }
  }
  int etag = 0;
  if (!absl::SimpleAtoi(customer.etag(), &etag)) etag = 0;
  next.set_etag(absl::StrCat(etag + 1));
  customer = std::move(next);
  if (!request.request_id().empty()) requests_[request.request_id()] = fingerprint;
  applied_.push_back(request.request_id());
  if (!lose_answer_.ok()) return std::exchange(lose_answer_, absl::OkStatus());
  return customer;
}

}  // namespace touchline::automation::testing
