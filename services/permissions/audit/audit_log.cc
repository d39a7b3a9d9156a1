#include "services/permissions/audit/audit_log.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/events/topics.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "nlohmann/json.hpp"
#include "services/permissions/audit/pg_audit_store.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

namespace v1 = ::touchline::permissions::v1;
using ::google::protobuf::Timestamp;
using ::google::protobuf::util::TimeUtil;
using ::nlohmann::json;
using ::touchline::events::v1::AuditRecorded;
using ::touchline::events::v1::EventEnvelope;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// U+FFFD REPLACEMENT CHARACTER.
constexpr char kReplacement[] = "\xEF\xBF\xBD";

using status::IsValidTimestamp;

// Microseconds since the Unix epoch of `time`, rounded up: an entry (stored to the
// microsecond) is at or after `time` exactly when it is at or after this.
int64_t CeilMicros(const Timestamp& time) {
  return TimeUtil::TimestampToMicroseconds(time) + (time.nanos() % 1000 != 0 ? 1 : 0);
}

// `text` as PostgreSQL text can hold it: each byte that does not start a well-formed UTF-8
// sequence, and each NUL, becomes U+FFFD.
std::string StorableText(std::string text) {
  if (text::IsValidUtf8(text) && text.find('\0') == std::string::npos) return text;
  const std::string_view bytes(text);
  std::string out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    // The shortest well-formed prefix is one code point, at most 4 bytes long.
    size_t length = 1;
    while (length <= 4 && pos + length <= bytes.size() &&
           !text::IsValidUtf8(bytes.substr(pos, length))) {
      ++length;
    }
    if (length > 4 || pos + length > bytes.size() || bytes[pos] == '\0') {
      out.append(kReplacement);
      ++pos;
    } else {
      out.append(bytes.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

void MakeStorable(v1::AuditEvent& event) {
  for (std::string* value :
       {event.mutable_action(), event.mutable_actor_id(), event.mutable_client(),
        event.mutable_resource_type(), event.mutable_resource_id(), event.mutable_detail(),
        event.mutable_request_id()}) {
    *value = StorableText(std::move(*value));
  }
  for (std::string& field : *event.mutable_fields()) field = StorableText(std::move(field));
}

// Walks a chain in sequence order and remembers its first break.
class ChainCheck {
 public:
  // Checks the next entry read; false once the chain is broken.
  bool Next(const v1::AuditEvent& entry) {
    response_.set_entries_checked(response_.entries_checked() + 1);
    if (entry.sequence() != expected_) {
      return Break(expected_,
                   expected_ == 1
                       ? absl::StrCat("entry 1 is missing: the first entry is ", entry.sequence())
                       : absl::StrCat("entry ", expected_, " is missing: the entry after ",
                                      expected_ - 1, " is ", entry.sequence()));
    }
    if (entry.previous_hash() != previous_hash_) {
      return Break(entry.sequence(),
                   expected_ == 1
                       ? std::string("previous_hash is not the chain's start (64 zeros)")
                       : absl::StrCat("previous_hash is not the hash of entry ", expected_ - 1));
    }
    if (AuditLog::ChainHash(entry.previous_hash(), entry) != entry.hash()) {
      return Break(entry.sequence(), "hash does not match the entry's content");
    }
    previous_hash_ = entry.hash();
    ++expected_;
    return true;
  }

  // The sequence after which to read on.
  int64_t last_sequence() const { return expected_ - 1; }
  bool broken() const { return response_.first_broken_sequence() != 0; }

  // Compares the chain head (`head_sequence` 0 when there is none) with the last entry.
  void End(int64_t head_sequence, std::string_view head_hash) {
    const int64_t last = last_sequence();
    if (last < head_sequence) {
      Break(last + 1, absl::StrCat("entries ", last + 1, " to ", head_sequence,
                                   " are missing: the chain head records ", head_sequence));
    } else if (last > head_sequence) {
      Break(head_sequence + 1, absl::StrCat("the chain head records ", head_sequence,
                                            " entries but the chain goes on to ", last));
    } else if (last > 0 && head_hash != previous_hash_) {
      Break(last, absl::StrCat("the chain head's hash is not the hash of entry ", last));
    }
  }

  v1::VerifyAuditChainResponse response() const {
    v1::VerifyAuditChainResponse response = response_;
    response.set_intact(!broken());
    return response;
  }

 private:
  bool Break(int64_t sequence, std::string detail) {
    response_.set_first_broken_sequence(sequence);
    response_.set_detail(std::move(detail));
    return false;
  }

  v1::VerifyAuditChainResponse response_;
  int64_t expected_ = 1;
  std::string previous_hash_ = kAuditGenesisHash;
};

// The entry an envelope of the audit topic carries. INVALID_ARGUMENT (so the entry is retried,
// then dead-lettered, never dropped silently) for another payload type, a payload that does
// not parse, an invalid tenant id or occur_time.
absl::StatusOr<v1::AuditEvent> RecordedEvent(const EventEnvelope& envelope) {
  const std::string at = absl::StrCat("audit event ", envelope.event_id(), ": ");
  // Only AuditRecorded is published on the audit topic; anything else is kept in the
  // dead-letter stream rather than dropped.
  if (!envelope.payload().Is<AuditRecorded>()) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, "unexpected payload ", envelope.payload().type_url()));
  }
  AuditRecorded recorded;
  if (!envelope.payload().UnpackTo(&recorded)) {
    return absl::InvalidArgumentError(absl::StrCat(at, "AuditRecorded does not parse"));
  }
  if (!auth::IsValidTenantId(envelope.tenant_id())) {
    return absl::InvalidArgumentError(absl::StrCat(at, "invalid tenant id"));
  }
  if (recorded.event().has_occur_time() && !IsValidTimestamp(recorded.event().occur_time())) {
    return absl::InvalidArgumentError(absl::StrCat(at, "occur_time is not a valid timestamp"));
  }
  return std::move(*recorded.mutable_event());
}

// Sets occur_time to now when unset and truncates it to the microsecond, and makes the text
// storable. INVALID_ARGUMENT, before any event is changed, when an occur_time is invalid.
absl::Status Prepare(std::vector<TenantAuditEvent>& events) {
  for (const TenantAuditEvent& appended : events) {
    if (appended.event.has_occur_time() && !IsValidTimestamp(appended.event.occur_time())) {
      return absl::InvalidArgumentError("audit event: occur_time is not a valid timestamp");
    }
  }
  for (TenantAuditEvent& appended : events) {
    v1::AuditEvent& event = appended.event;
    if (!event.has_occur_time()) {
      *event.mutable_occur_time() =
          TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
    }
    const int32_t nanos = event.occur_time().nanos();
    event.mutable_occur_time()->set_nanos(nanos - nanos % 1000);
    MakeStorable(event);
  }
  return absl::OkStatus();
}

// Appends prepared `events` (not empty) to their chains: locks each tenant's head once, links
// the entries on, and writes them and the moved heads.
absl::Status Chain(AuditTransaction& txn, std::vector<TenantAuditEvent> events) {
  std::set<std::string> distinct;
  for (const TenantAuditEvent& appended : events) distinct.insert(appended.tenant_id);
  const std::vector<std::string> tenants(distinct.begin(), distinct.end());  // Sorted.
  using Heads = std::map<std::string, AuditChainHead>;
  TL_ASSIGN_OR_RETURN(Heads heads, txn.LockHeads(tenants));
  // Heads are never deleted, so each created or found one is locked now; a head missing here
  // would start a chain over from an empty hash.
  for (const std::string& tenant : tenants) {
    if (!heads.contains(tenant)) {
      return absl::InternalError("audit log: a chain head vanished while it was being locked");
    }
  }
  for (TenantAuditEvent& appended : events) {
    v1::AuditEvent& event = appended.event;
    AuditChainHead& head = heads[appended.tenant_id];
    event.set_sequence(head.last_sequence + 1);
    event.set_previous_hash(head.last_hash);
    event.set_hash(AuditLog::ChainHash(event.previous_hash(), event));
    head.last_sequence = event.sequence();
    head.last_hash = event.hash();
  }
  return txn.Write(events, heads);
}

}  // namespace

AuditLog::AuditLog(AuditStore* store, paging::PageTokens page_tokens, int verify_chunk_size)
    : store_(store),
      page_tokens_(std::move(page_tokens)),
      verify_chunk_size_(std::max(verify_chunk_size, 1)) {}

AuditLog::AuditLog(pg::Pool* pg, paging::PageTokens page_tokens, int verify_chunk_size)
    : owned_store_(std::make_unique<PgAuditStore>(pg)),
      store_(owned_store_.get()),
      page_tokens_(std::move(page_tokens)),
      verify_chunk_size_(std::max(verify_chunk_size, 1)) {}

std::string AuditLog::ChainHash(std::string_view previous_hash, const v1::AuditEvent& event) {
  v1::AuditEvent content = event;
  content.clear_hash();
  content.clear_previous_hash();
  std::string input(previous_hash);
  {
    google::protobuf::io::StringOutputStream output(&input);  // Appends.
    google::protobuf::io::CodedOutputStream coded(&output);
    coded.SetSerializationDeterministic(true);
    content.SerializeToCodedStream(&coded);
  }  // ~CodedOutputStream trims `input` to what was written.
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size());
  return absl::BytesToHexString(
      std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

void AuditLog::Append(pqxx::work& txn, const std::string& tenant_id, v1::AuditEvent event) {
  std::vector<TenantAuditEvent> events;
  events.push_back({tenant_id, std::move(event)});
  Append(txn, std::move(events));
}

void AuditLog::Append(pqxx::work& txn, std::vector<TenantAuditEvent> events) {
  if (events.empty()) return;
  if (!Prepare(events).ok()) {
    throw std::invalid_argument("audit event: occur_time is not a valid timestamp");
  }
  PgAuditRows rows(txn);
  // Finish rethrows a failed statement's exception; what is left is the chain's own error.
  const absl::Status status = rows.Finish(Chain(rows, std::move(events)));
  if (!status.ok()) throw std::runtime_error(std::string(status.message()));
}

absl::Status AuditLog::Append(AuditTransaction& txn, std::vector<TenantAuditEvent> events) {
  if (events.empty()) return absl::OkStatus();
  TL_RETURN_IF_ERROR(Prepare(events));
  return Chain(txn, std::move(events));
}

absl::StatusOr<v1::ListAuditEventsResponse> AuditLog::List(
    const std::string& tenant_id, const v1::ListAuditEventsRequest& request) const {
  status::FieldViolations violations;
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    violations.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  const bool has_start = request.has_start_time();
  const bool has_end = request.has_end_time();
  if (has_start) status::CheckTimestamp(request.start_time(), "start_time", violations);
  if (has_end) status::CheckTimestamp(request.end_time(), "end_time", violations);
  for (const auto& [field, value] : {std::pair{"actor_id", &request.actor_id()},
                                     std::pair{"resource_type", &request.resource_type()},
                                     std::pair{"resource_id", &request.resource_id()},
                                     std::pair{"action_prefix", &request.action_prefix()}}) {
    if (const char* problem = text::EncodingProblem(*value)) violations.Add(field, problem);
  }
  if (violations.empty() && has_start && has_end &&
      std::pair(request.start_time().seconds(), request.start_time().nanos()) >=
          std::pair(request.end_time().seconds(), request.end_time().nanos())) {
    violations.Add("end_time", "must be after start_time");
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());

  // Plain values next to has_start/has_end: GCC 12 at -O2 misreads std::optional here
  // (-Wmaybe-uninitialized).
  const int64_t start = has_start ? CeilMicros(request.start_time()) : 0;
  const int64_t end = has_end ? CeilMicros(request.end_time()) : 0;
  const json query = {
      {"actor_id", request.actor_id()},         {"resource_type", request.resource_type()},
      {"resource_id", request.resource_id()},   {"action_prefix", request.action_prefix()},
      {"start", has_start ? json(start) : json()}, {"end", has_end ? json(end) : json()}};
  const std::string query_hash = paging::QueryHash(query.dump());
  std::optional<int64_t> before;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_.Decode(request.page_token(), query_hash));
    const auto sequence = cursor.find("s");
    if (sequence == cursor.end() || !sequence->is_number_integer() ||
        sequence->get<int64_t>() < 1) {
      return status::InvalidArgument("page_token", "is not a token this query returned");
    }
    before = sequence->get<int64_t>();
  }
  const int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();

  AuditEntryFilter filter;
  filter.actor_id = request.actor_id();
  filter.resource_type = request.resource_type();
  filter.resource_id = request.resource_id();
  filter.action_prefix = request.action_prefix();
  if (has_start) filter.start_micros = start;
  if (has_end) filter.end_micros = end;
  filter.before_sequence = before;
  filter.limit = page_size + 1;  // One more than the page, to know whether another follows.

  std::vector<v1::AuditEvent> entries;
  TL_RETURN_IF_ERROR(store_->Read([&](AuditReader& reader) -> absl::Status {
    TL_ASSIGN_OR_RETURN(entries, reader.ListEntries(tenant_id, filter));
    return absl::OkStatus();
  }));
  v1::ListAuditEventsResponse response;
  for (v1::AuditEvent& entry : entries) {
    if (response.events_size() == page_size) {
      response.set_next_page_token(
          page_tokens_.Encode({{"s", response.events(page_size - 1).sequence()}}, query_hash));
      break;
    }
    *response.add_events() = std::move(entry);
  }
  return response;
}

absl::StatusOr<v1::VerifyAuditChainResponse> AuditLog::Verify(const std::string& tenant_id) const {
  std::optional<ChainCheck> check;
  // One snapshot for the entries and the head: what a concurrent append adds is either wholly
  // seen or not at all.
  TL_RETURN_IF_ERROR(store_->ReadSnapshot([&](AuditReader& reader) -> absl::Status {
    check.emplace();  // Afresh if the read is retried.
    while (true) {
      TL_ASSIGN_OR_RETURN(
          const std::vector<v1::AuditEvent> entries,
          reader.EntriesAfter(tenant_id, check->last_sequence(), verify_chunk_size_));
      for (const v1::AuditEvent& entry : entries) {
        if (!check->Next(entry)) return absl::OkStatus();
      }
      if (static_cast<int>(entries.size()) < verify_chunk_size_) break;
    }
    TL_ASSIGN_OR_RETURN(const std::optional<AuditChainHead> head, reader.Head(tenant_id));
    if (!head) {
      check->End(0, "");
    } else {
      check->End(head->last_sequence, head->last_hash);
    }
    return absl::OkStatus();
  }));
  return check->response();
}

events::ApplyFn AuditLog::ApplyFromStream() {
  return [](pqxx::work& txn, const EventEnvelope& envelope) -> absl::Status {
    TL_ASSIGN_OR_RETURN(v1::AuditEvent event, RecordedEvent(envelope));
    Append(txn, envelope.tenant_id(), std::move(event));
    return absl::OkStatus();
  };
}

absl::StatusOr<v1::ListAuditEventsResponse> AuditLog::List(
    const auth::RequestContext& caller, const v1::ListAuditEventsRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_AUDIT_READ));
  return List(caller.tenant_id, request);
}

absl::StatusOr<v1::VerifyAuditChainResponse> AuditLog::Verify(
    const auth::RequestContext& caller) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_AUDIT_READ));
  return Verify(caller.tenant_id);
}

events::ConsumerOptions AuditLog::StreamConsumerOptions(int batch_size) {
  events::ConsumerOptions options;
  options.topic = events::kAuditTopic;
  options.group = "permissions-audit";
  options.batch_size = batch_size;
  return options;
}

events::BatchApplyFn AuditLog::ApplyBatchFromStream() {
  return [](pqxx::work& txn, std::span<const EventEnvelope* const> envelopes) -> absl::Status {
    std::vector<TenantAuditEvent> events;
    events.reserve(envelopes.size());
    for (const EventEnvelope* envelope : envelopes) {
      TL_ASSIGN_OR_RETURN(v1::AuditEvent event, RecordedEvent(*envelope));
      events.push_back({envelope->tenant_id(), std::move(event)});
    }
    Append(txn, std::move(events));
    return absl::OkStatus();
  };
}

}  // namespace touchline::permissions
