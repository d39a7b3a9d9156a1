#include "common/tabular/vcard_reader.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tabular/encoding.h"
#include "common/text/text.h"

namespace touchline::tabular {
namespace {

// The longest line a reader holds.
constexpr size_t kMaxLineBytes = size_t{1} << 20;

// Debian's Abseil has a string_view of its own.
absl::string_view A(std::string_view text) { return {text.data(), text.size()}; }

std::string Upper(std::string_view text) { return absl::AsciiStrToUpper(std::string(text)); }
std::string Lower(std::string_view text) { return absl::AsciiStrToLower(std::string(text)); }

// The position of the first `c` in `text` outside double quotes, or npos.
size_t FindUnquoted(std::string_view text, char c) {
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (!quoted && text[i] == c) return i;
  }
  return std::string_view::npos;
}

// `text` split at `c` outside double quotes.
std::vector<std::string_view> SplitUnquoted(std::string_view text, char c) {
  std::vector<std::string_view> parts;
  for (size_t at = FindUnquoted(text, c); at != std::string_view::npos;
       at = FindUnquoted(text, c)) {
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  parts.push_back(text);
  return parts;
}

// A quoted-printable value's bytes: "=E5=AE=A2" -> the three bytes. A '=' not followed by two
// hex digits is kept as written.
std::string DecodeQuotedPrintable(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  const auto hex = [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                              : absl::ascii_tolower(c) - 'a' + 10;
  };
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '=' && i + 2 < value.size() &&
        absl::ascii_isxdigit(static_cast<unsigned char>(value[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(value[i + 2]))) {
      out.push_back(static_cast<char>(hex(value[i + 1]) * 16 + hex(value[i + 2])));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

// A text value's escapes undone: \n and \N are a newline; \, \; \\ the character.
std::string Unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      const char next = value[++i];
      out.push_back(next == 'n' || next == 'N' ? '\n' : next);
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

// `value` split at the ';' that no backslash escapes.
std::vector<std::string_view> SplitComponents(std::string_view value) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\') {
      ++i;
    } else if (value[i] == ';') {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(value.substr(start));
  return parts;
}

bool IsStructured(std::string_view name) { return name == "N" || name == "ADR" || name == "ORG"; }

bool IsBinary(std::string_view name) {
  return name == "PHOTO" || name == "LOGO" || name == "SOUND" || name == "KEY";
}

// Whether the logical line so far is a quoted-printable value ending in a soft line break.
bool EndsInSoftBreak(std::string_view line) {
  const size_t colon = FindUnquoted(line, ':');
  return colon != std::string_view::npos && line.ends_with('=') &&
         Upper(line.substr(0, colon)).find("QUOTED-PRINTABLE") != std::string::npos;
}

}  // namespace

absl::Status VCardReader::Failure(int64_t line, std::string_view what) {
  failed_ = true;
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", std::string(what)));
}

absl::Status VCardReader::Feed(std::string_view bytes, const CardFn& on_card) {
  if (failed_) return absl::FailedPreconditionError("the vCard reader failed before");
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(bytes);
      if (partial_.size() > kMaxLineBytes) {
        return Failure(lines_ + 1,
                       absl::StrCat("the line is longer than ", kMaxLineBytes, " bytes"));
      }
      return absl::OkStatus();
    }
    partial_.append(bytes.substr(0, newline));
    bytes.remove_prefix(newline + 1);
    std::string line = std::exchange(partial_, {});
    if (line.ends_with('\r')) line.pop_back();
    if (absl::Status status = TakeLine(line, on_card); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status VCardReader::Finish(const CardFn& on_card) {
  if (failed_) return absl::FailedPreconditionError("the vCard reader failed before");
  if (!partial_.empty()) {
    std::string line = std::exchange(partial_, {});
    if (line.ends_with('\r')) line.pop_back();
    if (absl::Status status = TakeLine(line, on_card); !status.ok()) return status;
  }
  if (!logical_.empty()) {
    if (absl::Status status = HandleLogicalLine(on_card); !status.ok()) return status;
  }
  if (in_card_) {
    return Failure(card_.line, absl::StrCat("card ", card_.number,
                                            " is not ended by END:VCARD before the end of the "
                                            "file"));
  }
  failed_ = true;  // nothing may follow the end
  return absl::OkStatus();
}

absl::Status VCardReader::TakeLine(std::string_view line, const CardFn& on_card) {
  ++lines_;
  const bool folded = !line.empty() && (line[0] == ' ' || line[0] == '\t');
  if (!logical_.empty() && (soft_break_ || folded)) {
    // A folded line's first space is the fold's; a soft break's line is taken whole.
    logical_.append(soft_break_ ? line : line.substr(1));
  } else {
    if (!logical_.empty()) {
      if (absl::Status status = HandleLogicalLine(on_card); !status.ok()) return status;
    }
    if (absl::StripAsciiWhitespace(A(line)).empty()) return absl::OkStatus();
    logical_ = std::string(line);
    logical_line_ = lines_;
  }
  if (logical_.size() > kMaxLineBytes) {
    return Failure(logical_line_,
                   absl::StrCat("the property is longer than ", kMaxLineBytes, " bytes"));
  }
  soft_break_ = EndsInSoftBreak(logical_);
  if (soft_break_) logical_.pop_back();
  return absl::OkStatus();
}

absl::Status VCardReader::HandleLogicalLine(const CardFn& on_card) {
  const std::string line = std::exchange(logical_, {});
  soft_break_ = false;
  const size_t colon = FindUnquoted(line, ':');
  if (colon == std::string::npos) return Failure(logical_line_, "a property without ':'");
  const std::string_view head = std::string_view(line).substr(0, colon);
  const std::string_view raw = std::string_view(line).substr(colon + 1);
  std::vector<std::string_view> params = SplitUnquoted(head, ';');
  std::string name = Upper(params.front());
  params.erase(params.begin());
  if (const size_t dot = name.rfind('.'); dot != std::string::npos) name.erase(0, dot + 1);

  if (name == "BEGIN" && absl::EqualsIgnoreCase(A(raw), "VCARD")) {
    if (in_card_) return Failure(logical_line_, "BEGIN:VCARD inside a card");
    in_card_ = true;
    card_ = VCard{
        .number = ++cards_, .line = logical_line_, .version = "", .properties = {}, .notes = {}};
    return absl::OkStatus();
  }
  if (!in_card_) return Failure(logical_line_, absl::StrCat(name, " outside a card"));
  if (name == "END" && absl::EqualsIgnoreCase(A(raw), "VCARD")) {
    in_card_ = false;
    VCard card = std::exchange(card_, VCard{});
    if (absl::Status status = on_card(card); !status.ok()) {
      failed_ = true;
      return status;
    }
    return absl::OkStatus();
  }

  VCardProperty property;
  property.name = name;
  std::string charset;
  bool quoted_printable = false;
  bool binary = IsBinary(name);
  for (std::string_view param : params) {
    const size_t equals = param.find('=');
    // vCard 2.1 writes a type alone: TEL;CELL;VOICE.
    const std::string key =
        Upper(equals == std::string_view::npos ? "TYPE" : param.substr(0, equals));
    std::string_view value = equals == std::string_view::npos ? param : param.substr(equals + 1);
    // vCard 4.0 may quote a parameter's value: TYPE="work,voice".
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "TYPE") {
      for (absl::string_view type : absl::StrSplit(A(value), ',')) {
        std::string lower = Lower(std::string_view(type.data(), type.size()));
        if (!lower.empty()) property.types.push_back(std::move(lower));
      }
    } else if (key == "PREF") {
      property.types.push_back("pref");
    } else if (key == "CHARSET") {
      charset = std::string(value);
    } else if (key == "ENCODING") {
      const std::string encoding = Upper(value);
      quoted_printable = encoding == "QUOTED-PRINTABLE";
      binary = binary || encoding == "B" || encoding == "BASE64";
    }
  }
  if (binary) {
    card_.notes.push_back(absl::StrCat(name, " ignored (binary data)"));
    return absl::OkStatus();
  }
  std::string bytes = quoted_printable ? DecodeQuotedPrintable(raw) : std::string(raw);
  std::string value;
  if (!charset.empty()) {
    absl::StatusOr<std::string> decoded = ToUtf8(bytes, charset);
    if (!decoded.ok()) {
      return Failure(logical_line_, absl::StrCat(name, ": ", decoded.status().message()));
    }
    value = *std::move(decoded);
  } else if (text::IsValidUtf8(bytes)) {
    value = std::move(bytes);
  } else {
    absl::StatusOr<std::string> decoded = ToUtf8(bytes, "GB18030");
    if (!decoded.ok()) {
      return Failure(logical_line_,
                     absl::StrCat(name, ": neither UTF-8 nor GB18030, and no CHARSET says what"));
    }
    value = *std::move(decoded);
  }
  if (name == "VERSION") card_.version = value;
  if (IsStructured(name)) {
    for (std::string_view component : SplitComponents(value)) {
      property.components.push_back(Unescape(component));
    }
  } else {
    property.components.push_back(Unescape(value));
  }
  card_.properties.push_back(std::move(property));
  return absl::OkStatus();
}

}  // namespace touchline::tabular
