#include "gateway/http/field_path.h"

#include <string>

#include "absl/status/status.h"

namespace touchline::gateway::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const FieldDescriptor* FindField(const Descriptor& message, std::string_view name,
                                 bool accept_json_names) {
  const std::string name_text(name);
  if (const FieldDescriptor* field = message.FindFieldByName(name_text)) return field;
  if (!accept_json_names) return nullptr;
  for (int i = 0; i < message.field_count(); ++i) {
    if (message.field(i)->json_name() == name_text) return message.field(i);
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<const FieldDescriptor*>> ResolveFieldPath(const Descriptor& message,
                                                                     std::string_view path,
                                                                     bool accept_json_names) {
  std::vector<const FieldDescriptor*> fields;
  const Descriptor* current = &message;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string_view name =
        path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (current == nullptr) {
      return absl::InvalidArgumentError("\"" + FieldPathName(fields) +
                                        "\" is not a singular message field");
    }
    const FieldDescriptor* field = FindField(*current, name, accept_json_names);
    if (field == nullptr) {
      return absl::InvalidArgumentError("no field \"" + std::string(name) + "\" in " +
                                        current->full_name());
    }
    fields.push_back(field);
    if (dot == std::string_view::npos) return fields;
    current = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()
                  ? field->message_type()
                  : nullptr;
    start = dot + 1;
  }
}

std::string FieldPathName(const std::vector<const FieldDescriptor*>& fields) {
  std::string name;
  for (const FieldDescriptor* field : fields) {
    if (!name.empty()) name.push_back('.');
    name.append(field->name());
  }
  return name;
}

}  // namespace touchline::gateway::http
