// The parts of IdentityManager every other part uses; users.cc, sessions.cc and api_keys.cc
// hold the calls.
#include "services/permissions/identity/identity_manager.h"

#include <utility>

#include "common/status/macros.h"
#include "services/permissions/identity/identity_internal.h"

namespace touchline::permissions {

using identity_internal::Invalidations;

IdentityManager::IdentityManager(IdentityStore* store, auth::TokenSigner signer,
                                 paging::PageTokens page_tokens, IdentityOptions options)
    : store_(store),
      signer_(std::move(signer)),
      options_(std::move(options)),
      page_tokens_(std::move(page_tokens)),
      dummy_hash_(HashPassword(identity_internal::NewSecret(), options_.hash_cost)) {}

absl::Time IdentityManager::Now() const {
  return identity_internal::TruncateToMicros(options_.clock());
}

absl::Status IdentityManager::Commit(
    std::string_view tenant_id,
    const std::function<absl::Status(IdentityTransaction&, Invalidations&)>& change) {
  Invalidations invalidations;
  TL_RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& txn) {
    invalidations.clear();  // A retried unit of work starts over.
    return change(txn, invalidations);
  }));
  if (options_.on_scopes_invalidated) {
    const std::string tenant(tenant_id);
    for (const std::vector<std::string>& session_ids : invalidations) {
      options_.on_scopes_invalidated(tenant, session_ids);
    }
  }
  return absl::OkStatus();
}

}  // namespace touchline::permissions
