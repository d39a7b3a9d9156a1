// A Delegation for the engine's tests: users, teams, scopes and customers the test sets, and a
// contacts that checks etags and request ids as the real one does (ABORTED on a stale etag; a
// request id used before answered without changing again, or ALREADY_EXISTS with another
// request). Users have an administrator's scope unless the test gives them another.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TESTING_FAKE_DELEGATION_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TESTING_FAKE_DELEGATION_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/automation/engine/delegation.h"

namespace touchline::automation::testing {

// Thread-safe.
class FakeDelegation final : public Delegation {
 public:
  void SetScope(const std::string& user, permissions::v1::EffectiveScope scope);
  void SetUser(permissions::v1::User user);
  void SetTeam(const std::string& team_id, std::vector<std::string> members);
  // Stored with etag "1" (or as given); each applied update adds one.
  void PutCustomer(contacts::v1::Customer customer);
  // The next calls (of any method) fail with these, in order.
  void FailNext(std::vector<absl::Status> failures);
  // The next UpdateCustomer is applied and then fails with `failure`, as a call whose answer
  // was lost.
  void LoseNextAnswer(absl::Status failure);

  contacts::v1::Customer Customer(const std::string& customer_id) const;
  // Updates applied (not replays).
  int applied_updates() const;
  // The request ids of the updates applied, in order.
  std::vector<std::string> applied_request_ids() const;

  absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeOf(const std::string& tenant_id,
                                                             const std::string& user) override;
  absl::StatusOr<permissions::v1::User> GetUser(const std::string& tenant_id,
                                                const std::string& user,
                                                const std::string& user_id) override;
  absl::StatusOr<std::vector<std::string>> TeamMembers(const std::string& tenant_id,
                                                       const std::string& user,
                                                       const std::string& team_id) override;
  absl::StatusOr<contacts::v1::Customer> GetCustomer(const std::string& tenant_id,
                                                     const std::string& user,
                                                     const std::string& customer_id) override;
  absl::StatusOr<contacts::v1::Customer> UpdateCustomer(
      const std::string& tenant_id, const std::string& user,
      const contacts::v1::UpdateCustomerRequest& request) override;

 private:
  // The next injected failure, if any.
  absl::Status TakeFailure() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, permissions::v1::EffectiveScope> scopes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, permissions::v1::User> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> teams_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, contacts::v1::Customer> customers_ ABSL_GUARDED_BY(mu_);
  // request id -> the request it came with.
  std::map<std::string, std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> applied_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  absl::Status lose_answer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TESTING_FAKE_DELEGATION_H_
