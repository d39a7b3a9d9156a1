#include "services/contacts/name_key.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(NameKeyTest, ChineseCompanyFormsFoldTogether) {
  const std::string key = NameKey("深圳市腾飞科技");
  EXPECT_EQ(key, "深圳市腾飞科技");
  for (const char* name :
       {"深圳市腾飞科技有限公司", "深圳市腾飞科技 有限公司", "深圳市腾飞科技（有限公司）",
        "深圳市腾飞科技有限责任公司", "深圳市腾飞科技股份有限公司", "深圳市腾飞科技集团有限公司",
        "深圳市腾飞科技集团", "深圳市腾飞科技公司", "深圳市腾飞科技股份公司",
        "\u3000深圳市腾飞科技 有限 公司\u3000"}) {
    EXPECT_EQ(NameKey(name), key) << name;
  }
}

TEST(NameKeyTest, EnglishCompanyFormsFoldTogether) {
  const std::string key = NameKey("Acme");
  EXPECT_EQ(key, "acme");
  for (const char* name :
       {"Acme Co., Ltd.", "ACME Ltd", "acme limited", "\uFF21\uFF43\uFF4D\uFF45 Inc.",
        "Acme Corporation", "Acme Corp.", "Acme Incorporated", "Acme LLC", "Acme GmbH", "Acme PLC",
        "Acme Company Limited", "Acme Co Ltd", "Acme Co.,Ltd", "ACME CO. LTD."}) {
    EXPECT_EQ(NameKey(name), key) << name;
  }
}

TEST(NameKeyTest, JapaneseSuffixAndLatinSuffixAfterHan) {
  EXPECT_EQ(NameKey("トヨタ株式会社"), NameKey("トヨタ"));
  EXPECT_EQ(NameKey("腾飞Ltd."), "腾飞");
  EXPECT_EQ(NameKey("腾飞科技有限公司 Co., Ltd."), "腾飞科技");
}

TEST(NameKeyTest, FullWidthFormsAndCaseFold) {
  EXPECT_EQ(NameKey("ＡＢＣ（深圳）"), NameKey("abc(深圳)"));
  EXPECT_EQ(NameKey("ＡＢＣ（深圳）"), "abc深圳");
  EXPECT_EQ(NameKey("STRASSE"), NameKey("straße"));
}

TEST(NameKeyTest, RemovesWhiteSpacePunctuationAndSymbols) {
  EXPECT_EQ(NameKey("Johnson & Johnson"), "johnsonjohnson");
  EXPECT_EQ(NameKey(" 腾 飞·科技 「华南」\t"), "腾飞科技华南");
  EXPECT_EQ(NameKey("A+B™ — Studio"), "abtmstudio");
}

TEST(NameKeyTest, LatinSuffixesOnlyAsWholeWords) {
  EXPECT_EQ(NameKey("Costco"), "costco");
  EXPECT_EQ(NameKey("Zinc"), "zinc");
  EXPECT_EQ(NameKey("Telco Ltd"), "telco");
  EXPECT_EQ(NameKey("Interplc"), "interplc");
}

TEST(NameKeyTest, NameOfOnlyCompanyFormsIsKeptWhole) {
  EXPECT_EQ(NameKey("Limited"), "limited");
  EXPECT_EQ(NameKey("有限公司"), "有限公司");
  EXPECT_EQ(NameKey("Company Ltd."), "companyltd");
  EXPECT_EQ(NameKey("集团 Co., Ltd."), "集团coltd");
}

TEST(NameKeyTest, EmptyWhenNothingButSeparators) {
  EXPECT_EQ(NameKey(""), "");
  EXPECT_EQ(NameKey("（）\u3000 —"), "");
}

TEST(NameKeyTest, DifferentNamesDiffer) {
  EXPECT_NE(NameKey("深圳市腾飞科技有限公司"), NameKey("深圳市腾达科技有限公司"));
  EXPECT_NE(NameKey("Acme Ltd"), NameKey("Acne Ltd"));
  EXPECT_NE(NameKey("腾飞科技"), NameKey("腾飞"));
}

TEST(DedupeKeysTest, PhonesThenEmailsThenNameWithoutRepeats) {
  Customer customer = testing::SampleCustomer();
  ContactPerson second;
  second.phones = {
      {.number = "+8613800138000", .kind = ContactPointKind::kWork, .primary = false},
      {.number = "+8613900139000", .kind = ContactPointKind::kMobile, .primary = false}};
  second.emails = {
      {.address = "li@tengfei.cn", .kind = ContactPointKind::kWork, .primary = false},
      {.address = "wei.zhang@tengfei.cn", .kind = ContactPointKind::kHome, .primary = false}};
  customer.contact_persons.push_back(second);
  EXPECT_THAT(DedupeKeys(customer), ElementsAre(Pair(DedupeReason::kPhone, "+8613800138000"),
                                                Pair(DedupeReason::kPhone, "+861065529988"),
                                                Pair(DedupeReason::kPhone, "+8613900139000"),
                                                Pair(DedupeReason::kEmail, "wei.zhang@tengfei.cn"),
                                                Pair(DedupeReason::kEmail, "li@tengfei.cn"),
                                                Pair(DedupeReason::kName, "深圳市腾飞科技")));
}

TEST(DedupeKeysTest, LeavesOutAnEmptyNameKey) {
  Customer customer;
  customer.display_name = "（）";
  EXPECT_TRUE(DedupeKeys(customer).empty());
}

}  // namespace
}  // namespace touchline::contacts
