// Full-text search for Chinese and English without a server-side Chinese parser: the
// application turns text into PostgreSQL tsvector/tsquery literals itself (used with the
// `simple` configuration, so the server never re-tokenises them).
//
// Tokens:
//  - A run of CJK characters (Han, Hiragana, Katakana, Hangul) becomes its overlapping
//    2-character tokens ("客户投诉" -> 客户 户投 投诉) plus the run's last character on its
//    own (诉). A 2-character word is then an exact index lookup, longer Chinese text a
//    phrase of bigrams, and a single character a prefix lookup (王:* matches 王X bigrams
//    and a run-final 王).
//  - A run of other letters and digits becomes one lower-case word (NFKC case folding, so
//    full-width ＡＢＣ and "ABC" both become "abc").
//  - Everything else (spaces, punctuation, 【】, emoji, apostrophes: "don't" is don + t)
//    separates tokens; so does a change between CJK and other letters: "客户说price" is
//    客户说 + price.
//  - Tokens are cut in the folded text, so the punctuation a compatibility form brings
//    separates too (㈦ is "(七)", so 七). Combining marks continue the run they follow;
//    invisible characters (soft hyphen, ZWJ) vanish, except that a zero width space
//    separates.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_SEARCH_TEXT_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_SEARCH_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "touchline/touchpoints/v1/touchpoints_service.pb.h"

namespace touchline::touchpoints {

// The tsvector literal (as PostgreSQL's tsvector input accepts it) of a touchpoint's text:
// subject tokens weighted A, summary B, content C. Positions run on across the three fields
// (so a phrase never spans two of them: each field starts at least 2 positions after the
// previous one ends); at most 16 positions are kept per lexeme and weight. Input must be
// valid UTF-8 (ill-formed bytes would count as separators). Deterministic; lexemes are
// sorted by bytes and the output is exactly PostgreSQL's canonical text form.
//
// Positions: a word takes one; a CJK run of n characters takes n (bigram i at p + i, the
// run-final character at p + n - 1), so the bigrams of a phrase are adjacent. Two unused
// positions separate fields. Positions past 16383 are clamped to it (as to_tsvector does),
// so phrases deep inside a long content no longer match there; single lexemes still do.
// Folded words over 256 bytes are not indexed (nor searchable), and past 960 KiB of lexeme
// text (PostgreSQL refuses 1 MiB) new lexemes are dropped.
std::string BuildSearchVector(std::string_view subject, std::string_view summary,
                              std::string_view content);

// A parsed search query.
struct SearchQuery {
  // The tsquery literal: the terms AND-ed; a CJK run of 2+ characters is a phrase of its
  // bigrams ('客户' <-> '户投' <-> '投诉'); a single CJK character is a prefix ('王':*);
  // a word is an exact lexeme.
  std::string tsquery;
  // The terms as the user meant them, folded like the index folds them ("客户投诉", "price"),
  // for highlighting. No duplicates, in query order.
  std::vector<std::string> terms;
};

// The lexeme in the vector of every touchpoint with concerns (objections, 【异议】), which no
// text yields ('#' separates words): the has_concerns filter is a lookup of the search index.
inline constexpr char kConcernsLexeme[] = "#concerns";

// The vector of a touchpoint as stored: subject (A), summary (B), then every item of needs,
// concerns and interests as a field of its own (D, which the text form leaves out), then
// content (C), and kConcernsLexeme when it has concerns. Otherwise as above.
std::string BuildSearchVector(const v1::Touchpoint& touchpoint);

// The fields the stored vector indexes, each with the weight of its tokens (several fields may
// share one: a query confined away from one of them is confined away from all).
struct SearchedField {
  const char* name;  // The Touchpoint field.
  char weight;       // 'A', 'B', 'C' or 'D'.
};
inline constexpr SearchedField kSearchedFields[] = {
    {"subject", 'A'}, {"summary", 'B'},  {"content", 'C'},
    {"needs", 'D'},   {"concerns", 'D'}, {"interests", 'D'}};

// Parses what a user typed. INVALID_ARGUMENT for field `field` when the query is not valid
// UTF-8, longer than 256 code points, or has no searchable term (only spaces/punctuation).
// At most 16 terms (after dropping duplicates); more -> INVALID_ARGUMENT. The descriptions
// (google.rpc.BadRequest): "must be valid UTF-8", "must be at most 256 characters",
// "must contain a word or Chinese character to search for", "must have at most 16 terms".
//
// `weights` (letters of kSearchedFields, in order, e.g. "AC") confines every lexeme of the
// tsquery to tokens of those weights ('投诉':AC, '王':*AC), so nothing matches through the
// other fields; empty means all fields.
absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view query, std::string field,
                                             std::string_view weights = {});

// Snippets of the fields that contain any of `query.terms`, subject first, then summary,
// then content; fields without a match are left out. Each snippet is a window of at most
// `max_chars` code points of the original text (not the folded one) around the first match,
// with "…" added at a cut end, and a HighlightRange (code point offsets into the snippet
// text) for every whole term occurrence inside the window. Matching is as the index
// matches: English case-insensitively on whole words, Chinese as substrings. Overlapping
// occurrences of different terms become one range; ranges are in order, clipped to the
// window. The window starts up to 20 characters (max_chars / 4 at most) before the first
// match, without cutting a word or starting on white space when it can; line breaks and
// other control characters become spaces. The "…" count toward max_chars (values below 8
// are taken as 8). Text that is not valid UTF-8 gives no snippet.
//
// `items` (needs, concerns, interests) follow content, each as a field named by its path.
struct ListItemText {
  std::string field;  // e.g. "concerns[0]"
  std::string_view text;
};
inline constexpr int kSnippetChars = 120;
std::vector<v1::Snippet> MakeSnippets(const SearchQuery& query, std::string_view subject,
                                      std::string_view summary, std::string_view content,
                                      int max_chars = kSnippetChars,
                                      const std::vector<ListItemText>& items = {});

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_SEARCH_TEXT_H_
