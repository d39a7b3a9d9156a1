#include "common/tabular/encoding.h"

#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/text/text.h"

namespace touchline::tabular {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kUtf16LeBom = "\xFF\xFE";
constexpr std::string_view kUtf16BeBom = "\xFE\xFF";

const iconv_t kNoConverter = reinterpret_cast<iconv_t>(-1);

// `text` without a UTF-8 character cut at its end: the lead byte of its last character and the
// continuation bytes after it, when they are fewer than the lead byte announces.
std::string_view WithoutCutCharacter(std::string_view text) {
  size_t continuation = 0;
  while (continuation < 3 && continuation < text.size() &&
         (static_cast<unsigned char>(text[text.size() - 1 - continuation]) & 0xC0) == 0x80) {
    ++continuation;
  }
  if (continuation == text.size()) return text;
  const auto lead = static_cast<unsigned char>(text[text.size() - 1 - continuation]);
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (length > continuation + 1) text.remove_suffix(continuation + 1);
  return text;
}

}  // namespace

std::string_view EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kUtf8:
      return "UTF-8";
    case Encoding::kGb18030:
      return "GB18030";
    case Encoding::kUtf16Le:
      return "UTF-16LE";
    case Encoding::kUtf16Be:
      return "UTF-16BE";
  }
  return "UTF-8";
}

absl::StatusOr<Encoding> ParseEncoding(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "utf-8" || lower == "utf8") return Encoding::kUtf8;
  if (lower == "gb18030" || lower == "gbk" || lower == "gb2312" || lower == "cp936") {
    return Encoding::kGb18030;
  }
  if (lower == "utf-16le") return Encoding::kUtf16Le;
  if (lower == "utf-16be") return Encoding::kUtf16Be;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown encoding \"", std::string(name),
                   "\": use utf-8, gb18030 (also for gbk, gb2312, cp936), utf-16le or utf-16be"));
}

DetectedEncoding DetectEncoding(std::string_view head) {
  if (head.starts_with(kUtf8Bom)) return {Encoding::kUtf8, kUtf8Bom.size(), "byte order mark"};
  if (head.starts_with(kUtf16LeBom)) {
    return {Encoding::kUtf16Le, kUtf16LeBom.size(), "byte order mark"};
  }
  if (head.starts_with(kUtf16BeBom)) {
    return {Encoding::kUtf16Be, kUtf16BeBom.size(), "byte order mark"};
  }
  if (text::IsValidUtf8(WithoutCutCharacter(head))) return {Encoding::kUtf8, 0, "valid UTF-8"};
  return {Encoding::kGb18030, 0, "not valid UTF-8"};
}

absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string_view charset) {
  absl::StatusOr<Utf8Decoder> decoder = Utf8Decoder::Open(std::string(charset));
  if (!decoder.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown character set \"", std::string(charset), "\""));
  }
  std::string out;
  if (absl::Status status = decoder->Decode(bytes, out); !status.ok()) return status;
  if (!decoder->pending_.empty()) {
    // A value, not a stream: a character cut at its end is a bad byte.
    return absl::InvalidArgumentError(
        absl::StrCat("byte ", decoder->offset_, " is not valid ", decoder->from_));
  }
  return out;
}

absl::StatusOr<Utf8Decoder> Utf8Decoder::Open(std::string from) {
  const iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == kNoConverter) {
    return absl::InternalError(absl::StrCat("iconv cannot convert from ", from, " to UTF-8"));
  }
  return Utf8Decoder(std::move(from), cd);
}

absl::StatusOr<Utf8Decoder> Utf8Decoder::Create(Encoding encoding) {
  return Open(std::string(EncodingName(encoding)));
}

Utf8Decoder::~Utf8Decoder() {
  if (cd_ != kNoConverter) iconv_close(cd_);
}

Utf8Decoder::Utf8Decoder(Utf8Decoder&& other) noexcept
    : from_(std::move(other.from_)),
      cd_(std::exchange(other.cd_, kNoConverter)),
      pending_(std::move(other.pending_)),
      offset_(other.offset_) {}

absl::Status Utf8Decoder::Decode(std::string_view bytes, std::string& out) {
  if (cd_ == kNoConverter) return absl::FailedPreconditionError("the decoder failed before");
  std::string joined;
  if (!pending_.empty()) {
    joined = pending_ + std::string(bytes);
    bytes = joined;
  }
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  while (in_left > 0) {
    // UTF-8 takes at most twice the bytes of the encodings of files, plus a character; a
    // character set that needs more gets E2BIG and another round.
    const size_t start = out.size();
    out.resize(start + 2 * in_left + 4);
    char* to = out.data() + start;
    size_t to_left = out.size() - start;
    const size_t converted = iconv(cd_, &in, &in_left, &to, &to_left);
    const int error = errno;
    out.resize(out.size() - to_left);
    if (converted != static_cast<size_t>(-1)) continue;
    if (error == E2BIG) continue;
    const int64_t at = offset_ + static_cast<int64_t>(bytes.size() - in_left);
    if (error == EINVAL) break;  // a character cut at the end: kept for the next chunk
    iconv_close(std::exchange(cd_, kNoConverter));
    return absl::InvalidArgumentError(absl::StrCat("byte ", at, " is not valid ", from_));
  }
  offset_ += static_cast<int64_t>(bytes.size() - in_left);
  pending_ = std::string(bytes.substr(bytes.size() - in_left));
  return absl::OkStatus();
}

absl::Status Utf8Decoder::Finish() const {
  if (cd_ == kNoConverter) return absl::FailedPreconditionError("the decoder failed before");
  if (pending_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the file ends inside a character at byte ", offset_, " (", from_, ")"));
}

}  // namespace touchline::tabular
