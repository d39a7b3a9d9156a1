#include "common/tabular/csv_reader.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tabular/testing/feed_in_steps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::tabular {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

struct Read {
  std::vector<Row> rows;
  absl::Status status;
};

// Reads `text` fed `step` bytes at a time.
Read ReadCsv(std::string_view text, char delimiter = ',', size_t step = 1 << 16) {
  Read read;
  CsvReader reader(delimiter);
  read.status = testing::FeedInSteps(reader, text, step, read.rows);
  return read;
}

TEST(CsvReaderTest, ReadsQuotedCellsWithNewlinesDelimitersAndQuotes) {
  const std::string text =
      "客户名称,备注,电话\r\n"
      "\"深圳腾飞, 有限公司\",\"第一行\r\n第二行\",13800000000\r\n"
      "\"他说\"\"好\"\"\",,\r\n"
      "杭州云栖,  留空格  ,0571";
  for (size_t step : {1, 2, 7, 1000}) {
    const Read read = ReadCsv(text, ',', step);
    ASSERT_TRUE(read.status.ok()) << read.status;
    ASSERT_THAT(read.rows, SizeIs(4)) << step;
    EXPECT_THAT(read.rows[0].cells, ElementsAre("客户名称", "备注", "电话"));
    EXPECT_THAT(read.rows[1].cells,
                ElementsAre("深圳腾飞, 有限公司", "第一行\r\n第二行", "13800000000"));
    EXPECT_THAT(read.rows[2].cells, ElementsAre("他说\"好\"", "", ""));
    // Cells are kept as written, spaces and all; the last row has no newline.
    EXPECT_THAT(read.rows[3].cells, ElementsAre("杭州云栖", "  留空格  ", "0571"));
    // Rows are numbered in order, with the line each starts on (row 2 spans lines 2 and 3).
    EXPECT_EQ(read.rows[2].number, 3);
    EXPECT_EQ(read.rows[1].line, 2);
    EXPECT_EQ(read.rows[2].line, 4);
    EXPECT_EQ(read.rows[3].line, 5);
  }
}

TEST(CsvReaderTest, BlankLinesAreNotRowsButCountAsLines) {
  const Read read = ReadCsv("a,b\n\n\r\nc,d\n");
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_THAT(read.rows, SizeIs(2));
  EXPECT_EQ(read.rows[1].number, 2);
  EXPECT_EQ(read.rows[1].line, 4);
}

TEST(CsvReaderTest, SemicolonsAndTabsDelimitAndTabsAreNotTrimmed) {
  Read read = ReadCsv("姓名;手机\n王小明;138\n", ';');
  ASSERT_TRUE(read.status.ok());
  EXPECT_THAT(read.rows[1].cells, ElementsAre("王小明", "138"));
  read = ReadCsv("Name\tNote\n Wang \t\t\n", '\t');
  ASSERT_TRUE(read.status.ok());
  EXPECT_THAT(read.rows[1].cells, ElementsAre(" Wang ", "", ""));
}

TEST(CsvReaderTest, AnUnclosedQuoteIsAnErrorNamingTheRow) {
  const Read read = ReadCsv("a,b\n1,2\n\"没有结束,3\n4,5\n");
  EXPECT_THAT(read.rows, SizeIs(2));
  EXPECT_EQ(read.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status.message(),
            "row 3 (line 3): a quoted cell is not closed by the end of the file");
}

TEST(CsvReaderTest, AStrayQuoteIsAnErrorNamingTheRowAndLine) {
  Read read = ReadCsv("a,b\n1,2\n3,4 \"寸\"\n");
  EXPECT_THAT(read.rows, SizeIs(2));
  EXPECT_EQ(read.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status.message(), HasSubstr("row 3 (line 3): a quote inside a cell"));
  read = ReadCsv("a,b\n\"1\"x,2\n");
  EXPECT_THAT(read.status.message(), HasSubstr("row 2 (line 2): "));
}

TEST(CsvReaderTest, ACellOverTheLimitIsRefusedNamingItsRow) {
  const std::string at_limit(kMaxCellBytes, 'x');
  Read read = ReadCsv("a\n" + at_limit + "\n");
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_EQ(read.rows[1].cells[0].size(), kMaxCellBytes);

  // A 10 MB cell, as a broken export writes one.
  read = ReadCsv("a,b\n1,2\n3,\"" + std::string(10 << 20, 'y') + "\"\n", ',', 1 << 16);
  EXPECT_THAT(read.rows, SizeIs(2));
  EXPECT_EQ(read.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status.message(), "row 3 (line 3): a cell is longer than 1048576 bytes");
}

TEST(CsvReaderTest, ARowFunctionErrorStopsTheReader) {
  CsvReader reader(',');
  int seen = 0;
  const CsvReader::RowFn stop_at_second = [&](Row&) {
    return ++seen == 2 ? absl::CancelledError("enough") : absl::OkStatus();
  };
  EXPECT_EQ(reader.Feed("a\nb\nc\n", stop_at_second).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(reader.Feed("d\n", stop_at_second).code(), absl::StatusCode::kFailedPrecondition);
}

// Reads the file `bytes` fed `step` bytes at a time through a CsvFileReader.
Read ReadFile(CsvFileReader& reader, std::string_view bytes, size_t step) {
  Read read;
  read.status = testing::FeedInSteps(reader, bytes, step, read.rows);
  return read;
}

TEST(CsvFileReaderTest, AGbkFileWithSemicolonsIsDetectedAndRead) {
  // "客户名称;手机\r\n深圳腾飞;138\r\n" as WPS saves it in China.
  const std::string gbk =
      "\xBF\xCD\xBB\xA7\xC3\xFB\xB3\xC6;\xCA\xD6\xBB\xFA\r\n\xC9\xEE\xDB\xDA\xCC\xDA\xB7\xC9;"
      "138\r\n";
  for (size_t step : {1, 5, 4096}) {
    CsvFileReader reader;
    const Read read = ReadFile(reader, gbk, step);
    ASSERT_TRUE(read.status.ok()) << read.status;
    ASSERT_THAT(read.rows, SizeIs(2));
    EXPECT_THAT(read.rows[0].cells, ElementsAre("客户名称", "手机"));
    EXPECT_THAT(read.rows[1].cells, ElementsAre("深圳腾飞", "138"));
    ASSERT_TRUE(reader.encoding().has_value());
    EXPECT_EQ(reader.encoding()->encoding, Encoding::kGb18030);
    EXPECT_EQ(reader.delimiter(), ';');
  }
}

TEST(CsvFileReaderTest, AByteOrderMarkIsSkippedAndUtf16TabTextIsRead) {
  CsvFileReader utf8;
  Read read = ReadFile(utf8, "\xEF\xBB\xBF姓名,邮箱\n王小明,wang@example.cn\n", 3);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_THAT(read.rows[0].cells, ElementsAre("姓名", "邮箱"));
  EXPECT_EQ(utf8.encoding()->reason, "byte order mark");

  // Excel's "Unicode text": UTF-16LE with a mark, tabs between cells. "名\t手机\n甲\t1\n".
  const std::string utf16(
      "\xFF\xFE\x0D\x54\x09\x00\x4B\x62\x3A\x67\x0A\x00\x32\x75\x09\x00\x31\x00\x0A\x00", 20);
  CsvFileReader excel;
  read = ReadFile(excel, utf16, 1);
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_THAT(read.rows, SizeIs(2));
  EXPECT_THAT(read.rows[0].cells, ElementsAre("名", "手机"));
  EXPECT_THAT(read.rows[1].cells, ElementsAre("甲", "1"));
  EXPECT_EQ(excel.delimiter(), '\t');
}

TEST(CsvFileReaderTest, AGivenEncodingAndDelimiterWinAndBadBytesAreNamed) {
  // The request's encoding and delimiter win over what detection would say.
  CsvFileReader given({.encoding = Encoding::kGb18030, .delimiter = ';'});
  Read read = ReadFile(given, "a,b;c\n", 64);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_THAT(read.rows[0].cells, ElementsAre("a,b", "c"));
  EXPECT_EQ(given.encoding()->reason, "given");

  // Past the bytes detection saw, a byte that is not UTF-8 after all, named by its offset.
  CsvFileReader detected;
  read = ReadFile(detected, std::string("a,b\n") + std::string(70 * 1024, 'x') + ",\xFF\n", 4096);
  EXPECT_EQ(read.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status.message(), absl::StrCat("byte ", 4 + 70 * 1024 + 1, " is not valid UTF-8"));
}

TEST(DetectDelimiterTest, CountsOutsideQuotesOnTheFirstRow) {
  EXPECT_EQ(DetectDelimiter("客户名称;手机;邮箱\n甲,乙,丙,丁\n"), ';');
  EXPECT_EQ(DetectDelimiter("Name\tPhone\tE-mail\r\n"), '\t');
  EXPECT_EQ(DetectDelimiter("\"a;b;c\",d\n"), ',');
  EXPECT_EQ(DetectDelimiter("Name\n"), ',');
  // A header whose quoted cell holds a newline: the first row goes on past it.
  EXPECT_EQ(DetectDelimiter("\"多行\n名称\";手机\n"), ';');
}

}  // namespace
}  // namespace touchline::tabular
