// URL path templates of google.api.http rules (google/api/http.proto, "Path template syntax"):
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
#ifndef TOUCHLINE_GATEWAY_HTTP_PATH_TEMPLATE_H_
#define TOUCHLINE_GATEWAY_HTTP_PATH_TEMPLATE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace touchline::gateway::http {

// `text` with each %XX escape replaced by its byte; with `keep_escaped_slash`, %2F stays as
// written (a multi-segment path variable must not gain a '/'). Malformed escapes are kept.
std::string PercentDecode(std::string_view text, bool keep_escaped_slash = false);

// Values a matched path gives to request fields: (field path, e.g. "customer.customer_id",
// percent-decoded value), in the order the variables appear in the template.
using Bindings = std::vector<std::pair<std::string, std::string>>;

class PathTemplate {
 public:
  struct Segment {
    enum class Kind {
      kLiteral,  // matches `literal` exactly
      kAny,      // "*": one non-empty segment
      kRest,     // "**": zero or more segments; only ever the last segment
    };
    Kind kind;
    std::string literal;
  };

  // A variable covers segments_[first, end) of the template.
  struct Variable {
    std::string field_path;
    size_t first;
    size_t end;
  };

  // Parses `text`. INVALID_ARGUMENT naming `text` and the offending offset when it does not
  // follow the grammar above, when "**" is not the last segment, when variables nest, or
  // when one field path is bound twice.
  static absl::StatusOr<PathTemplate> Parse(std::string_view text);

  // The bindings of the template's variables when `path` (a request path without query
  // string, e.g. "/v1/customers/abc:undelete") matches, otherwise nullopt. A template with a
  // verb matches only paths whose last segment ends with ":<verb>", and matches the path
  // without it; a template without a verb matches the whole path, so a ':' inside an id
  // binds like any other character. Values are percent-decoded; a variable spanning several
  // segments keeps %2F (an escaped '/') as is, as http.proto specifies. Malformed escapes
  // are kept verbatim. Values are not checked for UTF-8.
  std::optional<Bindings> Match(std::string_view path) const;

  // The template as written.
  const std::string& text() const { return text_; }
  const std::vector<Segment>& segments() const { return segments_; }
  const std::vector<Variable>& variables() const { return variables_; }
  // "" when the template has no verb.
  const std::string& verb() const { return verb_; }

  // The template with variables replaced by their patterns, e.g. "/v1/customers/*:undelete"
  // for "/v1/customers/{customer_id}:undelete": two templates with the same shape match
  // exactly the same paths.
  std::string Shape() const;

  // Whether this template should win over `other` when both match one path: a template
  // with a verb beats one without; then, at the first segment where they differ, a literal
  // beats "*", which beats "**".
  bool MoreSpecificThan(const PathTemplate& other) const;

 private:
  PathTemplate() = default;

  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
};

}  // namespace touchline::gateway::http

#endif  // TOUCHLINE_GATEWAY_HTTP_PATH_TEMPLATE_H_
