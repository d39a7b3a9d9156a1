#include "services/journeys/definitions/definition_manager.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "services/journeys/definitions/definition_validation.h"

namespace touchline::journeys {
namespace {

using ::google::protobuf::util::FieldMaskUtil;
using ::google::protobuf::util::TimeUtil;
using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;

// What an update mask may name.
constexpr std::string_view kUpdatable[] = {"display_name", "stages",        "entry_rule",
                                           "description",  "mapping_rules", "allow_backward"};

google::protobuf::Timestamp ProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void ClearOutputOnly(v1::Journey& journey) {
  journey.clear_journey_id();
  journey.clear_version();
  journey.clear_state();
  journey.clear_create_time();
  journey.clear_update_time();
  journey.clear_publish_time();
  journey.clear_etag();
}

// The names of the fields set in `journey`, for the audit entry of a create.
std::vector<std::string> SetFields(const v1::Journey& journey) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  journey.GetReflection()->ListFields(journey, &fields);
  std::vector<std::string> names;
  names.reserve(fields.size());
  for (const google::protobuf::FieldDescriptor* field : fields) names.push_back(field->name());
  return names;
}

// The journey id as stored (lower case): INVALID_ARGUMENT naming `field` unless a UUID.
absl::StatusOr<std::string> CheckId(std::string_view id, std::string field) {
  if (id.empty()) return status::InvalidArgument(std::move(field), "is required");
  if (!ids::IsUuid(id)) return status::InvalidArgument(std::move(field), "must be a UUID");
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

absl::Status CheckEtag(const v1::Journey& latest, std::string_view etag) {
  if (etag.empty() || etag == latest.etag()) return absl::OkStatus();
  return status::WithErrorInfo(
      absl::AbortedError(absl::StrCat("journey ", latest.journey_id(),
                                      " was changed by someone else (etag ", std::string(etag),
                                      " is stale); read it again and retry")),
      "ETAG_MISMATCH", {{"journey_id", latest.journey_id()}});
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) return status::InvalidArgument("update_mask", "is required");
  status::FieldViolations violations;
  for (int i = 0; i < mask.paths_size(); ++i) {
    bool known = false;
    for (const std::string_view name : kUpdatable) known = known || mask.paths(i) == name;
    if (!known) {
      violations.Add(absl::StrCat("update_mask.paths[", i, "]"),
                     absl::StrCat("names no updatable field (\"", mask.paths(i), "\")"));
    }
  }
  return violations.ToStatus();
}

const char* StateName(v1::JourneyState state) {
  switch (state) {
    case v1::JOURNEY_STATE_DRAFT:
      return "a draft";
    case v1::JOURNEY_STATE_PUBLISHED:
      return "published";
    case v1::JOURNEY_STATE_ARCHIVED:
      return "archived";
    default:
      return "in no known state";
  }
}

absl::Status Archived(const v1::Journey& latest, std::string_view action) {
  return absl::FailedPreconditionError(absl::StrCat("cannot ", std::string(action), " journey ",
                                                    latest.journey_id(), ": it is archived"));
}

// The query a page token is bound to: the tenant and whether archived journeys are listed.
std::string ListQueryHash(const auth::RequestContext& caller, bool show_archived) {
  return paging::QueryHash(
      absl::StrCat("journeys\n", caller.tenant_id, "\n", show_archived ? "all" : "live"));
}

absl::StatusOr<JourneyCursor> DecodeCursor(const paging::PageTokens& tokens, std::string_view token,
                                           const std::string& hash) {
  TL_ASSIGN_OR_RETURN(const json cursor, tokens.Decode(token, hash, "page_token"));
  if (!cursor.is_object() || !cursor.contains("n") || !cursor["n"].is_string() ||
      !cursor.contains("i") || !cursor["i"].is_string() ||
      !ids::IsUuid(cursor["i"].get<std::string>())) {
    return status::InvalidArgument("page_token", "is not a token this query returned");
  }
  return JourneyCursor{.display_name = cursor["n"].get<std::string>(),
                       .journey_id = cursor["i"].get<std::string>()};
}

}  // namespace

DefinitionManager::DefinitionManager(DefinitionStore* store, paging::PageTokens page_tokens,
                                     Clock clock)
    : store_(store), page_tokens_(std::move(page_tokens)), clock_(std::move(clock)) {}

WriteContext DefinitionManager::NewWriteContext(const auth::RequestContext& caller) const {
  // Microseconds, as PostgreSQL keeps them, so what a write returns is what a read returns.
  return WriteContext{caller, absl::FromUnixMicros(absl::ToUnixMicros(clock_()))};
}

absl::StatusOr<v1::Journey> DefinitionManager::Write(const auth::RequestContext& caller,
                                                     std::string_view journey_id, std::string field,
                                                     const Decide& decide) {
  TL_ASSIGN_OR_RETURN(const std::string id, CheckId(journey_id, std::move(field)));
  const WriteContext context = NewWriteContext(caller);
  return store_->Write(context, id, [&](const std::vector<v1::Journey>& versions) {
    return decide(versions, context.now);
  });
}

absl::StatusOr<v1::Journey> DefinitionManager::Create(const auth::RequestContext& caller,
                                                      const v1::CreateJourneyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_journey()) return status::InvalidArgument("journey", "is required");
  NewJourney created{.context = NewWriteContext(caller),
                     .journey = request.journey(),
                     .request_id = request.request_id(),
                     .fingerprint = "",
                     .fields = {}};
  v1::Journey& journey = created.journey;
  ClearOutputOnly(journey);
  status::FieldViolations violations;
  NormalizeAndValidate(journey, "journey", violations);
  if (const std::optional<std::string> problem =
          idempotency::RequestIdProblem(request.request_id())) {
    violations.Add("request_id", *problem);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  // Of what the client asked for, before the server fills anything in.
  created.fingerprint = ids::Fingerprint(journey);
  created.fields = SetFields(journey);
  const absl::Time now = created.context.now;
  journey.set_journey_id(ids::NewUuid(now));
  journey.set_version(1);
  journey.set_state(v1::JOURNEY_STATE_DRAFT);
  *journey.mutable_create_time() = ProtoTime(now);
  *journey.mutable_update_time() = ProtoTime(now);
  return store_->Create(created);
}

absl::StatusOr<v1::Journey> DefinitionManager::Get(const auth::RequestContext& caller,
                                                   const v1::GetJourneyRequest& request) {
  TL_RETURN_IF_ERROR(auth::ScopeOf(caller).status());
  TL_ASSIGN_OR_RETURN(const std::string id, CheckId(request.journey_id(), "journey_id"));
  if (request.version() < 0) return status::InvalidArgument("version", "must not be negative");
  return store_->Get(caller.tenant_id, id, request.version());
}

absl::StatusOr<v1::ListJourneysResponse> DefinitionManager::List(
    const auth::RequestContext& caller, const v1::ListJourneysRequest& request) {
  TL_RETURN_IF_ERROR(auth::ScopeOf(caller).status());
  if (request.page_size() < 0 || request.page_size() > kMaxJourneyPageSize) {
    return status::InvalidArgument("page_size",
                                   absl::StrCat("must be between 0 and ", kMaxJourneyPageSize));
  }
  const int page_size = request.page_size() == 0 ? kDefaultJourneyPageSize : request.page_size();
  const std::string hash = ListQueryHash(caller, request.show_archived());
  std::optional<JourneyCursor> after;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(after, DecodeCursor(page_tokens_, request.page_token(), hash));
  }
  TL_ASSIGN_OR_RETURN(JourneyPage page,
                      store_->List(caller.tenant_id, request.show_archived(), page_size, after));
  v1::ListJourneysResponse response;
  for (v1::Journey& journey : page.journeys) *response.add_journeys() = std::move(journey);
  if (page.next) {
    response.set_next_page_token(
        page_tokens_.Encode({{"n", page.next->display_name}, {"i", page.next->journey_id}}, hash));
  }
  return response;
}

absl::StatusOr<v1::Journey> DefinitionManager::Update(const auth::RequestContext& caller,
                                                      const v1::UpdateJourneyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_journey()) return status::InvalidArgument("journey", "is required");
  TL_RETURN_IF_ERROR(CheckMask(request.update_mask()));
  return Write(
      caller, request.journey().journey_id(), "journey.journey_id",
      [&](const std::vector<v1::Journey>& versions,
          absl::Time now) -> absl::StatusOr<JourneyWrite> {
        const v1::Journey& latest = versions.back();
        if (latest.state() == v1::JOURNEY_STATE_ARCHIVED) return Archived(latest, "update");
        TL_RETURN_IF_ERROR(CheckEtag(latest, request.journey().etag()));
        v1::Journey next = latest;
        FieldMaskUtil::MergeOptions options;
        options.set_replace_message_fields(true);
        options.set_replace_repeated_fields(true);
        FieldMaskUtil::MergeMessageTo(request.journey(), request.update_mask(), options, &next);
        status::FieldViolations violations;
        NormalizeAndValidate(next, "journey", violations);
        TL_RETURN_IF_ERROR(violations.ToStatus());
        JourneyWrite write{
            .versions = {},
            .publishes = false,
            .action = "journey.updated",
            .fields = {request.update_mask().paths().begin(), request.update_mask().paths().end()},
            .detail = ""};
        if (latest.state() == v1::JOURNEY_STATE_PUBLISHED) {
          // A published version never changes: the change is the next version's draft.
          next.set_version(latest.version() + 1);
          next.set_state(v1::JOURNEY_STATE_DRAFT);
          *next.mutable_create_time() = ProtoTime(now);
          next.clear_publish_time();
          write.detail = absl::StrCat("version ", next.version(), ", a new draft from version ",
                                      latest.version());
        } else {
          write.detail = absl::StrCat("version ", next.version());
        }
        *next.mutable_update_time() = ProtoTime(now);
        write.versions.push_back(std::move(next));
        return write;
      });
}

absl::StatusOr<v1::Journey> DefinitionManager::Publish(const auth::RequestContext& caller,
                                                       const v1::PublishJourneyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  return Write(caller, request.journey_id(), "journey_id",
               [&](const std::vector<v1::Journey>& versions,
                   absl::Time now) -> absl::StatusOr<JourneyWrite> {
                 const v1::Journey& latest = versions.back();
                 if (latest.state() != v1::JOURNEY_STATE_DRAFT) {
                   return absl::FailedPreconditionError(absl::StrCat(
                       "journey ", latest.journey_id(), " has no draft to publish: version ",
                       latest.version(), " is ", StateName(latest.state())));
                 }
                 TL_RETURN_IF_ERROR(CheckEtag(latest, request.etag()));
                 v1::Journey published = latest;
                 published.set_state(v1::JOURNEY_STATE_PUBLISHED);
                 *published.mutable_publish_time() = ProtoTime(now);
                 *published.mutable_update_time() = ProtoTime(now);
                 return JourneyWrite{.versions = {std::move(published)},
                                     .publishes = true,
                                     .action = "journey.published",
                                     .fields = {"state", "publish_time"},
                                     .detail = absl::StrCat("version ", latest.version())};
               });
}

absl::StatusOr<v1::Journey> DefinitionManager::Archive(const auth::RequestContext& caller,
                                                       const v1::ArchiveJourneyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  return Write(caller, request.journey_id(), "journey_id",
               [&](const std::vector<v1::Journey>& versions,
                   absl::Time now) -> absl::StatusOr<JourneyWrite> {
                 JourneyWrite write{
                     .versions = {},
                     .publishes = false,
                     .action = "journey.archived",
                     .fields = {"state"},
                     .detail = absl::StrCat("versions 1 to ", versions.back().version())};
                 // Oldest first, so the latest (never archived alone) comes last.
                 for (const v1::Journey& version : versions) {
                   if (version.state() == v1::JOURNEY_STATE_ARCHIVED) continue;
                   v1::Journey archived = version;
                   archived.set_state(v1::JOURNEY_STATE_ARCHIVED);
                   *archived.mutable_update_time() = ProtoTime(now);
                   write.versions.push_back(std::move(archived));
                 }
                 return write;
               });
}

}  // namespace touchline::journeys
