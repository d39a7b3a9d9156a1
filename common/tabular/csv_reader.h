// CSV as RFC 4180 writes it and Excel, WPS, Google Contacts and Outlook save it: quoted cells
// with embedded newlines, delimiters and doubled quotes; a comma, semicolon or tab between
// cells; LF or CRLF between rows. Read by libcsv (a byte-level state machine, so a quoted newline
// never splits a row) from UTF-8 text (encoding.h turns other encodings into it), chunk by
// chunk, so a file is never held whole. Pure code: no I/O.
#ifndef TOUCHLINE_COMMON_TABULAR_CSV_READER_H_
#define TOUCHLINE_COMMON_TABULAR_CSV_READER_H_

#include <csv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/tabular/encoding.h"

namespace touchline::tabular {

// One row of a table file as its reader found it: the cells as written, untrimmed.
struct Row {
  // Its ordinal in the file, from 1: a header is row 1. Blank lines are not rows.
  int64_t number = 0;
  // The line of the file it starts on, from 1.
  int64_t line = 0;
  std::vector<std::string> cells;
};

// The longest cell a reader takes: 1 MiB. A longer one is an error naming its row, and the
// reader never holds more than this of it.
inline constexpr size_t kMaxCellBytes = size_t{1} << 20;

// The delimiter of a CSV file whose text begins with `head`: of ',', ';' and '\t', the one
// found most often outside quotes in the first row (ties go in that order); ',' when none is.
char DetectDelimiter(std::string_view head);

// Reads the rows of one CSV file. Not thread-safe.
class CsvReader {
 public:
  // Called with each complete row, in order; an error stops the reader and is returned.
  using RowFn = std::function<absl::Status(Row& row)>;

  explicit CsvReader(char delimiter);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the file's next UTF-8 text (any split: a row, a cell or a character may continue in
  // the next call) and passes each row completed in it to `on_row`. INVALID_ARGUMENT naming the
  // row and line for a quote inside an unquoted cell, text after a closing quote, or a cell
  // longer than kMaxCellBytes; the reader is then done.
  absl::Status Feed(std::string_view text, const RowFn& on_row);
  // The end of the file: its last row, when no newline ended it, to `on_row`. INVALID_ARGUMENT
  // naming the row when a quoted cell is still open.
  absl::Status Finish(const RowFn& on_row);

 private:
  static void OnCell(void* data, size_t size, void* reader);
  static void OnRowEnd(int terminator, void* reader);
  // Feeds `piece` (no newline before its end) to libcsv, then the completed rows to on_row.
  absl::Status Parse(std::string_view piece, const RowFn& on_row);
  absl::Status Deliver(const RowFn& on_row);
  absl::Status Failure(std::string_view what) const;

  csv_parser parser_;
  bool failed_ = false;
  // The line being read, from 1, and the line of the row being read (0 before it starts).
  int64_t line_ = 1;
  int64_t row_line_ = 0;
  int64_t rows_ = 0;
  Row row_;
  // Rows completed by the current libcsv call, delivered after it.
  std::vector<Row> completed_;
};

// How a CSV file's bytes are read; unset: detected.
struct CsvFileOptions {
  std::optional<Encoding> encoding;
  std::optional<char> delimiter;
};

// Reads a CSV file from its bytes as they arrive: the encoding detected from its first
// kDetectBytes bytes (DetectEncoding) unless given, a byte order mark skipped, the text decoded
// to UTF-8, the delimiter detected from the first row (DetectDelimiter) unless given, and the
// rows read by a CsvReader. Not thread-safe.
class CsvFileReader {
 public:
  // The bytes detection looks at (fewer when the file is shorter).
  static constexpr size_t kDetectBytes = 64 * 1024;

  explicit CsvFileReader(CsvFileOptions options = {});

  // Reads the file's next bytes; rows as CsvReader::Feed passes them. INVALID_ARGUMENT for bytes
  // that are not of the encoding (naming the byte) and as CsvReader::Feed; the reader is then
  // done.
  absl::Status Feed(std::string_view bytes, const CsvReader::RowFn& on_row);
  // The end of the file; as CsvReader::Finish, and INVALID_ARGUMENT when it ends inside a
  // character.
  absl::Status Finish(const CsvReader::RowFn& on_row);

  // What was used, once known (after kDetectBytes bytes or the end of the file): the encoding
  // and why (a dry run shows it), and the delimiter.
  const std::optional<DetectedEncoding>& encoding() const { return encoding_; }
  std::optional<char> delimiter() const { return delimiter_; }

 private:
  // Detects what was not given from head_, then reads it.
  absl::Status Start(const CsvReader::RowFn& on_row);
  absl::Status Read(std::string_view bytes, const CsvReader::RowFn& on_row);

  const CsvFileOptions options_;
  // The first bytes, held until detection.
  std::string head_;
  std::optional<DetectedEncoding> encoding_;
  std::optional<char> delimiter_;
  std::optional<Utf8Decoder> decoder_;
  std::unique_ptr<CsvReader> csv_;
  bool failed_ = false;
};

}  // namespace touchline::tabular

#endif  // TOUCHLINE_COMMON_TABULAR_CSV_READER_H_
