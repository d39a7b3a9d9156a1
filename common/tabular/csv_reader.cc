#include "common/tabular/csv_reader.h"

#include <array>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace touchline::tabular {
namespace {

// libcsv grows its cell buffer through this: refusing to go past kMaxCellBytes makes a longer
// cell fail with CSV_ENOMEM instead of being held whole. One byte more, because libcsv grows a
// full buffer before it looks at the next byte, even the one that ends the cell.
void* LimitedRealloc(void* buffer, size_t size) {
  if (size > kMaxCellBytes + 1) return nullptr;
  return std::realloc(buffer, size);
}

// Cells are kept as written: the cleaning that follows trims them (and knows the ideographic
// space), and a tab may be the delimiter.
int NoSpace(unsigned char) { return 0; }

}  // namespace

char DetectDelimiter(std::string_view head) {
  constexpr std::array<char, 3> kCandidates = {',', ';', '\t'};
  std::array<int, 3> counts = {0, 0, 0};
  bool quoted = false;
  for (const char c : head) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    for (size_t i = 0; i < kCandidates.size(); ++i) {
      if (c == kCandidates[i]) ++counts[i];
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < kCandidates.size(); ++i) {
    if (counts[i] > counts[best]) best = i;
  }
  return kCandidates[best];
}

CsvReader::CsvReader(char delimiter) {
  csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI);
  csv_set_delim(&parser_, static_cast<unsigned char>(delimiter));
  csv_set_space_func(&parser_, NoSpace);
  csv_set_realloc_func(&parser_, LimitedRealloc);
}

CsvReader::~CsvReader() { csv_free(&parser_); }

void CsvReader::OnCell(void* data, size_t size, void* reader) {
  auto* self = static_cast<CsvReader*>(reader);
  // A row after a carriage return alone (old Mac files) starts on the line being read.
  if (self->row_line_ == 0) self->row_line_ = self->line_;
  if (size == 0) {
    self->row_.cells.emplace_back();
  } else {
    self->row_.cells.emplace_back(static_cast<const char*>(data), size);
  }
}

void CsvReader::OnRowEnd(int /*terminator*/, void* reader) {
  auto* self = static_cast<CsvReader*>(reader);
  self->row_.number = ++self->rows_;
  self->row_.line = self->row_line_;
  self->completed_.push_back(std::exchange(self->row_, Row{}));
  self->row_line_ = 0;
}

absl::Status CsvReader::Failure(std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "row ", rows_ + 1, " (line ", row_line_ != 0 ? row_line_ : line_, "): ", std::string(what)));
}

absl::Status CsvReader::Feed(std::string_view text, const RowFn& on_row) {
  if (failed_) return absl::FailedPreconditionError("the CSV reader failed before");
  // Line by line, so that each row knows the line it starts on.
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t length = newline == std::string_view::npos ? text.size() : newline + 1;
    if (absl::Status status = Parse(text.substr(0, length), on_row); !status.ok()) {
      failed_ = true;
      return status;
    }
    if (newline != std::string_view::npos) ++line_;
    text.remove_prefix(length);
  }
  return absl::OkStatus();
}

absl::Status CsvReader::Parse(std::string_view piece, const RowFn& on_row) {
  if (row_line_ == 0 && piece.find_first_not_of("\r\n") != std::string_view::npos) {
    row_line_ = line_;
  }
  const bool parsed =
      csv_parse(&parser_, piece.data(), piece.size(), OnCell, OnRowEnd, this) == piece.size();
  // The rows completed before an error are good; the error is in the row after them.
  if (absl::Status status = Deliver(on_row); !status.ok()) return status;
  if (parsed) return absl::OkStatus();
  if (csv_error(&parser_) == CSV_ENOMEM) {
    return Failure(absl::StrCat("a cell is longer than ", kMaxCellBytes, " bytes"));
  }
  return Failure(
      "a quote inside a cell that does not start with one, or text after a closing quote (a "
      "quote in a cell is written twice, and the cell quoted)");
}

absl::Status CsvReader::Deliver(const RowFn& on_row) {
  std::vector<Row> rows = std::exchange(completed_, {});
  for (Row& row : rows) {
    if (absl::Status status = on_row(row); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CsvReader::Finish(const RowFn& on_row) {
  if (failed_) return absl::FailedPreconditionError("the CSV reader failed before");
  failed_ = true;  // nothing may follow the end
  const bool closed = csv_fini(&parser_, OnCell, OnRowEnd, this) == 0;
  if (!closed) return Failure("a quoted cell is not closed by the end of the file");
  return Deliver(on_row);
}

CsvFileReader::CsvFileReader(CsvFileOptions options) : options_(std::move(options)) {}

absl::Status CsvFileReader::Feed(std::string_view bytes, const CsvReader::RowFn& on_row) {
  if (failed_) return absl::FailedPreconditionError("the CSV reader failed before");
  if (csv_ != nullptr) return Read(bytes, on_row);
  head_.append(bytes);
  if (head_.size() < kDetectBytes) return absl::OkStatus();
  return Start(on_row);
}

absl::Status CsvFileReader::Finish(const CsvReader::RowFn& on_row) {
  if (failed_) return absl::FailedPreconditionError("the CSV reader failed before");
  if (csv_ == nullptr) {
    if (absl::Status status = Start(on_row); !status.ok()) return status;
  }
  failed_ = true;  // nothing may follow the end
  if (absl::Status status = decoder_->Finish(); !status.ok()) return status;
  return csv_->Finish(on_row);
}

absl::Status CsvFileReader::Start(const CsvReader::RowFn& on_row) {
  DetectedEncoding detected = DetectEncoding(head_);
  if (options_.encoding.has_value()) {
    // A byte order mark of another encoding than the one given is read as text.
    const bool same = detected.encoding == *options_.encoding && detected.bom_bytes > 0;
    detected = {*options_.encoding, same ? detected.bom_bytes : 0, "given"};
  }
  encoding_ = detected;
  absl::StatusOr<Utf8Decoder> decoder = Utf8Decoder::Create(detected.encoding);
  if (!decoder.ok()) {
    failed_ = true;
    return decoder.status();
  }
  decoder_.emplace(*std::move(decoder));
  const std::string head = std::exchange(head_, {});
  std::string text;
  if (absl::Status status = decoder_->Decode(head, text); !status.ok()) {
    failed_ = true;
    return status;
  }
  // The mark decodes to U+FEFF; decoding it with the rest keeps the bytes' offsets the file's.
  constexpr std::string_view kMark = "\xEF\xBB\xBF";  // U+FEFF in UTF-8
  if (detected.bom_bytes > 0 && text.starts_with(kMark)) text.erase(0, kMark.size());
  delimiter_ = options_.delimiter.value_or(DetectDelimiter(text));
  csv_ = std::make_unique<CsvReader>(*delimiter_);
  if (absl::Status status = csv_->Feed(text, on_row); !status.ok()) {
    failed_ = true;
    return status;
  }
  return absl::OkStatus();
}

absl::Status CsvFileReader::Read(std::string_view bytes, const CsvReader::RowFn& on_row) {
  std::string text;
  absl::Status status = decoder_->Decode(bytes, text);
  if (status.ok()) status = csv_->Feed(text, on_row);
  if (!status.ok()) failed_ = true;
  return status;
}

}  // namespace touchline::tabular
