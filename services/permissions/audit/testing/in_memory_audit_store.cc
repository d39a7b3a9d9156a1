#include "services/permissions/audit/testing/in_memory_audit_store.h"

#include <google/protobuf/util/time_util.h>

#include <vector>

#include "common/status/macros.h"

namespace touchline::permissions::testing {
namespace {

using ::google::protobuf::util::TimeUtil;

// Whether `entry` passes `filter`'s conditions other than the limit.
bool Selected(const v1::AuditEvent& entry, const AuditEntryFilter& filter) {
  const int64_t micros = TimeUtil::TimestampToMicroseconds(entry.occur_time());
  return (filter.actor_id.empty() || entry.actor_id() == filter.actor_id) &&
         (filter.resource_type.empty() || entry.resource_type() == filter.resource_type) &&
         (filter.resource_id.empty() || entry.resource_id() == filter.resource_id) &&
         entry.action().starts_with(filter.action_prefix) &&
         (!filter.start_micros || micros >= *filter.start_micros) &&
         (!filter.end_micros || micros < *filter.end_micros) &&
         (!filter.before_sequence || entry.sequence() < *filter.before_sequence);
}

}  // namespace

// The rows of one unit of work (or of a read, which refuses writes).
class InMemoryAuditStore::Rows final : public AuditTransaction {
 public:
  Rows(InMemoryAuditStore::Data& data, bool writable) : data_(data), writable_(writable) {}

  absl::StatusOr<std::vector<v1::AuditEvent>> ListEntries(const std::string& tenant,
                                                          const AuditEntryFilter& filter) override {
    std::vector<v1::AuditEvent> entries;
    const auto first = data_.entries.lower_bound({tenant, 0});
    for (auto it = data_.entries.upper_bound({tenant, INT64_MAX});
         it != first && static_cast<int>(entries.size()) < filter.limit;) {
      --it;
      if (Selected(it->second, filter)) entries.push_back(it->second);
    }
    return entries;
  }
  absl::StatusOr<std::vector<v1::AuditEvent>> EntriesAfter(const std::string& tenant, int64_t after,
                                                           int limit) override {
    std::vector<v1::AuditEvent> entries;
    for (auto it = data_.entries.upper_bound({tenant, after});
         it != data_.entries.end() && it->first.first == tenant &&
         static_cast<int>(entries.size()) < limit;
         ++it) {
      entries.push_back(it->second);
    }
    return entries;
  }
  absl::StatusOr<std::optional<AuditChainHead>> Head(const std::string& tenant) override {
    const auto it = data_.heads.find(tenant);
    if (it == data_.heads.end()) return std::nullopt;
    return it->second;
  }
  absl::StatusOr<std::map<std::string, AuditChainHead>> LockHeads(
      const std::vector<std::string>& tenants) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    std::map<std::string, AuditChainHead> heads;
    for (const std::string& tenant : tenants) {
      heads[tenant] =
          data_.heads.try_emplace(tenant, AuditChainHead{0, kAuditGenesisHash}).first->second;
    }
    return heads;
  }
  absl::Status Write(const std::vector<TenantAuditEvent>& entries,
                     const std::map<std::string, AuditChainHead>& heads) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    for (const auto& [tenant, event] : entries) {
      // The primary key of audit_events.
      if (!data_.entries.try_emplace({tenant, event.sequence()}, event).second) {
        return absl::AlreadyExistsError("audit entry exists");
      }
    }
    for (const auto& [tenant, head] : heads) {
      if (const auto it = data_.heads.find(tenant); it != data_.heads.end()) it->second = head;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status RequireWritable() const {
    if (!writable_) return absl::FailedPreconditionError("a write outside a transaction");
    return absl::OkStatus();
  }

  InMemoryAuditStore::Data& data_;
  const bool writable_;
};

absl::Status InMemoryAuditStore::Transact(
    const std::function<absl::Status(AuditTransaction&)>& work) {
  return units_.Transact(work);
}

absl::Status InMemoryAuditStore::Read(const std::function<absl::Status(AuditReader&)>& read) {
  return units_.Read(read);
}

absl::Status InMemoryAuditStore::ReadSnapshot(
    const std::function<absl::Status(AuditReader&)>& read) {
  return units_.Read(read);
}

void InMemoryAuditStore::Change(const std::function<void(Data&)>& change) { units_.Change(change); }

InMemoryAuditStore::Data InMemoryAuditStore::Snapshot() const { return units_.Snapshot(); }

}  // namespace touchline::permissions::testing
