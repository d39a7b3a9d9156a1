#include "services/touchpoints/search_text.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

// The lexemes of a tsvector literal, mapped to their position lists ("1A,2A"). Understands
// the quoting BuildSearchVector produces ('' and \ escapes); fails the test on anything else.
std::map<std::string, std::string> Lexemes(const std::string& vector) {
  std::map<std::string, std::string> lexemes;
  size_t i = 0;
  while (i < vector.size()) {
    if (vector[i] != '\'') {
      ADD_FAILURE() << "expected a quote at " << i << " in " << vector;
      return lexemes;
    }
    std::string lexeme;
    for (++i; i < vector.size(); ++i) {
      if (vector[i] == '\\' && i + 1 < vector.size()) {
        lexeme.push_back(vector[++i]);
      } else if (vector[i] == '\'' && i + 1 < vector.size() && vector[i + 1] == '\'') {
        lexeme.push_back('\'');
        ++i;
      } else if (vector[i] == '\'') {
        break;
      } else {
        lexeme.push_back(vector[i]);
      }
    }
    ++i;  // closing quote
    std::string positions;
    if (i < vector.size() && vector[i] == ':') {
      const size_t end = vector.find(' ', i);
      positions = vector.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      i = end == std::string::npos ? vector.size() : end;
    }
    EXPECT_TRUE(lexemes.emplace(lexeme, positions).second) << "duplicate lexeme " << lexeme;
    if (i < vector.size()) {
      EXPECT_EQ(vector[i], ' ');
      ++i;
    }
  }
  return lexemes;
}

std::vector<std::string> Keys(const std::map<std::string, std::string>& lexemes) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : lexemes) keys.push_back(key);
  return keys;
}

std::string Repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// ---------------------------------------------------------------------------------------
// BuildSearchVector

TEST(BuildSearchVectorTest, ChineseRunBecomesBigramsPlusRunFinalCharacter) {
  EXPECT_EQ(BuildSearchVector("客户投诉", "", ""), "'客户':1A '户投':2A '投诉':3A '诉':4A");
}

TEST(BuildSearchVectorTest, TwoCharacterWordIsOneBigram) {
  EXPECT_EQ(BuildSearchVector("投诉", "", ""), "'投诉':1A '诉':2A");
  EXPECT_EQ(BuildSearchVector("王", "", ""), "'王':1A");
}

TEST(BuildSearchVectorTest, EmptyTextGivesEmptyVector) {
  EXPECT_EQ(BuildSearchVector("", "", ""), "");
  EXPECT_EQ(BuildSearchVector("  ，。！", "【】", "😀 --- \n"), "");
}

TEST(BuildSearchVectorTest, MixedChineseAndEnglishSplitAtScriptChanges) {
  EXPECT_THAT(Lexemes(BuildSearchVector("", "", "客户说price太高, 要求discount")),
              ElementsAre(Pair("discount", "9C"), Pair("price", "4C"), Pair("太高", "5C"),
                          Pair("客户", "1C"), Pair("户说", "2C"), Pair("求", "8C"),
                          Pair("要求", "7C"), Pair("说", "3C"), Pair("高", "6C")));
}

TEST(BuildSearchVectorTest, FullWidthLettersAndDigitsFoldToAscii) {
  EXPECT_EQ(BuildSearchVector("ＡＢＣ", "", ""), "'abc':1A");
  EXPECT_EQ(BuildSearchVector("ＡＢＣ１２３ abc123", "", ""), "'abc123':1A,2A");
}

TEST(BuildSearchVectorTest, CaseFolds) {
  EXPECT_EQ(BuildSearchVector("Price PRICE price", "", ""), "'price':1A,2A,3A");
  // Beyond ASCII too: German sharp s folds to "ss", Greek final sigma to sigma.
  EXPECT_EQ(BuildSearchVector("STRASSE straße", "", ""), "'strasse':1A,2A");
  EXPECT_EQ(BuildSearchVector("ΛΌΓΟΣ λόγος", "", ""), "'λόγοσ':1A,2A");
}

TEST(BuildSearchVectorTest, DecomposedAndPrecomposedAccentsAgree) {
  EXPECT_EQ(BuildSearchVector("Caf\u00E9 cafe\u0301", "", ""), "'caf\u00E9':1A,2A");
}

TEST(BuildSearchVectorTest, CutsTheFoldedText) {
  // ㈦ folds to "(七)", ½ to "1⁄2": the punctuation they bring separates.
  EXPECT_EQ(BuildSearchVector("㈦号", "", ""), "'七':1A '号':2A");
  EXPECT_EQ(BuildSearchVector("½", "", ""), "'1':1A '2':2A");
  // Invisible characters: a soft hyphen vanishes, a zero width space separates.
  EXPECT_EQ(BuildSearchVector("co\u00ADoperate", "", ""), "'cooperate':1A");
  EXPECT_EQ(BuildSearchVector("foo\u200Bbar", "", ""), "'bar':2A 'foo':1A");
  // A variation selector after a character and a combining mark after a separator vanish.
  EXPECT_EQ(BuildSearchVector("葛\U000E0100城 \u0301x", "", ""), "'x':3A '城':2A '葛城':1A");
}

TEST(BuildSearchVectorTest, ChinesePunctuationAndEmojiSeparate) {
  EXPECT_THAT(Keys(Lexemes(BuildSearchVector("【异议】处理", "", ""))),
              ElementsAre("处理", "异议", "理", "议"));
  EXPECT_EQ(Lexemes(BuildSearchVector("【异议】处理", "", ""))["处理"], "3A");
  EXPECT_THAT(Keys(Lexemes(BuildSearchVector("你好，世界。再见！「是」、对；吗：", "", ""))),
              ElementsAre("世界", "你好", "再见", "吗", "好", "对", "是", "界", "见"));
  // An emoji (a surrogate pair in UTF-16) between two characters: no bigram across it.
  EXPECT_EQ(BuildSearchVector("好😀人", "", ""), "'人':2A '好':1A");
}

TEST(BuildSearchVectorTest, JapaneseAndKoreanAreCjk) {
  EXPECT_THAT(Keys(Lexemes(BuildSearchVector("スーパー", "", ""))),
              ElementsAre("スー", "パー", "ー", "ーパ"));
  EXPECT_THAT(Keys(Lexemes(BuildSearchVector("한국어", "", ""))),
              ElementsAre("국어", "어", "한국"));
  // Half-width katakana with a separate voiced sound mark folds to the composed form.
  EXPECT_EQ(BuildSearchVector("ｶﾞｲﾄﾞ", "", ""), BuildSearchVector("ガイド", "", ""));
  // A compatibility ideograph folds to the unified one.
  EXPECT_EQ(BuildSearchVector("\uF900", "", ""), "'\u8C48':1A");
}

TEST(BuildSearchVectorTest, WeightsAndGapBetweenFields) {
  // subject 1-2 (A), summary from 5 (B), content from 8 (C): two unused positions between
  // fields, so no phrase spans two of them.
  EXPECT_EQ(BuildSearchVector("报价", "price", "客户"),
            "'price':5B '价':2A '客户':8C '户':9C '报价':1A");
  // An empty field takes no positions.
  EXPECT_EQ(BuildSearchVector("", "price", "price"), "'price':1B,4C");
  EXPECT_EQ(BuildSearchVector("price", "，", "price"), "'price':1A,4C");
}

TEST(BuildSearchVectorTest, ListItemsAreFieldsOfWeightDBeforeTheContent) {
  v1::Touchpoint t;
  t.set_subject("报价");
  t.add_needs("price");
  t.add_concerns("太贵");
  t.add_interests("price");
  t.set_content("ok");
  // subject 1-2, needs 5, concerns 8-9, interests 12, content 15; D is written without its
  // letter, as PostgreSQL writes it; the concerns marker after everything.
  EXPECT_EQ(BuildSearchVector(t),
            "'#concerns':18 'ok':15C 'price':5,12 '价':2A '太贵':8 '报价':1A '贵':9");
  t.clear_concerns();
  EXPECT_EQ(BuildSearchVector(t), "'ok':11C 'price':5,8 '价':2A '报价':1A");
}

TEST(BuildSearchVectorTest, KeepsAtMost16PositionsPerLexemeAndWeight) {
  const std::string twenty = Repeat("deal ", 20);
  const std::map<std::string, std::string> lexemes = Lexemes(BuildSearchVector(twenty, "", twenty));
  EXPECT_EQ(lexemes.at("deal"),
            "1A,2A,3A,4A,5A,6A,7A,8A,9A,10A,11A,12A,13A,14A,15A,16A,"
            "23C,24C,25C,26C,27C,28C,29C,30C,31C,32C,33C,34C,35C,36C,37C,38C");
}

TEST(BuildSearchVectorTest, ClampsPositionsTo16383) {
  // 20,000 distinct words: those past position 16383 are kept, at 16383.
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "w" + std::to_string(i) + " ";
  content += "客户投诉";
  const std::map<std::string, std::string> lexemes = Lexemes(BuildSearchVector("", "", content));
  EXPECT_EQ(lexemes.at("w0"), "1C");
  EXPECT_EQ(lexemes.at("w16382"), "16383C");
  EXPECT_EQ(lexemes.at("w19999"), "16383C");
  EXPECT_EQ(lexemes.at("客户"), "16383C");
  EXPECT_EQ(lexemes.at("诉"), "16383C");
  // And a lexeme seen repeatedly out there is listed once at 16383.
  const std::map<std::string, std::string> repeated =
      Lexemes(BuildSearchVector("", "", Repeat("x ", 16390) + "y y y"));
  EXPECT_EQ(repeated.at("y"), "16383C");
}

TEST(BuildSearchVectorTest, QuotesAndBackslashesSeparateWords) {
  // No letter folds to a quote or a backslash, so lexemes never need escaping in practice;
  // the quoting is still applied (see the parser in Lexemes()).
  EXPECT_EQ(BuildSearchVector("O'Brien's don't", "", ""),
            "'brien':2A 'don':4A 'o':1A 's':3A 't':5A");
  EXPECT_EQ(BuildSearchVector("C:\\path\\to", "", ""), "'c':1A 'path':2A 'to':3A");
  EXPECT_EQ(BuildSearchVector("\"quoted\" ‘curly’ ＇", "", ""), "'curly':2A 'quoted':1A");
}

TEST(BuildSearchVectorTest, VeryLongWordsAreNotIndexed) {
  const std::string blob = Repeat("QUJD", 100);  // 400 letters, e.g. base64
  EXPECT_EQ(BuildSearchVector(blob + " ok", "", ""), "'ok':2A");
}

TEST(BuildSearchVectorTest, IsDeterministicAndSorted) {
  const std::string text = "张三 李四 王五 Zhang San, 2024年3月 订单#A-17 客户投诉处理";
  const std::string vector = BuildSearchVector(text, text, text);
  EXPECT_EQ(vector, BuildSearchVector(text, text, text));
  const std::vector<std::string> keys = Keys(Lexemes(vector));
  std::vector<std::string> in_output_order;
  for (size_t i = 0; i < vector.size();) {
    const size_t end = vector.find('\'', i + 1);
    in_output_order.push_back(vector.substr(i + 1, end - i - 1));
    i = vector.find(' ', end);
    if (i == std::string::npos) break;
    ++i;
  }
  EXPECT_EQ(in_output_order, keys);
}

// ---------------------------------------------------------------------------------------
// ParseSearchQuery

TEST(ParseSearchQueryTest, LongerChineseIsAPhraseOfBigrams) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("客户投诉", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "('客户' <-> '户投' <-> '投诉')");
  EXPECT_THAT(query->terms, ElementsAre("客户投诉"));
}

TEST(ParseSearchQueryTest, TwoChineseCharactersAreOneLexeme) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("投诉", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'投诉'");
  EXPECT_THAT(query->terms, ElementsAre("投诉"));
}

TEST(ParseSearchQueryTest, OneChineseCharacterIsAPrefix) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery(" 王 ", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'王':*");
  EXPECT_THAT(query->terms, ElementsAre("王"));
}

TEST(ParseSearchQueryTest, TermsAreAndedAndFoldedLikeTheIndex) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("王，客户投诉 PRICE ＡＢＣ", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'王':* & ('客户' <-> '户投' <-> '投诉') & 'price' & 'abc'");
  EXPECT_THAT(query->terms, ElementsAre("王", "客户投诉", "price", "abc"));
}

TEST(ParseSearchQueryTest, WeightsConfineEveryLexemePrefixesAndPhrasesIncluded) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("王，客户投诉 PRICE 投诉", "query", "AB");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery,
            "'王':*AB & ('客户':AB <-> '户投':AB <-> '投诉':AB) & 'price':AB & '投诉':AB");
  EXPECT_THAT(query->terms, ElementsAre("王", "客户投诉", "price", "投诉"));
}

TEST(ParseSearchQueryTest, ChineseNextToLatinIsTwoTerms) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("客户price", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'客户' & 'price'");
  EXPECT_THAT(query->terms, ElementsAre("客户", "price"));
}

TEST(ParseSearchQueryTest, ApostrophesSplitAsInTheIndex) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery("don't", "query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'don' & 't'");
}

TEST(ParseSearchQueryTest, DuplicateTermsAreDropped) {
  absl::StatusOr<SearchQuery> query =
      ParseSearchQuery("price 客户 Price PRICE 客户 ｐｒｉｃｅ", "q");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->tsquery, "'price' & '客户'");
  EXPECT_THAT(query->terms, ElementsAre("price", "客户"));
}

void ExpectInvalid(const absl::StatusOr<SearchQuery>& query, const std::string& description) {
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(query.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status::FieldViolationsOf(query.status()),
              ElementsAre(Pair("request.query", description)));
}

TEST(ParseSearchQueryTest, RejectsInvalidUtf8) {
  ExpectInvalid(ParseSearchQuery("客户\xFF", "request.query"), "must be valid UTF-8");
  ExpectInvalid(ParseSearchQuery("\xED\xA0\x80", "request.query"), "must be valid UTF-8");
}

TEST(ParseSearchQueryTest, RejectsMoreThan256Characters) {
  EXPECT_TRUE(ParseSearchQuery(Repeat("客", 256), "request.query").ok());
  ExpectInvalid(ParseSearchQuery(Repeat("客", 257), "request.query"),
                "must be at most 256 characters");
  ExpectInvalid(ParseSearchQuery(Repeat(" ", 300), "request.query"),
                "must be at most 256 characters");
}

TEST(ParseSearchQueryTest, RejectsQueriesWithoutTerms) {
  for (const char* text : {"", "   ", "，。！？【】", "😀 👍", "' \\ \"", "\u3000"}) {
    ExpectInvalid(ParseSearchQuery(text, "request.query"),
                  "must contain a word or Chinese character to search for");
  }
}

TEST(ParseSearchQueryTest, RejectsMoreThan16Terms) {
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += "w" + std::to_string(i) + " ";
  absl::StatusOr<SearchQuery> query = ParseSearchQuery(sixteen, "request.query");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_THAT(query->terms, SizeIs(16));
  // Duplicates do not count.
  EXPECT_TRUE(ParseSearchQuery(sixteen + "w0 W1 ｗ２", "request.query").ok());
  ExpectInvalid(ParseSearchQuery(sixteen + "w16", "request.query"), "must have at most 16 terms");
  ExpectInvalid(ParseSearchQuery(sixteen + "客", "request.query"), "must have at most 16 terms");
}

// ---------------------------------------------------------------------------------------
// MakeSnippets

SearchQuery Query(const std::string& text) {
  absl::StatusOr<SearchQuery> query = ParseSearchQuery(text, "query");
  EXPECT_TRUE(query.ok()) << query.status();
  return query.ok() ? *query : SearchQuery();
}

std::vector<std::pair<int, int>> Highlights(const v1::Snippet& snippet) {
  std::vector<std::pair<int, int>> ranges;
  for (const v1::HighlightRange& range : snippet.highlights()) {
    ranges.emplace_back(range.start(), range.end());
  }
  return ranges;
}

// The code points [start, end) of UTF-8 `text`.
std::string CodePoints(const std::string& text, int start, int end) {
  std::string out;
  int index = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++index;
    if (index >= start && index < end) out.push_back(text[i]);
  }
  return out;
}

int CodePointLength(const std::string& text) {
  int count = 0;
  for (char ch : text) count += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return count;
}

TEST(MakeSnippetsTest, HighlightsChineseSubstrings) {
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("投诉"), "", "", "昨天客户投诉了物流问题，再次投诉");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].field(), "content");
  EXPECT_EQ(snippets[0].text(), "昨天客户投诉了物流问题，再次投诉");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(4, 6), Pair(14, 16)));
}

TEST(MakeSnippetsTest, HighlightsEnglishWholeWordsInAnyCase) {
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("price"), "The PRICE is high; Price matters. Prices, ＰＲＩＣＥ", "", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].field(), "subject");
  // "Prices" is another word; full-width ＰＲＩＣＥ is the same word.
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(4, 9), Pair(19, 24), Pair(42, 47)));
}

TEST(MakeSnippetsTest, SingleCharacterMatchesEverywhereInChinese) {
  const std::vector<v1::Snippet> snippets = MakeSnippets(Query("王"), "老王和王经理", "", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(1, 2), Pair(3, 4)));
}

TEST(MakeSnippetsTest, OffsetsCountCodePointsNotUtf16OrBytes) {
  // Two emoji (two UTF-16 units and four bytes each) and a CJK Extension B character.
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("客户投诉 deal"), "", "😀😀𠀀客户投诉 👍 DEAL", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].field(), "summary");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(3, 7), Pair(10, 14)));
  EXPECT_EQ(CodePoints(snippets[0].text(), 3, 7), "客户投诉");
  EXPECT_EQ(CodePoints(snippets[0].text(), 10, 14), "DEAL");
}

TEST(MakeSnippetsTest, OffsetsReferToTheOriginalNotTheFoldedText) {
  // ｶﾞ is two code points folding to one (ガ); ﬁ one folding to two.
  std::vector<v1::Snippet> snippets = MakeSnippets(Query("ガイド"), "说明ｶﾞｲﾄﾞ看", "", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(2, 7)));
  snippets = MakeSnippets(Query("file"), "", "", "the ﬁle, the FILE");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(4, 7), Pair(13, 17)));
}

TEST(MakeSnippetsTest, HighlightsTheOriginalOfAFoldedMatch) {
  std::vector<v1::Snippet> snippets = MakeSnippets(Query("七"), "第㈦条", "", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].text(), "第㈦条");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(1, 2)));
  snippets = MakeSnippets(Query("cooperate"), "", "to co\u00ADoperate", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(3, 13)));
}

TEST(MakeSnippetsTest, OverlappingMatchesMerge) {
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("客户投诉 投诉 客户"), "客户投诉，客户", "", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(0, 4), Pair(5, 7)));
}

TEST(MakeSnippetsTest, FieldsWithoutMatchAreLeftOutAndOrderIsFixed) {
  const SearchQuery query = Query("报价");
  EXPECT_THAT(MakeSnippets(query, "电话回访", "没有", "无"), IsEmpty());
  std::vector<v1::Snippet> snippets = MakeSnippets(query, "报价单", "无关", "重新报价");
  ASSERT_THAT(snippets, SizeIs(2));
  EXPECT_EQ(snippets[0].field(), "subject");
  EXPECT_EQ(snippets[1].field(), "content");
  snippets = MakeSnippets(query, "", "报价", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].field(), "summary");
  // A query's word does not match inside a longer word, nor Chinese inside Latin words.
  EXPECT_THAT(MakeSnippets(Query("price"), "prices", "repricing", "priceless"), IsEmpty());
}

TEST(MakeSnippetsTest, LongTextIsCutAroundTheFirstMatchWithEllipses) {
  const std::string before = Repeat("一二三四五六七八九十", 10);  // 100 characters
  const std::string after = Repeat("甲乙丙丁戊己庚辛壬癸", 10);
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("投诉"), "", "", before + "投诉" + after + "投诉", 40);
  ASSERT_THAT(snippets, SizeIs(1));
  const std::string& text = snippets[0].text();
  EXPECT_LE(CodePointLength(text), 40);
  EXPECT_EQ(CodePoints(text, 0, 1), "…");
  EXPECT_EQ(CodePoints(text, CodePointLength(text) - 1, CodePointLength(text)), "…");
  // Only the first occurrence is inside the window; 10 characters lead up to it.
  ASSERT_THAT(Highlights(snippets[0]), ElementsAre(Pair(11, 13)));
  EXPECT_EQ(CodePoints(text, 11, 13), "投诉");
  EXPECT_EQ(CodePoints(text, 1, 11), "一二三四五六七八九十");
}

TEST(MakeSnippetsTest, HighlightsEveryMatchInsideTheWindowOnly) {
  const std::string filler = Repeat("一二三四五六七八九十", 10);
  const std::vector<v1::Snippet> snippets = MakeSnippets(
      Query("投诉 price"), "", "",
      filler + "投诉" + "，再投诉 PRICE" + Repeat("甲", 23) + "price 投诉" + filler, 50);
  ASSERT_THAT(snippets, SizeIs(1));
  // "…", 12 characters of lead, the matches, and not the "price" the window would cut.
  EXPECT_EQ(snippets[0].text(),
            "…九十一二三四五六七八九十投诉，再投诉 PRICE" + Repeat("甲", 23) + "…");
  EXPECT_EQ(CodePointLength(snippets[0].text()), 49);
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(13, 15), Pair(17, 19), Pair(20, 25)));
}

TEST(MakeSnippetsTest, MatchNearTheStartOrEndCutsOneSideOnly) {
  const std::string filler = Repeat("一二三四五六七八九十", 20);
  std::vector<v1::Snippet> snippets = MakeSnippets(Query("投诉"), "", "", "投诉" + filler, 30);
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].text(), "投诉" + CodePoints(filler, 0, 27) + "…");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(0, 2)));

  snippets = MakeSnippets(Query("投诉"), "", "", filler + "投诉", 30);
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].text(), "…" + CodePoints(filler, 173, 200) + "投诉");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(28, 30)));
}

TEST(MakeSnippetsTest, ShortTextIsKeptWholeWithLineBreaksAsSpaces) {
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(Query("discount"), "", "line one\r\nasked for a Discount\tok", "");
  ASSERT_THAT(snippets, SizeIs(1));
  EXPECT_EQ(snippets[0].text(), "line one  asked for a Discount ok");
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(22, 30)));
}

TEST(MakeSnippetsTest, EnglishWindowDoesNotCutWords) {
  const std::string text =
      "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
      "november oscar papa quebec romeo sierra tango";
  const std::vector<v1::Snippet> snippets = MakeSnippets(Query("lima"), "", "", text, 40);
  ASSERT_THAT(snippets, SizeIs(1));
  const std::string& snippet = snippets[0].text();
  EXPECT_LE(CodePointLength(snippet), 40);
  EXPECT_EQ(snippet, "…kilo lima mike november oscar papa…");
  EXPECT_EQ(
      CodePoints(snippet, Highlights(snippets[0])[0].first, Highlights(snippets[0])[0].second),
      "lima");
}

TEST(MakeSnippetsTest, MatchesInEveryFieldWithTheIndexRules) {
  const SearchQuery query = Query("客户 price");
  const std::vector<v1::Snippet> snippets =
      MakeSnippets(query, "大客户", "客户说price太高", "PRICE：客户");
  ASSERT_THAT(snippets, SizeIs(3));
  EXPECT_THAT(Highlights(snippets[0]), ElementsAre(Pair(1, 3)));
  EXPECT_THAT(Highlights(snippets[1]), ElementsAre(Pair(0, 2), Pair(3, 8)));
  EXPECT_THAT(Highlights(snippets[2]), ElementsAre(Pair(0, 5), Pair(6, 8)));
}

}  // namespace
}  // namespace touchline::touchpoints
