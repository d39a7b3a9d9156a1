#include "common/text/text.h"

#include <cstdint>

#include "unicode/uchar.h"
#include "unicode/utf8.h"

namespace touchline::text {
namespace {

// Decodes the code point at text[*pos] and advances *pos past it; returns a negative value
// for an ill-formed sequence. ICU's U8_NEXT follows the Unicode well-formedness table, so
// overlongs, surrogates and values above U+10FFFF all come back negative.
UChar32 NextCodePoint(std::string_view text, int32_t* pos) {
  UChar32 c;
  U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), *pos, static_cast<int32_t>(text.size()),
          c);
  return c;
}

UChar32 PreviousCodePoint(std::string_view text, int32_t* pos) {
  UChar32 c;
  U8_PREV(reinterpret_cast<const uint8_t*>(text.data()), 0, *pos, c);
  return c;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  // int32_t offsets: ICU's macros take them; longer input is not text we accept anyway.
  if (text.size() > INT32_MAX) return false;
  int32_t pos = 0;
  while (pos < static_cast<int32_t>(text.size())) {
    if (NextCodePoint(text, &pos) < 0) return false;
  }
  return true;
}

const char* EncodingProblem(std::string_view text) {
  if (!IsValidUtf8(text)) return "must be valid UTF-8";
  if (text.find('\0') != std::string_view::npos) return "must not contain NUL characters";
  return nullptr;
}

size_t CodePointCount(std::string_view text) {
  size_t count = 0;
  for (char byte : text) {
    // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(byte) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string TrimSpace(std::string_view text) {
  if (text.size() > INT32_MAX) return std::string(text);
  const int32_t size = static_cast<int32_t>(text.size());
  int32_t begin = 0;
  while (begin < size) {
    int32_t next = begin;
    UChar32 c = NextCodePoint(text, &next);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    begin = next;
  }
  int32_t end = size;
  while (end > begin) {
    int32_t previous = end;
    UChar32 c = PreviousCodePoint(text, &previous);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    end = previous;
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace touchline::text
