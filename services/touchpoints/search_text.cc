#include "services/touchpoints/search_text.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status/errors.h"
#include "common/text/text.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/uscript.h"
#include "unicode/utf8.h"

namespace touchline::touchpoints {
namespace {

// PostgreSQL keeps 14 bits of position; larger ones are clamped to this, as to_tsvector does.
constexpr int kMaxPosition = 16383;
constexpr int kMaxPositionsPerWeight = 16;
// Unused positions between two fields, so that no phrase (<->) spans them.
constexpr int kFieldGap = 2;
// Folded words longer than this (base64 blobs, hashes) are neither indexed nor searched:
// nobody types them, and PostgreSQL rejects lexemes of 2 KiB or more outright.
constexpr size_t kMaxWordBytes = 256;
// PostgreSQL rejects a tsvector whose lexemes add up to 1 MiB; past this budget new lexemes
// are dropped (only reachable with pathological content).
constexpr size_t kMaxLexemeBytesTotal = 960 * 1024;
constexpr size_t kMaxQueryChars = 256;
constexpr size_t kMaxQueryTerms = 16;
// Snippets narrower than this would be mostly ellipsis.
constexpr int kMinSnippetChars = 8;
// How much text a snippet shows before its first match, at most.
constexpr int kSnippetLead = 20;
constexpr char kEllipsis[] = "\u2026";

const icu::Normalizer2& NfkcCasefold() {
  static const icu::Normalizer2* const normalizer = [] {
    UErrorCode error = U_ZERO_ERROR;
    const icu::Normalizer2* instance = icu::Normalizer2::getNFKCCasefoldInstance(error);
    // The data is built into libicu; without it every lexeme would be wrong.
    if (U_FAILURE(error) || instance == nullptr) std::abort();
    return instance;
  }();
  return *normalizer;
}

// ---------------------------------------------------------------------------------------
// Character classes and runs.

enum class CharClass {
  kSeparator,
  kWord,  // a letter or digit of a non-CJK script
  kCjk,   // a Han, Hiragana, Katakana or Hangul letter
  // A combining mark (or an invisible format character, though folding drops those):
  // continues the current run, separates nothing.
  kExtend,
};

bool IsCjkScript(UScriptCode script) {
  return script == USCRIPT_HAN || script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA ||
         script == USCRIPT_HANGUL;
}

bool HasCjkScript(UChar32 c) {
  UErrorCode error = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(c, &error);
  if (U_FAILURE(error)) return false;
  if (IsCjkScript(script)) return true;
  // Characters shared by scripts, e.g. the prolonged sound mark ー (Common; Hiragana and
  // Katakana by Script_Extensions).
  if (script == USCRIPT_COMMON || script == USCRIPT_INHERITED) {
    return uscript_hasScript(c, USCRIPT_HAN) || uscript_hasScript(c, USCRIPT_HIRAGANA) ||
           uscript_hasScript(c, USCRIPT_KATAKANA) || uscript_hasScript(c, USCRIPT_HANGUL);
  }
  return false;
}

// The class of a folded code point.
CharClass Classify(UChar32 c) {
  if (c < 0x80) {
    if (c < 0) return CharClass::kSeparator;  // ill-formed UTF-8
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return CharClass::kWord;
    }
    return CharClass::kSeparator;
  }
  // The common cases first: CJK Unified Ideographs and Hangul syllables.
  if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3)) return CharClass::kCjk;
  const uint32_t category = U_GET_GC_MASK(c);
  if ((category & (U_GC_L_MASK | U_GC_N_MASK)) != 0) {
    return HasCjkScript(c) ? CharClass::kCjk : CharClass::kWord;
  }
  if ((category & U_GC_M_MASK) != 0) return CharClass::kExtend;
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return CharClass::kExtend;
  return CharClass::kSeparator;
}

// A maximal stretch of word or CJK characters (plus the marks that follow them) of the
// folded text.
struct Run {
  bool cjk = false;
  // The original code points it comes from: [begin, end).
  size_t begin = 0;
  size_t end = 0;
  // Its folded code points, and for each the original code points [first, second) it comes
  // from (one, except for sequences that compose; ½ gives 1 and 2, both from the ½).
  std::vector<UChar32> folded;
  std::vector<std::pair<size_t, size_t>> sources;
};

// Whether normalising text[..i) and text[i..) separately gives the same as normalising the
// whole (no composition or reordering across i). ZERO WIDTH SPACE is made one, so that it
// can separate words (NFKC_Casefold drops it).
bool HasBoundaryBefore(UChar32 c) {
  if (c < 0x80 || (c >= 0x4E00 && c <= 0x9FFF) || c == 0x200B) return true;
  return NfkcCasefold().hasBoundaryBefore(c);
}

// Streams the NFKC_Casefold of decoded text, one normalisation segment at a time, so that
// each folded code point knows where it came from. Tokens are cut in the folded text: ＡＢＣ
// is a word like ABC, ㈦ is "(七)" and so 七.
class Folder {
 public:
  explicit Folder(const std::vector<UChar32>& cps) : cps_(cps) {}

  // The next folded code point and the original code points [begin, end) it comes from;
  // false at the end of the text.
  bool Next(UChar32& c, size_t& begin, size_t& end) {
    while (pending_index_ == pending_.size()) {
      if (!FoldSegment()) return false;
    }
    c = pending_[pending_index_++];
    begin = segment_begin_;
    end = segment_end_;
    return true;
  }

 private:
  // Folds the next segment into pending_; false at the end of the text.
  bool FoldSegment() {
    const size_t n = cps_.size();
    const size_t i = segment_end_;
    if (i >= n) return false;
    const UChar32 first = cps_[i];
    size_t j = i + 1;
    // (A zero width space stands alone: it separates words, whatever follows.)
    while (j < n && first != 0x200B && !HasBoundaryBefore(cps_[j])) ++j;
    segment_begin_ = i;
    segment_end_ = j;
    pending_.clear();
    pending_index_ = 0;
    if (j == i + 1) {
      if (first < 0x80) {  // ASCII, or negative for ill-formed UTF-8
        pending_.push_back(first >= 'A' && first <= 'Z' ? first + ('a' - 'A') : first);
        return true;
      }
      if (first >= 0xFF01 && first <= 0xFF5E) {  // full-width ASCII
        const UChar32 ascii = first - 0xFEE0;
        pending_.push_back(ascii >= 'A' && ascii <= 'Z' ? ascii + ('a' - 'A') : ascii);
        return true;
      }
      if (first == 0x200B) {
        pending_.push_back(' ');
        return true;
      }
      // Unified ideographs and (alone) Hangul syllables map to themselves.
      if ((first >= 0x4E00 && first <= 0x9FFF) || (first >= 0xAC00 && first <= 0xD7A3) ||
          NfkcCasefold().isInert(first)) {
        pending_.push_back(first);
        return true;
      }
    }
    icu::UnicodeString segment;
    for (size_t k = i; k < j; ++k) segment.append(cps_[k]);
    UErrorCode error = U_ZERO_ERROR;
    icu::UnicodeString folded = NfkcCasefold().normalize(segment, error);
    if (U_FAILURE(error)) folded = segment;
    for (int32_t k = 0; k < folded.length(); k = folded.moveIndex32(k, 1)) {
      pending_.push_back(folded.char32At(k));
    }
    return true;
  }

  const std::vector<UChar32>& cps_;
  size_t segment_begin_ = 0;
  size_t segment_end_ = 0;
  // The fold of cps_[segment_begin_, segment_end_), and how much of it Next returned.
  std::vector<UChar32> pending_;
  size_t pending_index_ = 0;
};

// Calls on_run(const Run&) for each run of the folded `cps`, in order, but not for runs that
// start at or after original index *stop_before (when given; on_run may lower it). `run` is
// scratch space.
template <typename OnRun>
void Tokenize(const std::vector<UChar32>& cps, Run& run, OnRun&& on_run,
              const size_t* stop_before = nullptr) {
  Folder folder(cps);
  run.folded.clear();
  run.sources.clear();
  CharClass run_class = CharClass::kSeparator;
  auto flush = [&] {
    if (run.folded.empty()) return;
    run.cjk = run_class == CharClass::kCjk;
    run.begin = run.sources.front().first;
    run.end = run.sources.back().second;
    on_run(static_cast<const Run&>(run));
    run.folded.clear();
    run.sources.clear();
  };
  UChar32 c;
  size_t begin;
  size_t end;
  while (folder.Next(c, begin, end)) {
    const CharClass cls = Classify(c);
    if (run.folded.empty() ? cls != CharClass::kSeparator && cls != CharClass::kExtend
                           : cls != run_class && cls != CharClass::kExtend) {
      // Starts a run, or ends one (and maybe starts the next).
      flush();
      if (cls == CharClass::kSeparator) continue;
      if (stop_before != nullptr && begin >= *stop_before) return;
      run_class = cls;
    } else if (run.folded.empty()) {
      continue;  // separators, and marks with nothing to attach to
    }
    run.folded.push_back(c);
    run.sources.emplace_back(begin, end);
  }
  flush();
}

// Decodes UTF-8 into code points; ill-formed sequences become negative values.
void Decode(std::string_view text, std::vector<UChar32>& cps) {
  cps.clear();
  // Text this long is rejected by validation long before it gets here.
  const int32_t size = static_cast<int32_t>(std::min<size_t>(text.size(), INT32_MAX));
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  cps.reserve(static_cast<size_t>(size));
  int32_t i = 0;
  while (i < size) {
    UChar32 c;
    U8_NEXT(bytes, i, size, c);
    cps.push_back(c);
  }
}

void AppendUtf8(std::string& out, UChar32 c) {
  if (c >= 0 && c < 0x80) {
    out.push_back(static_cast<char>(c));
    return;
  }
  char buffer[U8_MAX_LENGTH];
  int32_t length = 0;
  U8_APPEND_UNSAFE(buffer, length, c);
  out.append(buffer, static_cast<size_t>(length));
}

std::string ToUtf8(const UChar32* begin, const UChar32* end) {
  std::string out;
  for (const UChar32* c = begin; c != end; ++c) AppendUtf8(out, *c);
  return out;
}

// A lexeme as tsvector and tsquery input quote it: in single quotes, with a quote doubled
// and a backslash escaped by another.
void AppendQuoted(std::string& out, std::string_view lexeme) {
  out.push_back('\'');
  for (char ch : lexeme) {
    if (ch == '\'') {
      out.append("''");
    } else if (ch == '\\') {
      out.append("\\\\");
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('\'');
}

// ---------------------------------------------------------------------------------------
// The tsvector.

class VectorBuilder {
 public:
  // Adds the tokens of one field, with weight 0 (A), 1 (B), 2 (C) or 3 (D).
  void AddField(std::string_view text, int weight) {
    Decode(text, cps_);
    const int first = next_position_;
    Tokenize(cps_, run_, [&](const Run& run) {
      const std::vector<UChar32>& f = run.folded;
      if (f.empty()) return;  // e.g. a lone Hangul filler
      if (!run.cjk) {
        key_.clear();
        for (UChar32 c : f) AppendUtf8(key_, c);
        if (key_.size() <= kMaxWordBytes) AddWord(weight, next_position_);
        ++next_position_;
        return;
      }
      // Bigram i at p + i, the run's last character at p + n - 1: consecutive bigrams are
      // adjacent, so a longer query is a phrase of them.
      for (size_t i = 0; i + 1 < f.size(); ++i) {
        AddCjk(f[i], f[i + 1], weight, next_position_ + static_cast<int>(i));
      }
      AddCjk(f.back(), kNone, weight, next_position_ + static_cast<int>(f.size()) - 1);
      next_position_ += static_cast<int>(f.size());
    });
    if (next_position_ != first) next_position_ += kFieldGap;
  }

  // Adds `lexeme`, which no text yields, with weight D after the text: a facet to filter by.
  void AddMarker(std::string_view lexeme) {
    key_ = lexeme;
    AddWord(3, next_position_++);
  }

  std::string Finish() const {
    std::vector<std::pair<std::string, const Entry*>> sorted;
    sorted.reserve(words_.size() + cjk_.size());
    for (const auto& [word, entry] : words_) sorted.emplace_back(word, &entry);
    for (const auto& [key, entry] : cjk_) {
      std::string lexeme;
      AppendUtf8(lexeme, static_cast<UChar32>(key >> 32));
      if (static_cast<UChar32>(key & 0xFFFFFFFF) != kNone) {
        AppendUtf8(lexeme, static_cast<UChar32>(key & 0xFFFFFFFF));
      }
      sorted.emplace_back(std::move(lexeme), &entry);
    }
    // Byte order, as PostgreSQL sorts lexemes. A word and a CJK lexeme never coincide: they
    // start with a word and a CJK character respectively.
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    out.reserve(lexeme_bytes_ + sorted.size() * 12);
    for (const auto& [lexeme, entry] : sorted) {
      if (!out.empty()) out.push_back(' ');
      AppendQuoted(out, lexeme);
      char separator = ':';
      for (uint16_t packed : entry->positions) {
        out.push_back(separator);
        separator = ',';
        out.append(std::to_string(packed & 0x3FFF));
        // D is the default weight, which PostgreSQL's canonical form leaves out.
        if ((packed >> 14) != 3) out.push_back(static_cast<char>('A' + (packed >> 14)));
      }
    }
    return out;
  }

 private:
  // Not a code point: the second half of a run-final character's key.
  static constexpr UChar32 kNone = 0x7FFFFFFF;

  struct Entry {
    // Weight (0 = A) in the top 2 bits, position below, in ascending position order.
    std::vector<uint16_t> positions;
    uint8_t count[4] = {0, 0, 0, 0};
  };

  static uint16_t Pack(int weight, int position) {
    return static_cast<uint16_t>((weight << 14) | std::min(position, kMaxPosition));
  }

  // Adds the word in key_ at `position`.
  void AddWord(int weight, int position) {
    auto it = words_.find(key_);
    if (it == words_.end()) {
      if (lexeme_bytes_ + key_.size() > kMaxLexemeBytesTotal) return;
      lexeme_bytes_ += key_.size();
      it = words_.emplace(key_, Entry()).first;
    }
    Record(it->second, weight, position);
  }

  // Adds the bigram ab (or, with b == kNone, the character a) at `position`.
  void AddCjk(UChar32 a, UChar32 b, int weight, int position) {
    const uint64_t key = (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
    auto it = cjk_.find(key);
    if (it == cjk_.end()) {
      const size_t bytes = U8_LENGTH(a) + (b == kNone ? 0 : U8_LENGTH(b));
      if (lexeme_bytes_ + bytes > kMaxLexemeBytesTotal) return;
      lexeme_bytes_ += bytes;
      it = cjk_.emplace(key, Entry()).first;
    }
    Record(it->second, weight, position);
  }

  static void Record(Entry& entry, int weight, int position) {
    if (entry.count[weight] >= kMaxPositionsPerWeight) return;
    const uint16_t packed = Pack(weight, position);
    // Past the last position everything lands on it; keep it once.
    if (!entry.positions.empty() && (entry.positions.back() & 0x3FFF) == (packed & 0x3FFF)) {
      return;
    }
    entry.positions.push_back(packed);
    ++entry.count[weight];
  }

  std::unordered_map<std::string, Entry> words_;
  // CJK lexemes by their code points, which is much cheaper than by their UTF-8.
  std::unordered_map<uint64_t, Entry> cjk_;
  size_t lexeme_bytes_ = 0;
  int next_position_ = 1;
  std::vector<UChar32> cps_;
  Run run_;
  std::string key_;
};

// ---------------------------------------------------------------------------------------
// Snippets.

struct Term {
  bool cjk = false;
  std::vector<UChar32> cps;
};

std::vector<Term> SnippetTerms(const std::vector<std::string>& terms) {
  std::vector<Term> out;
  for (const std::string& term : terms) {
    if (!text::IsValidUtf8(term)) continue;
    Term t;
    Decode(term, t.cps);
    if (t.cps.empty()) continue;
    t.cjk = Classify(t.cps.front()) == CharClass::kCjk;
    out.push_back(std::move(t));
  }
  return out;
}

bool IsControlForSnippet(UChar32 c) {
  // Line breaks, tabs and other controls, and the line/paragraph separators.
  const uint32_t category = U_GET_GC_MASK(c);
  return (category & (U_GC_CC_MASK | U_GC_ZL_MASK | U_GC_ZP_MASK)) != 0;
}

std::optional<v1::Snippet> MakeSnippet(const std::vector<Term>& terms, std::string_view field,
                                       std::string_view text, int max_chars) {
  if (text.empty() || !text::IsValidUtf8(text)) return std::nullopt;
  std::vector<UChar32> cps;
  Decode(text, cps);

  // Matches as [begin, end) code point ranges of the original text, and the word runs (so
  // the window does not cut words when it can help it).
  std::vector<std::pair<size_t, size_t>> matches;
  std::vector<std::pair<size_t, size_t>> words;
  const size_t limit = static_cast<size_t>(std::max(max_chars, kMinSnippetChars));
  // Runs a window's width past the first match cannot be in the snippet: not even looked at.
  size_t stop_before = SIZE_MAX;
  Run scratch;
  auto on_run = [&](const Run& run) {
    if (!run.cjk) words.emplace_back(run.begin, run.end);
    for (const Term& term : terms) {
      if (term.cjk != run.cjk) continue;
      if (!run.cjk) {
        if (run.folded == term.cps) matches.emplace_back(run.begin, run.end);
        continue;
      }
      const size_t m = term.cps.size();
      if (m > run.folded.size()) continue;
      for (size_t k = 0; k + m <= run.folded.size(); ++k) {
        if (std::equal(term.cps.begin(), term.cps.end(), run.folded.begin() + k)) {
          matches.emplace_back(run.sources[k].first, run.sources[k + m - 1].second);
        }
      }
    }
    if (!matches.empty() && stop_before == SIZE_MAX) {
      size_t first = SIZE_MAX;
      for (const auto& match : matches) first = std::min(first, match.first);
      stop_before = first + limit;
    }
  };
  Tokenize(cps, scratch, on_run, &stop_before);
  if (matches.empty()) return std::nullopt;

  // Overlapping occurrences of different terms (客户投诉 and 投诉) become one range.
  std::sort(matches.begin(), matches.end());
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& match : matches) {
    if (!merged.empty() && match.first < merged.back().second) {
      merged.back().second = std::max(merged.back().second, match.second);
    } else {
      merged.push_back(match);
    }
  }

  const size_t n = cps.size();
  const size_t first_begin = merged.front().first;
  const size_t first_end = merged.front().second;
  // The word run containing position p strictly inside it (begin < p < end), if any.
  auto word_around = [&words](size_t p) -> const std::pair<size_t, size_t>* {
    auto it = std::upper_bound(words.begin(), words.end(), std::make_pair(p, SIZE_MAX));
    if (it == words.begin()) return nullptr;
    --it;
    return it->first < p && p < it->second ? &*it : nullptr;
  };
  size_t start = 0;
  size_t end = n;
  if (n > limit) {
    // Up to kSnippetLead characters before the first match; then the rest, filled from the
    // end when the text ends before the window does.
    const size_t lead = std::min<size_t>(kSnippetLead, limit / 4);
    start = first_begin > lead ? first_begin - lead : 0;
    if (start > 0 && n - start < limit - 1) start = n - (limit - 1);
    if (start > 0) {
      // Do not start inside a word, nor on white space.
      if (const auto* word = word_around(start); word != nullptr && word->second <= first_begin) {
        start = word->second;
      }
      while (start < first_begin && u_isUWhiteSpace(cps[start])) ++start;
    }
    const size_t budget = limit - (start > 0 ? 1 : 0);
    if (n - start > budget) {
      end = start + budget - 1;  // room for the trailing "…"
      if (const auto* word = word_around(end); word != nullptr && word->first >= first_end) {
        end = word->first;
      }
      while (end > first_end && u_isUWhiteSpace(cps[end - 1])) --end;
    }
  }

  v1::Snippet snippet;
  snippet.set_field(std::string(field));
  std::string& out = *snippet.mutable_text();
  const int32_t shift = start > 0 ? 1 : 0;
  if (start > 0) out.append(kEllipsis);
  for (size_t k = start; k < end; ++k) AppendUtf8(out, IsControlForSnippet(cps[k]) ? ' ' : cps[k]);
  if (end < n) out.append(kEllipsis);
  for (const auto& [begin, stop] : merged) {
    const size_t b = std::max(begin, start);
    const size_t e = std::min(stop, end);
    if (b >= e) continue;
    v1::HighlightRange* range = snippet.add_highlights();
    range->set_start(static_cast<int32_t>(b - start) + shift);
    range->set_end(static_cast<int32_t>(e - start) + shift);
  }
  return snippet;
}

}  // namespace

std::string BuildSearchVector(std::string_view subject, std::string_view summary,
                              std::string_view content) {
  VectorBuilder builder;
  builder.AddField(subject, 0);
  builder.AddField(summary, 1);
  builder.AddField(content, 2);
  return builder.Finish();
}

std::string BuildSearchVector(const v1::Touchpoint& touchpoint) {
  VectorBuilder builder;
  builder.AddField(touchpoint.subject(), 0);
  builder.AddField(touchpoint.summary(), 1);
  // Before the content, whose positions may reach the clamp: each item is a field of its own.
  for (const auto* items : {&touchpoint.needs(), &touchpoint.concerns(), &touchpoint.interests()}) {
    for (const std::string& item : *items) builder.AddField(item, 3);
  }
  builder.AddField(touchpoint.content(), 2);
  if (!touchpoint.concerns().empty()) builder.AddMarker(kConcernsLexeme);
  return builder.Finish();
}

absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view query, std::string field,
                                             std::string_view weights) {
  if (const char* problem = text::EncodingProblem(query)) {
    return status::InvalidArgument(std::move(field), problem);
  }
  if (text::CodePointCount(query) > kMaxQueryChars) {
    return status::InvalidArgument(std::move(field), "must be at most 256 characters");
  }
  std::vector<UChar32> cps;
  Decode(query, cps);
  SearchQuery result;
  std::vector<std::string> expressions;
  // A lexeme, as a prefix or not, confined to `weights`.
  const auto append_lexeme = [weights](std::string& out, std::string_view lexeme, bool prefix) {
    AppendQuoted(out, lexeme);
    if (!prefix && weights.empty()) return;
    out.push_back(':');
    if (prefix) out.push_back('*');
    out.append(weights);
  };
  Run scratch;
  Tokenize(cps, scratch, [&](const Run& run) {
    const std::vector<UChar32>& f = run.folded;
    if (f.empty()) return;
    std::string term = ToUtf8(f.data(), f.data() + f.size());
    if (!run.cjk && term.size() > kMaxWordBytes) return;  // not indexed either
    if (std::find(result.terms.begin(), result.terms.end(), term) != result.terms.end()) return;
    std::string expression;
    if (!run.cjk || f.size() == 2) {
      append_lexeme(expression, term, false);
    } else if (f.size() == 1) {
      // A run-final unigram or the first half of a bigram.
      append_lexeme(expression, term, true);
    } else {
      expression.push_back('(');
      for (size_t i = 0; i + 1 < f.size(); ++i) {
        if (i > 0) expression.append(" <-> ");
        append_lexeme(expression, ToUtf8(&f[i], &f[i] + 2), false);
      }
      expression.push_back(')');
    }
    result.terms.push_back(std::move(term));
    expressions.push_back(std::move(expression));
  });
  if (result.terms.empty()) {
    return status::InvalidArgument(std::move(field),
                                   "must contain a word or Chinese character to search for");
  }
  if (result.terms.size() > kMaxQueryTerms) {
    return status::InvalidArgument(std::move(field), "must have at most 16 terms");
  }
  for (size_t i = 0; i < expressions.size(); ++i) {
    if (i > 0) result.tsquery.append(" & ");
    result.tsquery.append(expressions[i]);
  }
  return result;
}

std::vector<v1::Snippet> MakeSnippets(const SearchQuery& query, std::string_view subject,
                                      std::string_view summary, std::string_view content,
                                      int max_chars, const std::vector<ListItemText>& items) {
  std::vector<v1::Snippet> snippets;
  const std::vector<Term> terms = SnippetTerms(query.terms);
  if (terms.empty()) return snippets;
  const std::pair<std::string_view, std::string_view> fields[] = {
      {"subject", subject}, {"summary", summary}, {"content", content}};
  for (const auto& [name, text] : fields) {
    if (auto snippet = MakeSnippet(terms, name, text, max_chars)) {
      snippets.push_back(std::move(*snippet));
    }
  }
  for (const ListItemText& item : items) {
    if (auto snippet = MakeSnippet(terms, item.field, item.text, max_chars)) {
      snippets.push_back(std::move(*snippet));
    }
  }
  return snippets;
}

}  // namespace touchline::touchpoints
