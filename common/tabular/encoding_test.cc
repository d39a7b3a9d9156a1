#include "common/tabular/encoding.h"

#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::tabular {
namespace {

using ::testing::HasSubstr;

// "客户名称,手机\n" as Excel and WPS save it in China (GBK, a subset of GB18030).
constexpr std::string_view kGbkHeader = "\xBF\xCD\xBB\xA7\xC3\xFB\xB3\xC6,\xCA\xD6\xBB\xFA\n";
constexpr std::string_view kUtf8Header = "客户名称,手机\n";

// Decodes `bytes` fed `step` bytes at a time.
std::string DecodeInSteps(Encoding encoding, std::string_view bytes, size_t step) {
  absl::StatusOr<Utf8Decoder> decoder = Utf8Decoder::Create(encoding);
  EXPECT_TRUE(decoder.ok()) << decoder.status();
  if (!decoder.ok()) return "";
  std::string out;
  for (size_t at = 0; at < bytes.size(); at += step) {
    const absl::Status status = decoder->Decode(bytes.substr(at, step), out);
    EXPECT_TRUE(status.ok()) << status;
  }
  EXPECT_TRUE(decoder->Finish().ok());
  return out;
}

TEST(DetectEncodingTest, AByteOrderMarkDecides) {
  const DetectedEncoding utf8 = DetectEncoding("\xEF\xBB\xBF客户");
  EXPECT_EQ(utf8.encoding, Encoding::kUtf8);
  EXPECT_EQ(utf8.bom_bytes, 3u);
  EXPECT_EQ(utf8.reason, "byte order mark");
  const DetectedEncoding le = DetectEncoding(std::string_view("\xFF\xFE\xA2\x5B", 4));
  EXPECT_EQ(le.encoding, Encoding::kUtf16Le);
  EXPECT_EQ(le.bom_bytes, 2u);
  EXPECT_EQ(DetectEncoding(std::string_view("\xFE\xFF\x5B\xA2", 4)).encoding, Encoding::kUtf16Be);
}

TEST(DetectEncodingTest, ValidUtf8IsUtf8AndAnythingElseIsGb18030) {
  EXPECT_EQ(DetectEncoding("Name,Phone\n").encoding, Encoding::kUtf8);
  EXPECT_EQ(DetectEncoding(kUtf8Header).reason, "valid UTF-8");
  const DetectedEncoding gbk = DetectEncoding(kGbkHeader);
  EXPECT_EQ(gbk.encoding, Encoding::kGb18030);
  EXPECT_EQ(gbk.bom_bytes, 0u);
  EXPECT_EQ(gbk.reason, "not valid UTF-8");
  // A sample that cuts the last character short is still UTF-8: the rest is past the sample.
  const std::string_view cut = std::string_view(kUtf8Header).substr(0, 4);  // 客 and 1 of 户's 3
  EXPECT_EQ(DetectEncoding(cut).encoding, Encoding::kUtf8);
  // An overlong form is not UTF-8.
  EXPECT_EQ(DetectEncoding("a\xC0\xAF").encoding, Encoding::kGb18030);
}

TEST(ParseEncodingTest, TakesTheUsualNamesAndRefusesOthers) {
  EXPECT_EQ(*ParseEncoding("UTF-8"), Encoding::kUtf8);
  EXPECT_EQ(*ParseEncoding("gbk"), Encoding::kGb18030);
  EXPECT_EQ(*ParseEncoding("GB2312"), Encoding::kGb18030);
  EXPECT_EQ(*ParseEncoding("utf-16le"), Encoding::kUtf16Le);
  const absl::StatusOr<Encoding> latin = ParseEncoding("latin1");
  EXPECT_EQ(latin.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(latin.status().message(), HasSubstr("\"latin1\""));
}

TEST(Utf8DecoderTest, DecodesGbkWhateverTheChunksCut) {
  for (size_t step : {1, 2, 3, 5, 64}) {
    EXPECT_EQ(DecodeInSteps(Encoding::kGb18030, kGbkHeader, step), kUtf8Header) << step;
  }
  // A four-byte GB18030 character (U+20087, 𠂇) outside GBK.
  EXPECT_EQ(DecodeInSteps(Encoding::kGb18030, "\x95\x32\x90\x31", 1), "\xF0\xA0\x82\x87");
}

TEST(Utf8DecoderTest, DecodesUtf16WithSurrogatePairsCutAnywhere) {
  // "客户😀" in UTF-16LE and UTF-16BE.
  const std::string le("\xA2\x5B\x37\x62\x3D\xD8\x00\xDE", 8);
  const std::string be("\x5B\xA2\x62\x37\xD8\x3D\xDE\x00", 8);
  for (size_t step : {1, 3, 8}) {
    EXPECT_EQ(DecodeInSteps(Encoding::kUtf16Le, le, step), "客户😀") << step;
    EXPECT_EQ(DecodeInSteps(Encoding::kUtf16Be, be, step), "客户😀") << step;
  }
}

TEST(Utf8DecoderTest, InvalidBytesAreRefusedNamingTheirOffset) {
  absl::StatusOr<Utf8Decoder> decoder = Utf8Decoder::Create(Encoding::kGb18030);
  ASSERT_TRUE(decoder.ok());
  std::string out;
  ASSERT_TRUE(decoder->Decode(kGbkHeader, out).ok());
  // 0xFF never starts a GB18030 character: byte 16 of the stream (14 + "ab").
  const absl::Status bad = decoder->Decode("ab\xFF", out);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "byte 16 is not valid GB18030");
  EXPECT_EQ(decoder->Decode("ok", out).code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<Utf8Decoder> utf8 = Utf8Decoder::Create(Encoding::kUtf8);
  ASSERT_TRUE(utf8.ok());
  out.clear();
  EXPECT_EQ(utf8->Decode("客户\xC0\xAF", out).message(), "byte 6 is not valid UTF-8");
}

TEST(Utf8DecoderTest, AStreamEndingInsideACharacterIsRefused) {
  absl::StatusOr<Utf8Decoder> decoder = Utf8Decoder::Create(Encoding::kGb18030);
  ASSERT_TRUE(decoder.ok());
  std::string out;
  ASSERT_TRUE(decoder->Decode(kGbkHeader.substr(0, 3), out).ok());  // 客 and half of 户
  EXPECT_EQ(out, "客");
  const absl::Status end = decoder->Finish();
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(end.message(), "the file ends inside a character at byte 2 (GB18030)");
}

}  // namespace
}  // namespace touchline::tabular
