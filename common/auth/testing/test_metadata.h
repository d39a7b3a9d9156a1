// Client metadata for calling an Authenticator directly in a test.
#ifndef TOUCHLINE_COMMON_AUTH_TESTING_TEST_METADATA_H_
#define TOUCHLINE_COMMON_AUTH_TESTING_TEST_METADATA_H_

#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/support/string_ref.h"

namespace touchline::auth::testing {

// Holds the strings a metadata multimap of string_refs points into.
class TestMetadata {
 public:
  TestMetadata(std::initializer_list<std::pair<std::string, std::string>> entries)
      : TestMetadata(std::vector<std::pair<std::string, std::string>>(entries)) {}
  // E.g. what a signer's Sign returned.
  explicit TestMetadata(std::vector<std::pair<std::string, std::string>> entries)
      : storage_(std::move(entries)) {
    for (const auto& [key, value] : storage_) map_.emplace(key, value);
  }
  TestMetadata(const TestMetadata&) = delete;
  TestMetadata& operator=(const TestMetadata&) = delete;

  const std::multimap<grpc::string_ref, grpc::string_ref>& map() const { return map_; }

 private:
  std::vector<std::pair<std::string, std::string>> storage_;
  std::multimap<grpc::string_ref, grpc::string_ref> map_;
};

}  // namespace touchline::auth::testing

#endif  // TOUCHLINE_COMMON_AUTH_TESTING_TEST_METADATA_H_
