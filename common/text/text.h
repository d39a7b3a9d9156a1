// UTF-8 text primitives for user-entered data. Customer data is mostly Chinese, so limits
// count Unicode code points (characters), never bytes, and trimming knows CJK white space.
#ifndef TOUCHLINE_COMMON_TEXT_TEXT_H_
#define TOUCHLINE_COMMON_TEXT_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace touchline::text {

// Whether `text` is well-formed UTF-8 (Unicode 15, table 3-7): rejects overlong forms,
// UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes
// and truncated sequences. The empty string is valid.
bool IsValidUtf8(std::string_view text);

// Why `text` cannot be stored and compared as text: "must be valid UTF-8", or "must not
// contain NUL characters" (U+0000, which PostgreSQL text and jsonb cannot hold); nullptr when
// it can. The one check every request string goes through before anything else.
const char* EncodingProblem(std::string_view text);

// The number of code points in `text`. Precondition: IsValidUtf8(text).
size_t CodePointCount(std::string_view text);

// `text` without leading and trailing white space: the Unicode White_Space characters,
// which include ASCII space, tab and line breaks, U+00A0 (no-break space) and U+3000
// (ideographic space, what a Chinese input method types). Invalid UTF-8 at either end is
// left in place.
std::string TrimSpace(std::string_view text);

}  // namespace touchline::text

#endif  // TOUCHLINE_COMMON_TEXT_TEXT_H_
