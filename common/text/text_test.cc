#include "common/text/text.h"

#include <string>

#include "gtest/gtest.h"

namespace touchline::text {
namespace {

TEST(IsValidUtf8Test, AcceptsAsciiChineseAndAstralText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Acme Co., Ltd."));
  EXPECT_TRUE(IsValidUtf8("深圳市腾飞科技有限公司"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600, four bytes.
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point.
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

TEST(IsValidUtf8Test, RejectsOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes.
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes.
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes.
}

TEST(IsValidUtf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // U+D800.
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));  // U+DFFF.
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));   // U+D7FF, just below them.
}

TEST(IsValidUtf8Test, RejectsCodePointsAboveMax) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000.
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(IsValidUtf8Test, RejectsTruncatedSequencesAndStrayContinuations) {
  EXPECT_FALSE(IsValidUtf8("\xE6\xB7"));  // 深 without its last byte.
  EXPECT_FALSE(IsValidUtf8("深圳\xE5"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(
      IsValidUtf8("a\xBF"
                  "b"));
  EXPECT_FALSE(
      IsValidUtf8("\xE6"
                  "a"
                  "\xB7"));  // Interrupted sequence.
}

TEST(EncodingProblemTest, NamesInvalidUtf8AndNul) {
  EXPECT_EQ(EncodingProblem(""), nullptr);
  EXPECT_EQ(EncodingProblem("深圳\t\n"), nullptr);
  EXPECT_STREQ(EncodingProblem("a\xFF"), "must be valid UTF-8");
  EXPECT_STREQ(EncodingProblem(std::string("a\0b", 3)), "must not contain NUL characters");
}

TEST(CodePointCountTest, CountsCharactersNotBytes) {
  EXPECT_EQ(CodePointCount(""), 0u);
  EXPECT_EQ(CodePointCount("abc"), 3u);
  EXPECT_EQ(CodePointCount("深圳市腾飞科技有限公司"), 11u);
  EXPECT_EQ(CodePointCount("a深\xF0\x9F\x98\x80"), 3u);
}

TEST(TrimSpaceTest, TrimsAsciiAndUnicodeWhiteSpace) {
  EXPECT_EQ(TrimSpace("  深圳 \t\r\n"), "深圳");
  EXPECT_EQ(TrimSpace("\u3000腾飞科技\u3000"), "腾飞科技");
  EXPECT_EQ(TrimSpace("\u00A0Acme\u00A0"), "Acme");
  EXPECT_EQ(TrimSpace("\u2003\u202F张伟\u205F"), "张伟");
}

TEST(TrimSpaceTest, KeepsInnerSpaceAndEmptiesBlankText) {
  EXPECT_EQ(TrimSpace(" 腾飞 科技\u3000有限公司 "), "腾飞 科技\u3000有限公司");
  EXPECT_EQ(TrimSpace("\u3000 \u00A0\t"), "");
  EXPECT_EQ(TrimSpace(""), "");
}

TEST(TrimSpaceTest, StopsAtInvalidBytes) {
  EXPECT_EQ(TrimSpace(" \xFF "), "\xFF");
  EXPECT_EQ(TrimSpace("\xE6\xB7 "), "\xE6\xB7");
}

}  // namespace
}  // namespace touchline::text
