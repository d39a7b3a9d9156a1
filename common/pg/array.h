// PostgreSQL array literals, for binding a list as one text parameter ($1::text[]).
#ifndef TOUCHLINE_COMMON_PG_ARRAY_H_
#define TOUCHLINE_COMMON_PG_ARRAY_H_

#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace touchline::pg {

// The text[] input form of `elements`: {"a","b"}, every element double-quoted with \ and "
// escaped, so commas, braces, spaces, NULL and non-ASCII text (Chinese) stay literal. An empty
// vector is {}. Bind it as a parameter and cast it: `owner_id = ANY($1::text[])`.
std::string TextArrayLiteral(const std::vector<std::string>& elements);

// The elements of a text[] column value, in order; NULL elements are left out.
std::vector<std::string> ParseTextArray(const pqxx::field& field);

}  // namespace touchline::pg

#endif  // TOUCHLINE_COMMON_PG_ARRAY_H_
