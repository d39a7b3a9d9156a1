#include "gateway/http/path_template.h"

#include <algorithm>

#include "absl/status/status.h"

namespace touchline::gateway::http {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// RFC 3986 pchar without ':' (it starts the verb), '*' (wildcards) and '=' (variable
// patterns), so a template reads one way only.
bool IsLiteralChar(char c) {
  if (IsIdentChar(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '~':
    case '%':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '+':
    case ',':
    case ';':
    case '@':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(path.substr(start));
      return parts;
    }
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

int Rank(PathTemplate::Segment::Kind kind) {
  switch (kind) {
    case PathTemplate::Segment::Kind::kLiteral:
      return 0;
    case PathTemplate::Segment::Kind::kAny:
      return 1;
    case PathTemplate::Segment::Kind::kRest:
      return 2;
  }
  return 2;
}

// Recursive descent over the grammar in path_template.h.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::Status Run(std::vector<PathTemplate::Segment>* segments,
                   std::vector<PathTemplate::Variable>* variables, std::string* verb) {
    segments_ = segments;
    variables_ = variables;
    if (!Consume('/')) return Error("must start with '/'");
    if (absl::Status status = ParseSegments(/*in_variable=*/false); !status.ok()) return status;
    if (Consume(':')) {
      *verb = std::string(ParseLiteral());
      if (verb->empty()) return Error("expected a verb after ':'");
    }
    if (pos_ != text_.size()) return Error("unexpected character");
    for (size_t i = 0; i + 1 < segments_->size(); ++i) {
      if ((*segments_)[i].kind == PathTemplate::Segment::Kind::kRest) {
        return absl::InvalidArgumentError("invalid path template \"" + std::string(text_) +
                                          "\": \"**\" must be the last segment");
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status ParseSegments(bool in_variable) {
    do {
      if (absl::Status status = ParseSegment(in_variable); !status.ok()) return status;
    } while (Consume('/'));
    return absl::OkStatus();
  }

  absl::Status ParseSegment(bool in_variable) {
    using Kind = PathTemplate::Segment::Kind;
    if (Consume('*')) {
      segments_->push_back({Consume('*') ? Kind::kRest : Kind::kAny, ""});
      return absl::OkStatus();
    }
    if (Consume('{')) {
      if (in_variable) return Error("variables must not nest");
      return ParseVariable();
    }
    const std::string_view literal = ParseLiteral();
    if (literal.empty()) return Error("expected a segment");
    segments_->push_back({Kind::kLiteral, std::string(literal)});
    return absl::OkStatus();
  }

  absl::Status ParseVariable() {
    const size_t start = pos_;
    do {
      if (pos_ >= text_.size() || !IsIdentStart(text_[pos_])) {
        return Error("expected a field name");
      }
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    } while (Consume('.'));
    PathTemplate::Variable variable{std::string(text_.substr(start, pos_ - start)),
                                    segments_->size(), 0};
    for (const PathTemplate::Variable& other : *variables_) {
      if (other.field_path == variable.field_path) return Error("field bound twice");
    }
    if (Consume('=')) {
      if (absl::Status status = ParseSegments(/*in_variable=*/true); !status.ok()) return status;
    } else {
      segments_->push_back({PathTemplate::Segment::Kind::kAny, ""});
    }
    if (!Consume('}')) return Error("expected '}'");
    variable.end = segments_->size();
    variables_->push_back(std::move(variable));
    return absl::OkStatus();
  }

  std::string_view ParseLiteral() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::Status Error(std::string_view reason) const {
    return absl::InvalidArgumentError("invalid path template \"" + std::string(text_) + "\": " +
                                      std::string(reason) + " at offset " + std::to_string(pos_));
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<PathTemplate::Segment>* segments_ = nullptr;
  std::vector<PathTemplate::Variable>* variables_ = nullptr;
};

}  // namespace

std::string PercentDecode(std::string_view text, bool keep_escaped_slash) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        const char decoded = static_cast<char>(high * 16 + low);
        if (!(keep_escaped_slash && decoded == '/')) {
          out.push_back(decoded);
          i += 2;
          continue;
        }
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(std::string_view text) {
  PathTemplate result;
  result.text_ = std::string(text);
  Parser parser(text);
  if (absl::Status status = parser.Run(&result.segments_, &result.variables_, &result.verb_);
      !status.ok()) {
    return status;
  }
  return result;
}

std::optional<Bindings> PathTemplate::Match(std::string_view path) const {
  if (!verb_.empty()) {
    const size_t verb_size = verb_.size() + 1;
    if (path.size() < verb_size || path[path.size() - verb_size] != ':' ||
        path.substr(path.size() - verb_.size()) != verb_) {
      return std::nullopt;
    }
    path.remove_suffix(verb_size);
  }
  if (path.empty() || path.front() != '/') return std::nullopt;
  const std::vector<std::string_view> parts = SplitPath(path.substr(1));

  const bool ends_with_rest = segments_.back().kind == Segment::Kind::kRest;
  const size_t fixed = ends_with_rest ? segments_.size() - 1 : segments_.size();
  if (ends_with_rest ? parts.size() < fixed : parts.size() != fixed) return std::nullopt;
  for (size_t i = 0; i < fixed; ++i) {
    const Segment& segment = segments_[i];
    if (segment.kind == Segment::Kind::kLiteral ? parts[i] != segment.literal : parts[i].empty()) {
      return std::nullopt;
    }
  }

  Bindings bindings;
  bindings.reserve(variables_.size());
  for (const Variable& variable : variables_) {
    const bool covers_rest = variable.end == segments_.size() && ends_with_rest;
    const size_t end = covers_rest ? parts.size() : variable.end;
    std::string raw;
    for (size_t i = variable.first; i < end; ++i) {
      if (i > variable.first) raw.push_back('/');
      raw.append(parts[i]);
    }
    const bool single_segment = !covers_rest && variable.end - variable.first == 1;
    bindings.emplace_back(variable.field_path,
                          PercentDecode(raw, /*keep_escaped_slash=*/!single_segment));
  }
  return bindings;
}

std::string PathTemplate::Shape() const {
  std::string shape;
  for (const Segment& segment : segments_) {
    shape.push_back('/');
    switch (segment.kind) {
      case Segment::Kind::kLiteral:
        shape.append(segment.literal);
        break;
      case Segment::Kind::kAny:
        shape.append("*");
        break;
      case Segment::Kind::kRest:
        shape.append("**");
        break;
    }
  }
  if (!verb_.empty()) shape.append(":" + verb_);
  return shape;
}

bool PathTemplate::MoreSpecificThan(const PathTemplate& other) const {
  if (verb_.empty() != other.verb_.empty()) return !verb_.empty();
  const size_t common = std::min(segments_.size(), other.segments_.size());
  for (size_t i = 0; i < common; ++i) {
    const int mine = Rank(segments_[i].kind);
    const int theirs = Rank(other.segments_[i].kind);
    if (mine != theirs) return mine < theirs;
  }
  // Both match one path only if the longer one ends in "**" matching nothing there.
  return segments_.size() < other.segments_.size();
}

}  // namespace touchline::gateway::http
