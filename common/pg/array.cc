#include "common/pg/array.h"

#include <tuple>
#include <utility>

#include <pqxx/pqxx>

namespace touchline::pg {

std::string TextArrayLiteral(const std::vector<std::string>& elements) {
  std::string literal = "{";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : elements[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  pqxx::array_parser parser = field.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::string_value) out.push_back(std::move(value));
  }
  return out;
}

}  // namespace touchline::pg
