// The text encodings of the files people import: UTF-8, GB18030 (and GBK, its subset: what Excel
// and WPS save as "CSV" in China) and UTF-16 (Excel's "Unicode text"). Detection as
// ../shared/TOOLCHAIN.md says: a byte order mark decides; else valid UTF-8; else GB18030.
// Decoding to UTF-8 chunk by chunk, with glibc's iconv. Pure code: no I/O.
#ifndef TOUCHLINE_COMMON_TABULAR_ENCODING_H_
#define TOUCHLINE_COMMON_TABULAR_ENCODING_H_

#include <iconv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace touchline::tabular {

enum class Encoding { kUtf8, kGb18030, kUtf16Le, kUtf16Be };

// "UTF-8", "GB18030", "UTF-16LE" or "UTF-16BE".
std::string_view EncodingName(Encoding encoding);

// An encoding as a request names it, case-insensitively: "utf-8" or "utf8"; "gb18030", and
// "gbk", "gb2312", "cp936" read as GB18030 (their superset); "utf-16le", "utf-16be".
// INVALID_ARGUMENT naming the accepted names otherwise.
absl::StatusOr<Encoding> ParseEncoding(std::string_view name);

// What DetectEncoding decided, and why (a dry run shows it).
struct DetectedEncoding {
  Encoding encoding = Encoding::kUtf8;
  // The byte order mark's length: the bytes a reader skips before decoding.
  size_t bom_bytes = 0;
  // "byte order mark", "valid UTF-8" or "not valid UTF-8".
  std::string_view reason;
};

// The encoding of a file that begins with `head` (its first kilobytes): a byte order mark
// (UTF-8, UTF-16LE, UTF-16BE) decides; else UTF-8 when `head` is valid UTF-8 (a character cut
// at its end counts as valid: the rest is not in `head`); else GB18030.
DetectedEncoding DetectEncoding(std::string_view head);

// `bytes` in the character set `charset` (any name iconv knows: "UTF-8", "GB2312", "BIG5",
// "ISO-8859-1"...) as UTF-8, all at once. INVALID_ARGUMENT for a character set iconv does not
// know, or bytes that are not of it (naming the first bad byte's offset).
absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string_view charset);

// Converts a stream of bytes in one encoding to UTF-8, chunk by chunk: a character split between
// two chunks is kept until the next one. UTF-8 input is checked the same way. A byte order mark
// is not skipped here (DetectedEncoding::bom_bytes). Not thread-safe.
class Utf8Decoder {
 public:
  // INTERNAL when iconv cannot convert from `encoding` (a libc without it).
  static absl::StatusOr<Utf8Decoder> Create(Encoding encoding);
  ~Utf8Decoder();
  Utf8Decoder(Utf8Decoder&& other) noexcept;
  Utf8Decoder& operator=(Utf8Decoder&&) = delete;
  Utf8Decoder(const Utf8Decoder&) = delete;
  Utf8Decoder& operator=(const Utf8Decoder&) = delete;

  // Appends the UTF-8 of `bytes`, the stream's next bytes, to `out`. INVALID_ARGUMENT naming
  // the byte's offset in the stream (from 0) for bytes that are not a character of the
  // encoding, e.g. "byte 1,234 is not valid GB18030"; the decoder is then done.
  absl::Status Decode(std::string_view bytes, std::string& out);
  // The end of the stream: INVALID_ARGUMENT when it ends inside a character.
  absl::Status Finish() const;

 private:
  friend absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string_view charset);
  // A decoder from the character set iconv calls `from`.
  static absl::StatusOr<Utf8Decoder> Open(std::string from);
  Utf8Decoder(std::string from, iconv_t cd) : from_(std::move(from)), cd_(cd) {}

  std::string from_;
  iconv_t cd_;
  // The start of a character cut at the end of the previous chunk.
  std::string pending_;
  // Bytes of the stream consumed before pending_.
  int64_t offset_ = 0;
};

}  // namespace touchline::tabular

#endif  // TOUCHLINE_COMMON_TABULAR_ENCODING_H_
