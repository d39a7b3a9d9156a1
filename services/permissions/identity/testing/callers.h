// Callers of IdentityManager in tests, with the compiled scope the manager authorises by.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_CALLERS_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_CALLERS_H_

#include <string>

#include "common/auth/request_context.h"

namespace touchline::permissions::testing {

// `user_id` of `tenant` with every permission (auth::testing::AdminScope), request "req-1"
// from "ipv4:10.0.0.1 admin-console".
auth::RequestContext AdminCaller(const std::string& tenant, const std::string& user_id);
// The same caller without PERMISSION_ADMINISTER (role "rep"): what a user may do for
// themselves.
auth::RequestContext UserCaller(const std::string& tenant, const std::string& user_id);

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_CALLERS_H_
