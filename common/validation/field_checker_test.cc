#include "common/validation/field_checker.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::validation {

namespace {

using ::testing::ElementsAre;

std::string Repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

constexpr char kUuid[] = "0190f8a2-7c3e-7b1a-9f2d-3c4b5a6d7e8f";

// Each test checks one value through a fresh checker and looks at what it reported.
class FieldCheckerTest : public ::testing::Test {
 protected:
  std::vector<FieldViolation> violations_;
  FieldChecker check_{violations_};
};

TEST(FieldViolationTest, Prints) {
  std::ostringstream os;
  os << FieldViolation{"customer.tags[1]", "is required"};
  EXPECT_EQ(os.str(), "customer.tags[1]: is required");
}

TEST(PathTest, FieldItemAndEntry) {
  EXPECT_EQ(FieldPath("customer", "tags"), "customer.tags");
  EXPECT_EQ(FieldPath("", "tags"), "tags");
  EXPECT_EQ(ItemPath("customer.tags", 3), "customer.tags[3]");
  EXPECT_EQ(EntryPath("custom_fields", "客户等级"), "custom_fields[\"客户等级\"]");
  EXPECT_EQ(EntryPath("m", "say \"hi\"\\"), "m[\"say \\\"hi\\\"\\\\\"]");
  EXPECT_EQ(EntryPath("m", "tab\there\x7F"), "m[\"tab\\x09here\\x7F\"]");
  // Ill-formed bytes are escaped one by one; what follows them is kept.
  EXPECT_EQ(EntryPath("m",
                      "a\xFF\xE4\xBD"
                      "b\xC3\xC3\xA9"),
            "m[\"a\\xFF\\xE4\\xBDb\\xC3é\"]");
}

TEST_F(FieldCheckerTest, EncodingRefusesInvalidUtf8AndNul) {
  EXPECT_TRUE(check_.Encoding("投诉", "a"));
  EXPECT_TRUE(check_.Encoding("", "a"));
  EXPECT_FALSE(check_.Encoding("投\xFF", "b"));
  EXPECT_FALSE(check_.Encoding("\xED\xA0\x80", "c"));  // a UTF-16 surrogate
  EXPECT_FALSE(check_.Encoding(std::string("a\0b", 3), "d"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must be valid UTF-8"},
                                       FieldViolation{"c", "must be valid UTF-8"},
                                       FieldViolation{"d", "must not contain NUL characters"}));
}

TEST_F(FieldCheckerTest, MaxCharsCountsCodePointsNotBytes) {
  // 投诉 is 2 code points in 6 bytes.
  EXPECT_TRUE(check_.MaxChars("投诉", "a", 2));
  EXPECT_FALSE(check_.MaxChars("投诉", "b", 1));
  EXPECT_TRUE(check_.MaxChars(Repeat("长", 200), "c", 200));
  EXPECT_FALSE(check_.MaxChars(Repeat("长", 201), "d", 200));
  EXPECT_TRUE(check_.MaxChars("", "e", 0));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must be at most 1 characters"},
                                       FieldViolation{"d", "must be at most 200 characters"}));
}

TEST_F(FieldCheckerTest, MaxBytesCountsBytes) {
  EXPECT_TRUE(check_.MaxBytes("投诉", "a", 6));
  EXPECT_FALSE(check_.MaxBytes("投诉", "b", 5));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must be at most 5 bytes"}));
}

TEST_F(FieldCheckerTest, MaxEntries) {
  EXPECT_TRUE(check_.MaxEntries(20, "a", 20));
  EXPECT_FALSE(check_.MaxEntries(21, "b", 20));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must have at most 20 entries"}));
}

TEST_F(FieldCheckerTest, Required) {
  EXPECT_TRUE(check_.Required(true, "a"));
  EXPECT_FALSE(check_.Required(false, "b"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "is required"}));
}

TEST_F(FieldCheckerTest, TrimRemovesUnicodeWhiteSpaceAfterTheEncodingCheck) {
  std::string value = "\u3000 投诉\t";
  EXPECT_TRUE(check_.Trim(value, "a"));
  EXPECT_EQ(value, "投诉");
  std::string bad = " \xFF ";
  EXPECT_FALSE(check_.Trim(bad, "b"));
  EXPECT_EQ(bad, " \xFF ");  // left alone
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must be valid UTF-8"}));
}

TEST_F(FieldCheckerTest, TextTrimsThenChecksPresenceLengthAndControls) {
  std::string padded = "\u3000" + Repeat("投", 3) + " ";
  EXPECT_TRUE(check_.Text(padded, "a", 3));
  EXPECT_EQ(padded, "投投投");  // the padding does not count
  std::string blank = " \u3000";
  EXPECT_TRUE(check_.Text(blank, "optional", 3));
  EXPECT_EQ(blank, "");
  std::string required = " ";
  EXPECT_FALSE(check_.Text(required, "required", 3, {.required = true}));
  std::string long_text = Repeat("投", 4);
  EXPECT_FALSE(check_.Text(long_text, "long", 3));
  std::string invalid = "\xC0\xAF";  // overlong '/'
  EXPECT_FALSE(check_.Text(invalid, "invalid", 3, {.required = true}));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"required", "is required"},
                                       FieldViolation{"long", "must be at most 3 characters"},
                                       FieldViolation{"invalid", "must be valid UTF-8"}));
}

TEST_F(FieldCheckerTest, TextWithoutTrimKeepsWhiteSpaceAndCountsIt) {
  std::string value = "  投诉";
  EXPECT_FALSE(check_.Text(value, "a", 3, {.trim = false}));
  EXPECT_EQ(value, "  投诉");
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"a", "must be at most 3 characters"}));
}

TEST_F(FieldCheckerTest, TextControlCharacters) {
  std::string allowed = "a\x01z";
  EXPECT_TRUE(check_.Text(allowed, "allowed", 10));
  std::string lines = "第一行\n第二行\tx\r";
  EXPECT_TRUE(check_.Text(lines, "lines", 10, {.controls = ControlCharacters::kTabAndLineBreaks}));
  std::string bell = "a\az";
  EXPECT_FALSE(check_.Text(bell, "bell", 10, {.controls = ControlCharacters::kTabAndLineBreaks}));
  std::string tab = "a\tz";
  EXPECT_FALSE(check_.Text(tab, "tab", 10, {.controls = ControlCharacters::kForbidden}));
  std::string del = "a\x7Fz";
  EXPECT_FALSE(check_.Text(del, "del", 10, {.controls = ControlCharacters::kForbidden}));
  EXPECT_THAT(
      violations_,
      ElementsAre(FieldViolation{"bell",
                                 "must not contain control characters other than tab and line "
                                 "breaks"},
                  FieldViolation{"tab", "must not contain control characters"},
                  FieldViolation{"del", "must not contain control characters"}));
}

TEST_F(FieldCheckerTest, NoWhiteSpace) {
  EXPECT_TRUE(check_.NoWhiteSpace("user_投诉", "a"));
  EXPECT_FALSE(check_.NoWhiteSpace("张\u3000伟", "b"));  // ideographic space
  EXPECT_FALSE(check_.NoWhiteSpace("a\u00A0b", "c"));    // no-break space
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"b", "must not contain white space"},
                                       FieldViolation{"c", "must not contain white space"}));
}

TEST_F(FieldCheckerTest, UuidInCanonicalForm) {
  EXPECT_TRUE(check_.Uuid(kUuid, "a"));
  EXPECT_TRUE(check_.Uuid("0190F8A2-7C3E-7B1A-9F2D-3C4B5A6D7E8F", "upper"));
  EXPECT_FALSE(check_.Uuid("", "empty"));
  EXPECT_FALSE(check_.Uuid("0190f8a27c3e7b1a9f2d3c4b5a6d7e8f", "no_dashes"));
  EXPECT_FALSE(check_.Uuid("{0190f8a2-7c3e-7b1a-9f2d-3c4b5a6d7e8f}", "braces"));
  EXPECT_FALSE(check_.Uuid(" 0190f8a2-7c3e-7b1a-9f2d-3c4b5a6d7e8f", "padded"));
  EXPECT_FALSE(check_.Uuid("\xFF", "invalid"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"empty", "is required"},
                                       FieldViolation{"no_dashes", "must be a UUID"},
                                       FieldViolation{"braces", "must be a UUID"},
                                       FieldViolation{"padded", "must be a UUID"},
                                       FieldViolation{"invalid", "must be valid UTF-8"}));
}

TEST(TokenShapeTest, DescribesItself) {
  EXPECT_EQ(DescribeShape({.max_length = 64, .punctuation = "_", .starts_with_letter = true}),
            "1 to 64 characters of a-z, 0-9 and _, starting with a letter");
  EXPECT_EQ(DescribeShape({.max_length = 64, .upper_case = true, .punctuation = "_"}),
            "1 to 64 characters of A-Z, a-z, 0-9 and _");
  EXPECT_EQ(DescribeShape({.max_length = 63, .punctuation = "_-", .starts_with_letter = true}),
            "1 to 63 characters of a-z, 0-9, _ and -, starting with a letter");
  EXPECT_EQ(DescribeShape({.max_length = 8, .lower_case = false, .digits = true}),
            "1 to 8 characters of 0-9");
}

TEST_F(FieldCheckerTest, Token) {
  const TokenShape key{.max_length = 8, .punctuation = "_", .starts_with_letter = true};
  EXPECT_TRUE(check_.Token("vip_2024", "a", key));  // exactly 8
  EXPECT_TRUE(check_.Token("v", "b", key));
  EXPECT_FALSE(check_.Token("vip_20245", "long", key));
  EXPECT_FALSE(check_.Token("", "empty", key));
  EXPECT_FALSE(check_.Token("1st", "digit_first", key));
  EXPECT_FALSE(check_.Token("Vip", "upper", key));
  EXPECT_FALSE(check_.Token("vip-1", "dash", key));
  EXPECT_FALSE(check_.Token("客户", "chinese", key));
  EXPECT_FALSE(check_.Token(std::string("a\0", 2), "nul", key));
  const std::string description =
      "must be 1 to 8 characters of a-z, 0-9 and _, starting with a letter";
  EXPECT_THAT(
      violations_,
      ElementsAre(FieldViolation{"long", description}, FieldViolation{"empty", description},
                  FieldViolation{"digit_first", description}, FieldViolation{"upper", description},
                  FieldViolation{"dash", description}, FieldViolation{"chinese", description},
                  FieldViolation{"nul", description}));
}

TEST_F(FieldCheckerTest, Finite) {
  EXPECT_TRUE(check_.Finite(1.5, "a"));
  EXPECT_FALSE(check_.Finite(std::nan(""), "nan"));
  EXPECT_FALSE(check_.Finite(-std::numeric_limits<double>::infinity(), "inf"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"nan", "must be a finite number"},
                                       FieldViolation{"inf", "must be a finite number"}));
}

bool IsZeroToTwo(int number) { return number >= 0 && number <= 2; }

TEST_F(FieldCheckerTest, Enums) {
  EXPECT_TRUE(check_.KnownEnum(0, IsZeroToTwo, "a"));
  EXPECT_FALSE(check_.KnownEnum(3, IsZeroToTwo, "proto"));
  EXPECT_TRUE(check_.RequiredEnum(2, IsZeroToTwo, "b"));
  EXPECT_FALSE(check_.RequiredEnum(0, IsZeroToTwo, "unset"));
  EXPECT_FALSE(check_.RequiredEnum(-1, IsZeroToTwo, "negative"));
  enum class Level : int { kUnspecified = 0, kLow = 1, kHigh = 2 };
  EXPECT_TRUE(check_.KnownEnum(Level::kHigh, Level::kHigh, "c"));
  EXPECT_FALSE(check_.KnownEnum(static_cast<Level>(3), Level::kHigh, "domain"));
  EXPECT_FALSE(check_.KnownEnum(static_cast<Level>(-1), Level::kHigh, "domain_negative"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"proto", "must be a known value"},
                                       FieldViolation{"unset", "is required"},
                                       FieldViolation{"negative", "must be a known value"},
                                       FieldViolation{"domain", "must be a known value"},
                                       FieldViolation{"domain_negative", "must be a known value"}));
}

TEST_F(FieldCheckerTest, KeysAreNamedAsKeysExceptForTheirEncoding) {
  FieldChecker keys = check_.ForKeys();
  const std::string path = EntryPath("m", "");
  EXPECT_FALSE(keys.Required(false, path));
  EXPECT_FALSE(keys.MaxChars(Repeat("键", 65), path, 64));
  EXPECT_FALSE(keys.Encoding("\xFF", path));
  keys.Add(path, "must not start or end with white space");
  check_.Add(path, "must be a finite number");  // the plain checker is unchanged
  EXPECT_THAT(violations_,
              ElementsAre(FieldViolation{path, "key is required"},
                          FieldViolation{path, "key must be at most 64 characters"},
                          FieldViolation{path, "must be valid UTF-8"},
                          FieldViolation{path, "key must not start or end with white space"},
                          FieldViolation{path, "must be a finite number"}));
}

TEST_F(FieldCheckerTest, DuplicatesNameTheFirstOccurrence) {
  DuplicateCheck tags("tags");
  EXPECT_TRUE(tags.First(check_, "投诉", 0, "t.tags[0]"));
  EXPECT_TRUE(tags.First(check_, "vip", 1, "t.tags[1]"));
  EXPECT_FALSE(tags.First(check_, "投诉", 2, "t.tags[2]"));
  EXPECT_FALSE(tags.First(check_, "vip", 3, "t.tags[3]"));
  DuplicateCheck users("participants", ".user_id");
  EXPECT_TRUE(users.First(check_, "u1", 0, "t.participants[0].user_id"));
  EXPECT_FALSE(users.First(check_, "u1", 1, "t.participants[1].user_id"));
  EXPECT_THAT(violations_, ElementsAre(FieldViolation{"t.tags[2]", "duplicates tags[0]"},
                                       FieldViolation{"t.tags[3]", "duplicates tags[1]"},
                                       FieldViolation{"t.participants[1].user_id",
                                                      "duplicates participants[0].user_id"}));
}

TEST(FieldCheckerStatusTest, AddsToTheBadRequestBuilder) {
  status::FieldViolations violations;
  FieldChecker check(violations);
  std::string subject = Repeat("投", 257);
  check.Text(subject, "touchpoint.subject", 256);
  check.Uuid("x", "touchpoint.customer_id");
  const absl::Status status = violations.ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      status::FieldViolationsOf(status),
      ElementsAre(std::pair<std::string, std::string>("touchpoint.subject",
                                                      "must be at most 256 characters"),
                  std::pair<std::string, std::string>("touchpoint.customer_id", "must be a UUID")));
}

}  // namespace
}  // namespace touchline::validation
