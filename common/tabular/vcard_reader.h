// vCard 2.1, 3.0 and 4.0 files (RFC 2426, RFC 6350) as phones, Outlook and Google Contacts
// export them: folded lines, quoted-printable values with soft line breaks, CHARSET on a
// property, TYPE parameters (TYPE=CELL, TYPE=work,voice, or 2.1's bare CELL), escaped text
// and structured values (N, ADR, ORG). Read card by card from the file's bytes as they arrive.
// Pure code: no I/O.
#ifndef TOUCHLINE_COMMON_TABULAR_VCARD_READER_H_
#define TOUCHLINE_COMMON_TABULAR_VCARD_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace touchline::tabular {

// One property of a card, decoded to UTF-8.
struct VCardProperty {
  // Upper case, without its group: "TEL", "EMAIL", "N", "X-WECHAT".
  std::string name;
  // Its TYPE parameters, lower case, in order: {"cell", "voice"}; "pref" for PREF=1 too.
  std::vector<std::string> types;
  // The value's components, unescaped: one for a plain value; N's family, given, additional
  // names, prefixes and suffixes; ADR's seven parts; ORG's organisation and units.
  std::vector<std::string> components;
};

// One card.
struct VCard {
  // Its ordinal in the file, from 1, and the line of its BEGIN:VCARD.
  int64_t number = 0;
  int64_t line = 0;
  // "3.0", "4.0", "2.1", or "" when the card has no VERSION.
  std::string version;
  std::vector<VCardProperty> properties;
  // What was left out and why, e.g. "PHOTO ignored (binary data)".
  std::vector<std::string> notes;
};

// Reads the cards of one vCard file. A value's bytes are decoded from its CHARSET when it has
// one, else as UTF-8 when they are valid UTF-8, else as GB18030. Not thread-safe.
class VCardReader {
 public:
  using CardFn = std::function<absl::Status(VCard& card)>;

  // Reads the file's next bytes (any split) and passes each card completed in them to
  // `on_card`. INVALID_ARGUMENT naming the line for a property outside a card, a card inside a
  // card, a line without ':', a value that does not decode, or a line longer than 1 MiB; the
  // reader is then done.
  absl::Status Feed(std::string_view bytes, const CardFn& on_card);
  // The end of the file. INVALID_ARGUMENT when a card is not ended by END:VCARD.
  absl::Status Finish(const CardFn& on_card);

 private:
  // Takes one physical line (without its line break), unfolding it into the logical line.
  absl::Status TakeLine(std::string_view line, const CardFn& on_card);
  // Handles the complete logical line that started on `logical_line_`.
  absl::Status HandleLogicalLine(const CardFn& on_card);
  absl::Status Failure(int64_t line, std::string_view what);

  bool failed_ = false;
  // Bytes of a physical line not yet ended by a line break.
  std::string partial_;
  // The physical lines read so far.
  int64_t lines_ = 0;
  // The logical line being unfolded, the line it started on, and whether it continues with
  // the next physical line (a quoted-printable soft line break).
  std::string logical_;
  int64_t logical_line_ = 0;
  bool soft_break_ = false;
  bool in_card_ = false;
  int64_t cards_ = 0;
  VCard card_;
};

}  // namespace touchline::tabular

#endif  // TOUCHLINE_COMMON_TABULAR_VCARD_READER_H_
