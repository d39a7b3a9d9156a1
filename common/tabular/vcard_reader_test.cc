#include "common/tabular/vcard_reader.h"

#include <string>
#include <string_view>
#include <vector>

#include "common/tabular/testing/feed_in_steps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::tabular {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

struct Read {
  std::vector<VCard> cards;
  absl::Status status;
};

Read ReadVCards(std::string_view bytes, size_t step = 1 << 16) {
  Read read;
  VCardReader reader;
  read.status = testing::FeedInSteps(reader, bytes, step, read.cards);
  return read;
}

const VCardProperty* Find(const VCard& card, std::string_view name, int nth = 0) {
  for (const VCardProperty& property : card.properties) {
    if (property.name == name && nth-- == 0) return &property;
  }
  return nullptr;
}

// As an iPhone exports a contact (vCard 3.0), with a photo folded over two lines.
constexpr std::string_view kIphone =
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:王;小明;;;\r\n"
    "FN:王小明\r\n"
    "ORG:深圳腾飞科技有限公司;销售部\r\n"
    "item1.TEL;type=CELL;type=VOICE;type=pref:138 0013 8000\r\n"
    "TEL;TYPE=WORK,VOICE:0755-88886666\r\n"
    "EMAIL;type=INTERNET;type=WORK:wang@tengfei.cn\r\n"
    "ADR;TYPE=WORK:;;科技园南路 1 号;深圳;广东;518000;中国\r\n"
    "NOTE:第一行\\n第二行\\, 带逗号\\; 分号\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n"
    " /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U\r\n"
    "END:VCARD\r\n";

// As an Android phone exports one (vCard 2.1): quoted-printable UTF-8 with a soft line break,
// bare types; then a GB2312 card from an older phone.
constexpr std::string_view kAndroid =
    "BEGIN:VCARD\n"
    "VERSION:2.1\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E;=E9=9B=B7;;;\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E=E9=9B=B7\n"
    "TEL;CELL:13900001111\n"
    "TEL;HOME;VOICE:010-12345678\n"
    "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=AE=A2=E6=88=B7=E8=AF=B4=EF=BC=9A=\n"
    "=E5=B0=BD=E5=BF=AB\n"
    "END:VCARD\n"
    "\n"
    "BEGIN:VCARD\n"
    "VERSION:2.1\n"
    "N;CHARSET=GB2312;ENCODING=QUOTED-PRINTABLE:=D5=C5;;;;\n"
    "END:VCARD\n";

TEST(VCardReaderTest, ReadsAnIphoneCardWhateverTheChunks) {
  for (size_t step : {1, 7, 4096}) {
    const Read read = ReadVCards(kIphone, step);
    ASSERT_TRUE(read.status.ok()) << read.status;
    ASSERT_THAT(read.cards, SizeIs(1));
    const VCard& card = read.cards[0];
    EXPECT_EQ(card.number, 1);
    EXPECT_EQ(card.line, 1);
    EXPECT_EQ(card.version, "3.0");
    ASSERT_NE(Find(card, "N"), nullptr);
    EXPECT_THAT(Find(card, "N")->components, ElementsAre("王", "小明", "", "", ""));
    EXPECT_THAT(Find(card, "ORG")->components, ElementsAre("深圳腾飞科技有限公司", "销售部"));
    // The group ("item1.") is dropped; types are lower case, in order.
    const VCardProperty* cell = Find(card, "TEL");
    EXPECT_THAT(cell->types, ElementsAre("cell", "voice", "pref"));
    EXPECT_THAT(cell->components, ElementsAre("138 0013 8000"));
    EXPECT_THAT(Find(card, "TEL", 1)->types, ElementsAre("work", "voice"));
    EXPECT_THAT(Find(card, "ADR")->components,
                ElementsAre("", "", "科技园南路 1 号", "深圳", "广东", "518000", "中国"));
    EXPECT_THAT(Find(card, "NOTE")->components, ElementsAre("第一行\n第二行, 带逗号; 分号"));
    EXPECT_EQ(Find(card, "PHOTO"), nullptr);
    EXPECT_THAT(card.notes, ElementsAre("PHOTO ignored (binary data)"));
  }
}

TEST(VCardReaderTest, ReadsQuotedPrintableAndCharsetsOfOlderPhones) {
  for (size_t step : {1, 4096}) {
    const Read read = ReadVCards(kAndroid, step);
    ASSERT_TRUE(read.status.ok()) << read.status;
    ASSERT_THAT(read.cards, SizeIs(2));
    const VCard& li = read.cards[0];
    EXPECT_EQ(li.version, "2.1");
    EXPECT_THAT(Find(li, "N")->components, ElementsAre("李", "雷", "", "", ""));
    EXPECT_THAT(Find(li, "FN")->components, ElementsAre("李雷"));
    EXPECT_THAT(Find(li, "TEL")->types, ElementsAre("cell"));
    EXPECT_THAT(Find(li, "TEL", 1)->types, ElementsAre("home", "voice"));
    // The soft line break joins the two halves of the note.
    EXPECT_THAT(Find(li, "NOTE")->components, ElementsAre("客户说：尽快"));
    const VCard& zhang = read.cards[1];
    EXPECT_EQ(zhang.number, 2);
    EXPECT_EQ(zhang.line, 11);
    EXPECT_THAT(Find(zhang, "N")->components, ElementsAre("张", "", "", "", ""));
  }
}

TEST(VCardReaderTest, AFoldThatCutsACharacterIsJoinedAndQuotedTypesAreRead) {
  // vCard 4.0 folds at 75 bytes, even inside a character: 静 is E9 9D 99.
  const std::string card =
      "BEGIN:VCARD\nVERSION:4.0\nFN:陈\xE9\x9D\n \x99\n"
      "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+86-21-5555-0000\nEND:VCARD\n";
  const Read read = ReadVCards(card, 1);
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_THAT(read.cards, SizeIs(1));
  EXPECT_THAT(Find(read.cards[0], "FN")->components, ElementsAre("陈静"));
  const VCardProperty* tel = Find(read.cards[0], "TEL");
  EXPECT_THAT(tel->types, ElementsAre("work", "voice", "pref"));
  EXPECT_THAT(tel->components, ElementsAre("tel:+86-21-5555-0000"));
}

TEST(VCardReaderTest, MalformedFilesAreRefusedNamingTheLine) {
  EXPECT_EQ(ReadVCards("FN:孤儿\n").status.message(), "line 1: FN outside a card");
  EXPECT_EQ(ReadVCards("BEGIN:VCARD\nVERSION:3.0\nGARBAGE\nEND:VCARD\n").status.message(),
            "line 3: a property without ':'");
  EXPECT_EQ(ReadVCards("BEGIN:VCARD\nBEGIN:VCARD\n").status.message(),
            "line 2: BEGIN:VCARD inside a card");
  const Read cut = ReadVCards("BEGIN:VCARD\nFN:甲\nEND:VCARD\nBEGIN:VCARD\nFN:乙\n");
  EXPECT_THAT(cut.cards, SizeIs(1));
  EXPECT_EQ(cut.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cut.status.message(),
            "line 4: card 2 is not ended by END:VCARD before the end of the file");
  EXPECT_EQ(ReadVCards("BEGIN:VCARD\nN;CHARSET=NO-SUCH-SET:x\nEND:VCARD\n").status.message(),
            "line 2: N: unknown character set \"NO-SUCH-SET\"");
}

}  // namespace
}  // namespace touchline::tabular
