#include "services/touchpoints/touchpoint_manager.h"

#include <google/protobuf/util/field_mask_util.h>

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/disclosure/disclosure.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "services/touchpoints/search_text.h"
#include "services/touchpoints/touchpoint_row.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::FieldMaskUtil;
using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;

// Whether the scope is shown the touchpoint field `path` as stored: neither hidden nor masked.
bool ShownInClear(const auth::Scope& scope, std::string_view path) {
  const pv1::FieldAccess access = scope.FieldAccessOf(auth::kTouchpointResource, path);
  return access == pv1::FIELD_ACCESS_READ_ONLY || access == pv1::FIELD_ACCESS_EDITABLE;
}

// PERMISSION_DENIED when the filter (at `field`) narrows by a field the scope is not shown in
// clear: which touchpoints match would reveal its values.
absl::Status CheckFilterable(const auth::Scope& scope, const v1::TouchpointFilter& f,
                             const std::string& field) {
  const struct {
    bool used;
    const char* name;
    const char* path;
  } criteria[] = {{f.channels_size() > 0, "channels", "channel"},
                  {f.categories_size() > 0, "categories", "category"},
                  {f.outcomes_size() > 0, "outcomes", "outcome"},
                  {f.sentiments_size() > 0, "sentiments", "sentiment"},
                  {!f.tag().empty(), "tag", "tags"},
                  {!f.participant_id().empty(), "participant_id", "participants.user_id"},
                  {f.has_concerns(), "has_concerns", "concerns"}};
  for (const auto& criterion : criteria) {
    if (criterion.used && !ShownInClear(scope, criterion.path)) {
      return absl::PermissionDeniedError(absl::StrCat(field, ".", criterion.name, ": field ",
                                                      criterion.path, " is not visible to role ",
                                                      scope.proto().role_id()));
    }
  }
  return absl::OkStatus();
}

std::vector<v1::Touchpoint*> Pointers(
    google::protobuf::RepeatedPtrField<v1::Touchpoint>& touchpoints) {
  std::vector<v1::Touchpoint*> pointers;
  pointers.reserve(touchpoints.size());
  for (v1::Touchpoint& t : touchpoints) pointers.push_back(&t);
  return pointers;
}

// Appends the paths of the fields set in `message` under `prefix`: a singular message by the
// fields set inside it (next_action.description), everything else (repeated fields, maps,
// well-known types such as Timestamp) whole.
void AppendSetPaths(const google::protobuf::Message& message, const std::string& prefix,
                    std::vector<std::string>& paths) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    std::string path = prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (field->is_repeated() ||
        field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
        field->message_type()->file()->package() == "google.protobuf") {
      paths.push_back(std::move(path));
    } else {
      AppendSetPaths(message.GetReflection()->GetMessage(message, field), path, paths);
    }
  }
}

absl::Time TruncateToMicros(absl::Time t) {
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

// PostgreSQL keeps microseconds: what we return must equal what we stored.
void TruncateTimes(v1::Touchpoint& t) {
  if (t.has_occur_time()) *t.mutable_occur_time() = ToProtoTime(FromProtoTime(t.occur_time()));
  if (t.has_record_time()) *t.mutable_record_time() = ToProtoTime(FromProtoTime(t.record_time()));
}

// UUIDs as the read model stores them (PostgreSQL prints uuid in lower case).
void LowerCaseIds(v1::Touchpoint& t) {
  t.set_customer_id(absl::AsciiStrToLower(t.customer_id()));
  for (std::string& id : *t.mutable_contact_person_ids()) id = absl::AsciiStrToLower(id);
}

void ClearOutputOnly(v1::Touchpoint& t) {
  t.clear_touchpoint_id();
  t.clear_state();
  t.clear_recorded_by();
  t.clear_update_time();
  t.clear_delete_time();
  t.clear_etag();
}

absl::StatusOr<std::string> CheckId(std::string_view id, std::string field) {
  if (id.empty()) return status::InvalidArgument(std::move(field), "is required");
  if (!ids::IsUuid(id)) return status::InvalidArgument(std::move(field), "must be a UUID");
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

absl::Status CheckEtag(const v1::Touchpoint& t, std::string_view etag) {
  if (etag.empty() || etag == t.etag()) return absl::OkStatus();
  return status::WithErrorInfo(
      absl::AbortedError(absl::StrCat("touchpoint ", t.touchpoint_id(),
                                      " was changed by someone else (etag ", std::string(etag),
                                      " is stale); read it again and retry")),
      "ETAG_MISMATCH", {{"touchpoint_id", t.touchpoint_id()}});
}

absl::Status RequireActive(const v1::Touchpoint& t, std::string_view action) {
  if (t.state() != v1::TOUCHPOINT_STATE_DELETED) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", std::string(action), " touchpoint ", t.touchpoint_id(),
                   ": it is deleted"));
}

absl::Status CheckPageSize(int page_size, int max, std::string field) {
  if (page_size < 0 || page_size > max) {
    return status::InvalidArgument(std::move(field), absl::StrCat("must be between 0 and ", max));
  }
  return absl::OkStatus();
}

// Checks the filter's ids and times; `field` is its path.
absl::Status CheckFilter(const v1::TouchpointFilter& f, const std::string& field) {
  status::FieldViolations violations;
  const auto check_enums = [&](const auto& values, const char* name, auto is_valid) {
    for (int i = 0; i < values.size(); ++i) {
      if (!is_valid(values.Get(i)) || values.Get(i) == 0) {
        violations.Add(absl::StrCat(field, ".", name, "[", i, "]"), "must be a known value");
      }
    }
  };
  check_enums(f.channels(), "channels", v1::Channel_IsValid);
  check_enums(f.categories(), "categories", v1::Category_IsValid);
  check_enums(f.outcomes(), "outcomes", v1::Outcome_IsValid);
  check_enums(f.sentiments(), "sentiments", v1::Sentiment_IsValid);
  for (const auto& [value, name] : {std::pair{&f.tag(), "tag"},
                                    std::pair{&f.participant_id(), "participant_id"}}) {
    if (const char* problem = text::EncodingProblem(*value)) {
      violations.Add(absl::StrCat(field, ".", name), problem);
    } else if (text::CodePointCount(*value) > static_cast<size_t>(kMaxIdChars)) {
      violations.Add(absl::StrCat(field, ".", name),
                     absl::StrCat("must be at most ", kMaxIdChars, " characters"));
    }
  }
  for (const auto& [time, name] :
       {std::pair{&f.occur_time_start(), "occur_time_start"},
        std::pair{&f.occur_time_end(), "occur_time_end"}}) {
    status::CheckTimestamp(*time, absl::StrCat(field, ".", name), violations);
  }
  if (f.has_occur_time_start() && f.has_occur_time_end() &&
      FromProtoTime(f.occur_time_end()) <= FromProtoTime(f.occur_time_start())) {
    violations.Add(absl::StrCat(field, ".occur_time_end"), "must be after occur_time_start");
  }
  return violations.ToStatus();
}

std::string Canonical(const google::protobuf::Message& m) {
  std::string bytes;
  google::protobuf::io::StringOutputStream out(&bytes);
  google::protobuf::io::CodedOutputStream coded(&out);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

std::string EncodeTimeCursor(const paging::PageTokens& tokens, const TimeCursor& c,
                             const std::string& hash) {
  return tokens.Encode({{"t", absl::ToUnixMicros(c.occurred_at)}, {"i", c.touchpoint_id}}, hash);
}

absl::StatusOr<TimeCursor> DecodeTimeCursor(const paging::PageTokens& tokens,
                                            std::string_view token, const std::string& hash,
                                            std::string field) {
  TL_ASSIGN_OR_RETURN(const json cursor, tokens.Decode(token, hash, field));
  if (!cursor.contains("t") || !cursor["t"].is_number_integer() || !cursor.contains("i") ||
      !cursor["i"].is_string() || !ids::IsUuid(cursor["i"].get<std::string>())) {
    return status::InvalidArgument(std::move(field), "is not a token this query returned");
  }
  return TimeCursor{absl::FromUnixMicros(cursor["t"].get<int64_t>()),
                    cursor["i"].get<std::string>()};
}

// Whether `name` has the shape of an IANA time zone name ("Asia/Shanghai", "Etc/GMT+8",
// "UTC"): parts of letters, digits, '_', '-' and '+', each starting with a letter. Abseil
// also loads any file by its path ("file:/etc/localtime", "/etc/localtime", "../x"), which
// PostgreSQL then refuses; "localtime" and "posixrules" are the machine's files, not zones.
bool IsIanaZoneName(std::string_view name) {
  if (name.size() > 64 || name == "localtime" || name == "posixrules") return false;
  bool part_start = true;
  for (const char c : name) {
    if (c == '/' && !part_start) {
      part_start = true;
    } else if (absl::ascii_isalpha(c) ||
               (!part_start && (absl::ascii_isdigit(c) || c == '_' || c == '-' || c == '+'))) {
      part_start = false;
    } else {
      return false;
    }
  }
  return !part_start;
}

// Whether `status` is RecordMany's refusal of the customer of the touchpoint at `prefix` as
// one the read model does not know (or the caller does not see there): contacts may know it.
bool NamesNoCustomer(const absl::Status& status, const std::string& prefix) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return false;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    if (field == absl::StrCat(prefix, ".customer_id") &&
        absl::StartsWith(description, "names no customer")) {
      return true;
    }
  }
  return false;
}

// Update masks may name these fields (and sub-fields of next_action).
constexpr const char* kUpdatable[] = {
    "customer_id", "contact_person_ids", "participants", "occur_time", "record_time",
    "channel",     "direction",          "category",     "subject",    "summary",
    "content",     "needs",              "concerns",     "interests",  "outcome",
    "sentiment",   "emotion_labels",     "duration",     "behavior_metrics",
    "next_action", "customer_status_after", "tags",      "custom_attributes", "attachments"};

absl::Status CheckMask(const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) return status::InvalidArgument("update_mask", "is required");
  status::FieldViolations violations;
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    const std::string top = path.substr(0, path.find('.'));
    bool known = false;
    for (const char* name : kUpdatable) known = known || top == name;
    if (!known || (path != top && top != "next_action") ||
        !FieldMaskUtil::GetFieldDescriptors(v1::Touchpoint::descriptor(), path, nullptr)) {
      violations.Add(absl::StrCat("update_mask.paths[", i, "]"),
                     absl::StrCat("names no updatable field (\"", path, "\")"));
    }
  }
  return violations.ToStatus();
}

}  // namespace

TouchpointManager::TouchpointManager(TouchpointStore* store, audit::AuditPublisher* audit,
                                     ValidationOptions validation, paging::PageTokens page_tokens,
                                     Clock clock, BatchOptions batching,
                                     CustomerDirectory* customers)
    : store_(store),
      audit_(audit),
      validation_(validation),
      page_tokens_(std::move(page_tokens)),
      clock_(std::move(clock)),
      customers_(customers),
      writer_(batching.threads, batching.max_batch, batching.max_queue,
              [this](std::vector<PendingRecord>& batch) { RecordBatch(batch); }) {}

WriteContext TouchpointManager::NewWriteContext(const auth::RequestContext& caller) const {
  return WriteContext{caller, TruncateToMicros(clock_())};
}

void TouchpointManager::Disclose(const auth::RequestContext& caller,
                                 absl::Span<v1::Touchpoint* const> touchpoints) {
  // Without field rules nothing is hidden, masked or sensitive: the hot path skips the walk.
  if (!caller.scope->HasFieldRules(auth::kTouchpointResource)) return;
  disclosure::Disclosure disclosed(caller, auth::kTouchpointResource,
                                   {.max_listed_ids = kMaxAuditedIds, .detail_prefix = ""});
  for (v1::Touchpoint* t : touchpoints) disclosed.Apply(*t, {t->touchpoint_id()});
  disclosed.Report(audit_);
}

absl::StatusOr<NewTouchpoint> TouchpointManager::Prepare(const WriteContext& context,
                                                         const v1::RecordTouchpointRequest& request,
                                                         const std::string& prefix) const {
  const std::string touchpoint_field = absl::StrCat(prefix, prefix.empty() ? "" : ".", "touchpoint");
  const std::string request_id_field = absl::StrCat(prefix, prefix.empty() ? "" : ".", "request_id");
  if (!request.has_touchpoint()) return status::InvalidArgument(touchpoint_field, "is required");
  NewTouchpoint n;
  n.context = context;
  n.touchpoint = request.touchpoint();
  n.field_prefix = touchpoint_field;
  v1::Touchpoint& t = n.touchpoint;
  ClearOutputOnly(t);
  AppendSetPaths(t, "", n.fields);
  TL_RETURN_IF_ERROR(context.caller.scope->CheckWritable(auth::kTouchpointResource, n.fields));
  status::FieldViolations violations;
  if (const std::optional<std::string> problem =
          idempotency::RequestIdProblem(request.request_id())) {
    violations.Add(request_id_field, *problem);
  }
  NormalizeAndValidate(t, context.now, validation_, touchpoint_field, violations);
  TL_RETURN_IF_ERROR(violations.ToStatus());
  LowerCaseIds(t);
  TruncateTimes(t);
  // The fingerprint is of what the client asked for, before the server fills anything in.
  n.fingerprint = ids::Fingerprint(t);
  n.request_id = request.request_id();
  t.set_touchpoint_id(ids::NewUuid(context.now));
  if (!t.has_record_time()) *t.mutable_record_time() = ToProtoTime(context.now);
  t.set_state(v1::TOUCHPOINT_STATE_ACTIVE);
  t.set_recorded_by(context.caller.caller_id);
  *t.mutable_update_time() = ToProtoTime(context.now);
  t.set_etag("1");
  return n;
}

void TouchpointManager::Record(const auth::RequestContext& caller,
                               const v1::RecordTouchpointRequest& request, RecordCallback done) {
  absl::StatusOr<const auth::Scope*> scope = auth::ScopeOf(caller);
  if (!scope.ok()) return done(scope.status());
  if (absl::Status allowed = (*scope)->Require(pv1::PERMISSION_TOUCHPOINTS_WRITE); !allowed.ok()) return done(allowed);
  absl::StatusOr<NewTouchpoint> prepared = Prepare(NewWriteContext(caller), request, "");
  if (!prepared.ok()) return done(prepared.status());
  PendingRecord pending{*std::move(prepared), std::move(done)};
  if (!writer_.Add(pending)) pending.done(absl::ResourceExhaustedError("server overloaded"));
}

void TouchpointManager::RecordBatch(std::vector<PendingRecord>& batch) {
  std::vector<NewTouchpoint> touchpoints;
  touchpoints.reserve(batch.size());
  for (PendingRecord& pending : batch) touchpoints.push_back(std::move(pending.touchpoint));
  std::vector<absl::StatusOr<Recorded>> results =
      server::CommitTogetherOrAlone<NewTouchpoint, Recorded>(
          touchpoints,
          [this](const std::vector<NewTouchpoint>& group) { return RecordMany(group); });
  for (size_t i = 0; i < batch.size(); ++i) {
    if (results[i].ok()) Disclose(touchpoints[i].context.caller, {&results[i]->touchpoint});
    batch[i].done(std::move(results[i]));
  }
}

absl::StatusOr<std::vector<absl::StatusOr<Recorded>>> TouchpointManager::RecordMany(
    const std::vector<NewTouchpoint>& touchpoints) {
  TL_ASSIGN_OR_RETURN(std::vector<absl::StatusOr<Recorded>> results,
                      store_->RecordMany(touchpoints));
  if (customers_ == nullptr) return results;
  // Whether the read model learnt the customer, by caller and customer: one lookup each.
  absl::flat_hash_map<std::string, bool> learnt;
  std::vector<size_t> again;
  for (size_t i = 0; i < touchpoints.size(); ++i) {
    const NewTouchpoint& n = touchpoints[i];
    if (!NamesNoCustomer(results[i].status(), n.field_prefix)) continue;
    const auth::RequestContext& caller = n.context.caller;
    const auto [it, first] = learnt.try_emplace(
        absl::StrCat(caller.tenant_id, "/", caller.caller_id, "/", n.touchpoint.customer_id()));
    if (first) {
      const absl::StatusOr<cv1::Customer> customer =
          customers_->GetCustomer(caller, n.touchpoint.customer_id());
      it->second = customer.ok() && store_->LearnCustomer(caller.tenant_id, *customer).ok();
    }
    if (it->second) again.push_back(i);
  }
  if (again.empty()) return results;
  std::vector<NewTouchpoint> retried;
  for (const size_t i : again) retried.push_back(touchpoints[i]);
  TL_ASSIGN_OR_RETURN(std::vector<absl::StatusOr<Recorded>> second, store_->RecordMany(retried));
  for (size_t k = 0; k < again.size(); ++k) results[again[k]] = std::move(second[k]);
  return results;
}

absl::StatusOr<v1::BatchRecordTouchpointsResponse> TouchpointManager::BatchRecord(
    const auth::RequestContext& caller, const v1::BatchRecordTouchpointsRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(scope->Require(pv1::PERMISSION_TOUCHPOINTS_WRITE));
  if (request.requests().empty()) return status::InvalidArgument("requests", "is required");
  if (request.requests_size() > kMaxBatchRecord) {
    return status::InvalidArgument(
        "requests", absl::StrCat("must have at most ", kMaxBatchRecord, " items (has ",
                                 request.requests_size(), ")"));
  }
  const WriteContext context = NewWriteContext(caller);
  v1::BatchRecordTouchpointsResponse response;
  std::vector<NewTouchpoint> valid;
  std::vector<int> positions;
  for (int i = 0; i < request.requests_size(); ++i) {
    v1::BatchRecordResult* result = response.add_results();
    absl::StatusOr<NewTouchpoint> prepared =
        Prepare(context, request.requests(i), absl::StrCat("requests[", i, "]"));
    if (prepared.ok()) {
      valid.push_back(*std::move(prepared));
      positions.push_back(i);
    } else {
      *result->mutable_error() = status::ToRpcStatus(prepared.status());
    }
  }
  if (!valid.empty()) {
    TL_ASSIGN_OR_RETURN(std::vector<absl::StatusOr<Recorded>> recorded, RecordMany(valid));
    for (size_t k = 0; k < recorded.size(); ++k) {
      v1::BatchRecordResult* result = response.mutable_results(positions[k]);
      if (recorded[k].ok()) {
        *result->mutable_touchpoint() = std::move(recorded[k]->touchpoint);
        result->set_replayed(recorded[k]->replayed);
      } else {
        *result->mutable_error() = status::ToRpcStatus(recorded[k].status());
      }
    }
  }
  std::vector<v1::Touchpoint*> touchpoints;
  for (v1::BatchRecordResult& result : *response.mutable_results()) {
    if (result.has_touchpoint()) touchpoints.push_back(result.mutable_touchpoint());
  }
  Disclose(caller, touchpoints);
  for (const v1::BatchRecordResult& result : response.results()) {
    if (result.has_error()) {
      response.set_failed_count(response.failed_count() + 1);
    } else if (!result.replayed()) {
      response.set_recorded_count(response.recorded_count() + 1);
    }
  }
  return response;
}

absl::StatusOr<v1::Touchpoint> TouchpointManager::Get(const auth::RequestContext& caller,
                                                      std::string_view touchpoint_id) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::string id, CheckId(touchpoint_id, "touchpoint_id"));
  TL_ASSIGN_OR_RETURN(v1::Touchpoint t, store_->Get(*scope, caller.tenant_id, id));
  Disclose(caller, {&t});
  return t;
}

absl::StatusOr<v1::Touchpoint> TouchpointManager::Update(
    const auth::RequestContext& caller, const v1::UpdateTouchpointRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(scope->Require(pv1::PERMISSION_TOUCHPOINTS_WRITE));
  if (!request.has_touchpoint()) return status::InvalidArgument("touchpoint", "is required");
  TL_ASSIGN_OR_RETURN(const std::string id,
                      CheckId(request.touchpoint().touchpoint_id(), "touchpoint.touchpoint_id"));
  TL_RETURN_IF_ERROR(CheckMask(request.update_mask()));
  std::vector<std::string> paths(request.update_mask().paths().begin(),
                                 request.update_mask().paths().end());
  TL_RETURN_IF_ERROR(scope->CheckWritable(auth::kTouchpointResource, paths));
  const WriteContext context = NewWriteContext(caller);
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  TL_ASSIGN_OR_RETURN(
      v1::Touchpoint updated,
      store_->Mutate(context, id, "touchpoint", [&](v1::Touchpoint& t) -> absl::StatusOr<Change> {
        TL_RETURN_IF_ERROR(CheckEtag(t, request.touchpoint().etag()));
        TL_RETURN_IF_ERROR(RequireActive(t, "update"));
        v1::Touchpoint patched = t;
        FieldMaskUtil::MergeMessageTo(request.touchpoint(), request.update_mask(), options,
                                      &patched);
        // Output-only fields keep their stored values; validate as a record would be.
        v1::Touchpoint candidate = patched;
        ClearOutputOnly(candidate);
        status::FieldViolations violations;
        NormalizeAndValidate(candidate, context.now, validation_, "touchpoint", violations);
        TL_RETURN_IF_ERROR(violations.ToStatus());
        LowerCaseIds(candidate);
        TruncateTimes(candidate);
        const v1::Touchpoint stored = t;
        t = std::move(candidate);
        t.set_touchpoint_id(stored.touchpoint_id());
        t.set_state(stored.state());
        t.set_recorded_by(stored.recorded_by());
        t.set_etag(stored.etag());
        if (!t.has_record_time()) *t.mutable_record_time() = stored.record_time();
        return Change{ChangeKind::kUpdated, paths};
      }));
  Disclose(caller, {&updated});
  return updated;
}

absl::StatusOr<v1::Touchpoint> TouchpointManager::Delete(
    const auth::RequestContext& caller, const v1::DeleteTouchpointRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(scope->Require(pv1::PERMISSION_TOUCHPOINTS_WRITE));
  TL_ASSIGN_OR_RETURN(const std::string id, CheckId(request.touchpoint_id(), "touchpoint_id"));
  TL_ASSIGN_OR_RETURN(v1::Touchpoint deleted,
                      store_->Mutate(NewWriteContext(caller), id, "",
                                     [&](v1::Touchpoint& t) -> absl::StatusOr<Change> {
                                       TL_RETURN_IF_ERROR(CheckEtag(t, request.etag()));
                                       TL_RETURN_IF_ERROR(RequireActive(t, "delete"));
                                       return Change{ChangeKind::kDeleted, {}};
                                     }));
  Disclose(caller, {&deleted});
  return deleted;
}

absl::StatusOr<v1::ListTouchpointsResponse> TouchpointManager::List(
    const auth::RequestContext& caller, const v1::ListTouchpointsRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::string customer_id,
                      CheckId(request.customer_id(), "customer_id"));
  TL_RETURN_IF_ERROR(CheckPageSize(request.page_size(), kMaxPageSize, "page_size"));
  TL_RETURN_IF_ERROR(CheckFilter(request.filter(), "filter"));
  TL_RETURN_IF_ERROR(CheckFilterable(*scope, request.filter(), "filter"));
  const int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const std::string hash =
      paging::QueryHash(absl::StrCat(customer_id, "\n", Canonical(request.filter())));
  std::optional<TimeCursor> after;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(after,
                        DecodeTimeCursor(page_tokens_, request.page_token(), hash, "page_token"));
  }
  TL_ASSIGN_OR_RETURN(TouchpointPage page, store_->List(*scope, caller.tenant_id, customer_id,
                                                        request.filter(), page_size, after));
  v1::ListTouchpointsResponse response;
  for (v1::Touchpoint& t : page.touchpoints) *response.add_touchpoints() = std::move(t);
  Disclose(caller, Pointers(*response.mutable_touchpoints()));
  if (page.next) response.set_next_page_token(EncodeTimeCursor(page_tokens_, *page.next, hash));
  return response;
}

absl::StatusOr<v1::SearchTouchpointsResponse> TouchpointManager::Search(
    const auth::RequestContext& caller, const v1::SearchTouchpointsRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  // Matches only through the fields the caller reads in clear: a weight one of whose fields
  // the caller does not read in clear is left out entirely.
  std::string hidden;
  for (const SearchedField& field : kSearchedFields) {
    if (!ShownInClear(*scope, field.name)) hidden.push_back(field.weight);
  }
  std::string weights;
  for (const SearchedField& field : kSearchedFields) {
    if (!absl::StrContains(hidden, field.weight) && !absl::StrContains(weights, field.weight)) {
      weights.push_back(field.weight);
    }
  }
  const bool searchable = !weights.empty();
  if (hidden.empty()) weights.clear();
  TL_ASSIGN_OR_RETURN(const SearchQuery query, ParseSearchQuery(request.query(), "query", weights));
  SearchSpec spec;
  spec.tsquery = query.tsquery;
  if (!request.customer_id().empty()) {
    TL_ASSIGN_OR_RETURN(spec.customer_id, CheckId(request.customer_id(), "customer_id"));
  }
  TL_RETURN_IF_ERROR(CheckPageSize(request.page_size(), kMaxSearchPageSize, "page_size"));
  TL_RETURN_IF_ERROR(CheckFilter(request.filter(), "filter"));
  TL_RETURN_IF_ERROR(CheckFilterable(*scope, request.filter(), "filter"));
  if (!v1::SearchOrder_IsValid(request.order())) {
    return status::InvalidArgument("order", "must be a known value");
  }
  spec.filter = request.filter();
  spec.by_relevance = request.order() != v1::SEARCH_ORDER_OCCUR_TIME_DESC;
  spec.page_size = request.page_size() == 0 ? kDefaultSearchPageSize : request.page_size();
  const std::string hash = paging::QueryHash(absl::StrCat(
      query.tsquery, "\n", spec.customer_id, "\n", spec.by_relevance, "\n",
      Canonical(request.filter())));
  if (!request.page_token().empty()) {
    if (spec.by_relevance) {
      TL_ASSIGN_OR_RETURN(const json cursor,
                          page_tokens_.Decode(request.page_token(), hash, "page_token"));
      if (!cursor.contains("o") || !cursor["o"].is_number_integer() || cursor["o"] < 0 ||
          cursor["o"] >= kRelevanceWindow) {
        return status::InvalidArgument("page_token", "is not a token this query returned");
      }
      spec.offset = cursor["o"].get<int>();
    } else {
      TL_ASSIGN_OR_RETURN(spec.after, DecodeTimeCursor(page_tokens_, request.page_token(), hash,
                                                       "page_token"));
    }
  }
  v1::SearchTouchpointsResponse response;
  if (!searchable) return response;
  TL_ASSIGN_OR_RETURN(TouchpointPage page, store_->Search(*scope, caller.tenant_id, spec));
  // Snippets only of what the caller reads in clear.
  const auto shown = [scope](const char* field, const std::string& text) {
    return ShownInClear(*scope, field) ? std::string_view(text) : std::string_view();
  };
  std::vector<v1::Touchpoint*> touchpoints;
  for (size_t i = 0; i < page.touchpoints.size(); ++i) {
    v1::SearchHit* hit = response.add_hits();
    const v1::Touchpoint& t = page.touchpoints[i];
    std::vector<ListItemText> items;
    for (const auto& [name, list] : {std::pair{"needs", &t.needs()},
                                     std::pair{"concerns", &t.concerns()},
                                     std::pair{"interests", &t.interests()}}) {
      if (!ShownInClear(*scope, name)) continue;
      for (int k = 0; k < list->size(); ++k) {
        items.push_back({absl::StrCat(name, "[", k, "]"), list->Get(k)});
      }
    }
    for (v1::Snippet& s :
         MakeSnippets(query, shown("subject", t.subject()), shown("summary", t.summary()),
                      shown("content", t.content()), kSnippetChars, items)) {
      *hit->add_snippets() = std::move(s);
    }
    hit->set_score(page.scores[i]);
    *hit->mutable_touchpoint() = std::move(page.touchpoints[i]);
    touchpoints.push_back(hit->mutable_touchpoint());
  }
  Disclose(caller, touchpoints);
  if (spec.by_relevance) {
    const int next = spec.offset + static_cast<int>(page.touchpoints.size());
    if (page.more && next < kRelevanceWindow) {
      response.set_next_page_token(page_tokens_.Encode({{"o", next}}, hash));
    }
  } else if (page.next) {
    response.set_next_page_token(EncodeTimeCursor(page_tokens_, *page.next, hash));
  }
  return response;
}

absl::StatusOr<v1::GetTouchpointStatsResponse> TouchpointManager::Stats(
    const auth::RequestContext& caller, const v1::GetTouchpointStatsRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  status::FieldViolations violations;
  if (!request.has_start_time()) violations.Add("start_time", "is required");
  if (!request.has_end_time()) violations.Add("end_time", "is required");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  status::CheckTimestamp(request.start_time(), "start_time", violations);
  status::CheckTimestamp(request.end_time(), "end_time", violations);
  TL_RETURN_IF_ERROR(violations.ToStatus());
  const absl::Time start = FromProtoTime(request.start_time());
  const absl::Time end = FromProtoTime(request.end_time());
  if (end <= start) violations.Add("end_time", "must be after start_time");
  if (end - start > kMaxStatsRange) violations.Add("end_time", "must be at most 366 days after start_time");
  std::string customer_id;
  if (!request.customer_id().empty()) {
    if (ids::IsUuid(request.customer_id())) {
      customer_id = absl::AsciiStrToLower(request.customer_id());
    } else {
      violations.Add("customer_id", "must be a UUID");
    }
  }
  const std::string zone = request.time_zone().empty() ? "Asia/Shanghai" : request.time_zone();
  absl::TimeZone tz;
  if (!IsIanaZoneName(zone) || !absl::LoadTimeZone(zone, &tz)) {
    violations.Add("time_zone", "is not a known IANA time zone");
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_RETURN_IF_ERROR(CheckFilter(request.filter(), "filter"));
  TL_RETURN_IF_ERROR(CheckFilterable(*scope, request.filter(), "filter"));
  TL_ASSIGN_OR_RETURN(
      v1::GetTouchpointStatsResponse stats,
      store_->Stats(*scope, caller.tenant_id, customer_id, request.filter(), start, end, zone));
  // Nothing about a field the caller does not read in clear, not even in aggregate.
  if (!ShownInClear(*scope, "channel")) stats.clear_by_channel();
  if (!ShownInClear(*scope, "category")) stats.clear_by_category();
  if (!ShownInClear(*scope, "outcome")) {
    stats.clear_by_outcome();
    stats.clear_heat_map();  // Counts the contacts whose outcome was a success.
  }
  google::protobuf::RepeatedPtrField<v1::FieldCompleteness> completeness;
  for (v1::FieldCompleteness& c : *stats.mutable_completeness()) {
    if (ShownInClear(*scope, c.field())) *completeness.Add() = std::move(c);
  }
  stats.mutable_completeness()->Swap(&completeness);
  return stats;
}

absl::StatusOr<v1::ListTouchpointChangesResponse> TouchpointManager::Changes(
    const auth::RequestContext& caller, const v1::ListTouchpointChangesRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(CheckPageSize(request.page_size(), kMaxPageSize, "page_size"));
  std::string customer_id;
  if (!request.customer_id().empty()) {
    TL_ASSIGN_OR_RETURN(customer_id, CheckId(request.customer_id(), "customer_id"));
  }
  const std::string hash = paging::QueryHash(absl::StrCat("changes\n", customer_id));
  ChangeCursor after;
  if (!request.cursor().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_.Decode(request.cursor(), hash, "cursor"));
    if (!cursor.contains("x") || !cursor["x"].is_number_unsigned() || !cursor.contains("i") ||
        !cursor["i"].is_string() || !ids::IsUuid(cursor["i"].get<std::string>())) {
      return status::InvalidArgument("cursor", "is not a token this query returned");
    }
    after = ChangeCursor{cursor["x"].get<uint64_t>(), cursor["i"].get<std::string>()};
  }
  const int page_size = request.page_size() == 0 ? kDefaultChangesPageSize : request.page_size();
  TL_ASSIGN_OR_RETURN(ChangesPage page,
                      store_->Changes(*scope, caller.tenant_id, customer_id, after, page_size));
  v1::ListTouchpointChangesResponse response;
  for (v1::Touchpoint& t : page.touchpoints) *response.add_touchpoints() = std::move(t);
  Disclose(caller, Pointers(*response.mutable_touchpoints()));
  response.set_next_cursor(
      page_tokens_.Encode({{"x", page.next.xid}, {"i", page.next.touchpoint_id}}, hash));
  response.set_caught_up(page.caught_up);
  return response;
}

}  // namespace touchline::touchpoints
