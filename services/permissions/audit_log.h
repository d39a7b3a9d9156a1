// Where audit_log.h was before the audit log moved to audit/: bench/audit_append_bench.cc
// (outside this folder) still includes this path. Include audit/audit_log.h instead.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_LOG_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_LOG_H_

#include "services/permissions/audit/audit_log.h"  // IWYU pragma: export

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_LOG_H_
