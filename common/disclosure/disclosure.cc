#include "common/disclosure/disclosure.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/scope.h"

namespace touchline::disclosure {

Disclosure::Disclosure(const auth::RequestContext& caller, std::string resource,
                       ReadAuditOptions options)
    : caller_(caller), resource_(std::move(resource)), options_(std::move(options)) {}

void Disclosure::Apply(google::protobuf::Message& message, const std::vector<std::string>& ids) {
  const std::vector<std::string> read = caller_.scope->Redact(resource_, message);
  if (read.empty()) return;
  ids_.insert(ids.begin(), ids.end());
  fields_.insert(read.begin(), read.end());
}

void Disclosure::Note(const std::vector<std::string_view>& fields, std::string_view id) {
  if (fields.empty()) return;
  ids_.emplace(id);
  for (std::string_view field : fields) fields_.emplace(field);
}

std::optional<touchline::events::v1::EventEnvelope> Disclosure::Entry() const {
  if (fields_.empty()) return std::nullopt;
  const std::string action = absl::StrCat(resource_, ".read_sensitive");
  std::vector<std::string> fields(fields_.begin(), fields_.end());
  if (ids_.size() == 1) {
    return audit::MakeAuditEnvelope(caller_, action, resource_, *ids_.begin(), std::move(fields));
  }
  std::vector<std::string> listed;
  for (const std::string& id : ids_) {
    if (listed.size() == options_.max_listed_ids) break;
    listed.push_back(id);
  }
  std::string detail = absl::StrCat(options_.detail_prefix, absl::StrJoin(listed, ","));
  if (ids_.size() > listed.size()) {
    absl::StrAppend(&detail, " and ", ids_.size() - listed.size(), " more");
  }
  return audit::MakeAuditEnvelope(caller_, action, resource_, "", std::move(fields),
                                  std::move(detail));
}

void Disclosure::Report(audit::AuditPublisher* audit) const {
  if (std::optional<touchline::events::v1::EventEnvelope> entry = Entry()) {
    audit->Publish(*std::move(entry));
  }
}

}  // namespace touchline::disclosure
