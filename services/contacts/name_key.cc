#include "services/contacts/name_key.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/uscript.h"

namespace touchline::contacts {
namespace {

struct CompanySuffix {
  std::u32string text;  // Case-folded, without separators.
  // Latin words must stand alone; CJK is written without spaces, so its forms may not.
  bool whole_word;
};

// Longest first within each script, so 有限公司 goes before 公司 would leave 有限.
const std::vector<CompanySuffix>& CompanySuffixes() {
  static const auto* suffixes = new std::vector<CompanySuffix>{
      {U"有限责任公司", false},
      {U"股份有限公司", false},
      {U"集团有限公司", false},
      {U"有限公司", false},
      {U"股份公司", false},
      {U"株式会社", false},
      {U"集团", false},
      {U"公司", false},
      {U"incorporated", true},
      {U"corporation", true},
      {U"limited", true},
      {U"company", true},
      {U"gmbh", true},
      {U"corp", true},
      {U"ltd", true},
      {U"inc", true},
      {U"llc", true},
      {U"plc", true},
      {U"co", true},
  };
  return *suffixes;
}

bool IsSeparator(UChar32 c) {
  constexpr uint32_t kSeparatorCategories = U_GC_Z_MASK | U_GC_P_MASK | U_GC_S_MASK | U_GC_CC_MASK;
  return (U_GET_GC_MASK(c) & kSeparatorCategories) != 0 || u_isUWhiteSpace(c);
}

// A Latin word continues across letters of the Latin script and digits.
bool IsLatinWordChar(UChar32 c) {
  UErrorCode error = U_ZERO_ERROR;
  return u_isdigit(c) || uscript_getScript(c, &error) == USCRIPT_LATIN;
}

}  // namespace

std::string NameKey(std::string_view display_name) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_casefold = icu::Normalizer2::getNFKCCasefoldInstance(error);
  icu::UnicodeString folded;
  if (U_SUCCESS(error)) {
    folded = nfkc_casefold->normalize(
        icu::UnicodeString::fromUTF8(
            icu::StringPiece(display_name.data(), static_cast<int32_t>(display_name.size()))),
        error);
  }
  // The normalisation data is built into libicu; failing to load it is a broken install,
  // and a key without folding would silently miss duplicates.
  if (U_FAILURE(error)) std::abort();

  // The name without separators, and where each separated word began.
  std::u32string compact;
  std::vector<bool> word_start;
  bool after_separator = true;
  for (int32_t i = 0; i < folded.length(); i = folded.moveIndex32(i, 1)) {
    const UChar32 c = folded.char32At(i);
    if (IsSeparator(c)) {
      after_separator = true;
      continue;
    }
    compact.push_back(static_cast<char32_t>(c));
    word_start.push_back(after_separator);
    after_separator = false;
  }

  // A name made of nothing but company forms ("有限公司", "Company Ltd.") is kept whole:
  // it is the name.
  const std::u32string unstripped = compact;
  for (bool removed = true; removed;) {
    removed = false;
    for (const CompanySuffix& suffix : CompanySuffixes()) {
      if (!compact.ends_with(suffix.text)) continue;
      const size_t start = compact.size() - suffix.text.size();
      if (suffix.whole_word && start > 0 && !word_start[start] &&
          IsLatinWordChar(static_cast<UChar32>(compact[start - 1]))) {
        continue;
      }
      compact.resize(start);
      removed = true;
      break;
    }
  }
  if (compact.empty()) compact = unstripped;

  std::string key;
  icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(compact.data()),
                                static_cast<int32_t>(compact.size()))
      .toUTF8String(key);
  return key;
}

std::vector<std::pair<DedupeReason, std::string>> DedupeKeys(const Customer& customer) {
  std::vector<std::pair<DedupeReason, std::string>> keys;
  auto add = [&keys](DedupeReason reason, std::string value) {
    if (value.empty()) return;
    std::pair<DedupeReason, std::string> key(reason, std::move(value));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  for (const ContactPerson& person : customer.contact_persons) {
    for (const Phone& phone : person.phones) add(DedupeReason::kPhone, phone.number);
  }
  for (const ContactPerson& person : customer.contact_persons) {
    for (const Email& email : person.emails) add(DedupeReason::kEmail, email.address);
  }
  add(DedupeReason::kName, NameKey(customer.display_name));
  return keys;
}

}  // namespace touchline::contacts
