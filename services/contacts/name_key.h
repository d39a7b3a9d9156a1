// Keys under which two customers count as likely duplicates.
#ifndef TOUCHLINE_SERVICES_CONTACTS_NAME_KEY_H_
#define TOUCHLINE_SERVICES_CONTACTS_NAME_KEY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "services/contacts/model.h"

namespace touchline::contacts {

// The normalised form of a customer name, equal for spellings of the same company:
//  1. Unicode NFKC_Casefold, so full-width ＡＢＣ and （） become abc and (), and case goes.
//  2. White space, punctuation, symbols and control characters (general categories Z*,
//     P*, S*, Cc) are removed.
//  3. Company-form suffixes are removed from the end, repeatedly: 有限责任公司, 股份有限公司,
//     集团有限公司, 有限公司, 股份公司, 集团, 公司, 株式会社 anywhere at the end; co, ltd,
//     limited, company, corp, corporation, inc, incorporated, llc, gmbh, plc only as whole
//     words (after a separator, or after a non-Latin letter as in 腾飞Ltd), so "Costco"
//     keeps its "co". "Co., Ltd." goes in two rounds.
// Because separators are ignored, a suffix in brackets is removed like a bare one:
// 深圳市腾飞科技（有限公司）, 深圳市腾飞科技 有限公司 and 深圳市腾飞科技有限公司 all give
// 深圳市腾飞科技. A name made of nothing but company forms keeps them all ("有限公司" gives
// 有限公司, "Company Ltd." gives companyltd): it is then the name. Returns "" only for a
// name of nothing but separators. Precondition: valid UTF-8 (ill-formed bytes become
// U+FFFD).
std::string NameKey(std::string_view display_name);

// Why two customers look alike; the numbers are those of
// touchline.contacts.v1.DuplicateReason.
enum class DedupeReason : int { kPhone = 1, kEmail = 2, kName = 3 };

// The distinct dedupe keys of a (normalised) customer: every contact person's E.164 phone
// number, then every email address, then NameKey(display_name) unless it is empty.
std::vector<std::pair<DedupeReason, std::string>> DedupeKeys(const Customer& customer);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_NAME_KEY_H_
