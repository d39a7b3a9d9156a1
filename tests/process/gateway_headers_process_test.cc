// The gateway's HTTP front against hostile headers, from an unauthenticated client: random
// header names and values of every byte value, long values and many headers, sent raw to the
// real gateway process, which must answer each and keep serving; credentials and request ids
// gRPC cannot carry; the limits on header count and size (431).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/suite.h"

namespace touchline {
namespace {

using testing::HttpReply;
using testing::RawHttpCall;
using testing::Suite;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kTenant[] = "acme";

struct World {
  std::unique_ptr<Suite> suite;
  std::string admin_token;
};
World* world = nullptr;

HttpReply Raw(const std::string& method, const std::string& path, const Headers& headers,
              const std::string& body = "") {
  return RawHttpCall(world->suite->gateway_http_port(), method, path, headers, body);
}

HttpReply LoginWith(Headers headers) {
  headers.emplace_back("X-Touchline-Tenant", kTenant);
  headers.emplace_back("Content-Type", "application/json");
  return Raw(
      "POST", "/v1/sessions:login", headers,
      R"({"username":"admin","password":")" + std::string(testing::kAdminPassword) + R"("})");
}

HttpReply ListWith(Headers headers) {
  headers.emplace_back("Authorization", "Bearer " + world->admin_token);
  return Raw("GET", "/v1/customers?pageSize=1", headers);
}

std::string GatewayLogPath() {
  const std::string& services_log = world->suite->log_path();
  return services_log.substr(0, services_log.rfind('/')) + "/gateway.log";
}

// Whether the gateway still serves a signed-in list (the process died if no reply came).
bool GatewayServes() { return ListWith({}).status == 200; }

class GatewayHeadersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world = new World;
    Suite::Options options;
    options.tenants = {kTenant};
    options.gateway = true;
    world->suite = std::make_unique<Suite>(options);
    if (::testing::Test::HasFatalFailure()) return;
    const HttpReply login = LoginWith({});
    ASSERT_EQ(login.status, 200) << login.body;
    world->admin_token = login.json.value("accessToken", "");
    ASSERT_FALSE(world->admin_token.empty());
  }
  static void TearDownTestSuite() {
    delete world;
    world = nullptr;
  }
  void SetUp() override {
    if (world->suite == nullptr || world->admin_token.empty()) GTEST_SKIP() << "no suite";
  }
};

TEST_F(GatewayHeadersTest, TheReportedRequestIsAnsweredAndTheGatewayLives) {
  // The issue's curl line: a UTF-8 header value on an unauthenticated login.
  const HttpReply reply = Raw("POST", "/v1/sessions:login",
                              {{"X-Touchline-Tenant", kTenant}, {"X-Note", "\xe5\xbc\xa0"}}, "{}");
  EXPECT_EQ(reply.status, 401) << reply.body;
  // Headers the gateway does not pass on do not stop a good login either.
  EXPECT_EQ(LoginWith({{"X-Note", "张三"}, {"X-Bad!", "v"}, {"X-Byte", "\xe9\xff"}}).status, 200);
  // A control character in a header value is not HTTP (RFC 9110 5.5): refused as malformed.
  const HttpReply control = LoginWith({{"X-Byte", "a\x01"}});
  EXPECT_EQ(control.status, 400) << control.body;
  EXPECT_EQ(control.json.value("code", 0), 3) << control.body;
  EXPECT_TRUE(GatewayServes());
}

TEST_F(GatewayHeadersTest, CredentialsGrpcCannotCarryAre401) {
  for (const Headers& credential :
       {Headers{{"X-Api-Key", "tlk_acme_\xe5\xbc\xa0"}}, Headers{{"X-Api-Key", "\xe9"}},
        Headers{{"Authorization", "Bearer \xe5\xbc\xa0"}}}) {
    const HttpReply reply = Raw("GET", "/v1/customers", credential);
    EXPECT_EQ(reply.status, 401) << credential[0].second << " " << reply.body;
    EXPECT_EQ(reply.json.value("code", 0), 16) << reply.body;
    EXPECT_EQ(reply.header("www-authenticate"), R"(Bearer realm="touchline")");
  }
  // With a control character the request is not HTTP and never reaches the authenticator.
  EXPECT_EQ(Raw("GET", "/v1/customers", {{"Authorization", "Bearer a\x01z"}}).status, 400);
  // Login takes no credential: one that gRPC could not carry is not passed on.
  EXPECT_EQ(LoginWith({{"X-Api-Key", "\xe9"}}).status, 200);
  // A tenant gRPC could not carry is no tenant.
  EXPECT_EQ(Raw("POST", "/v1/sessions:login", {{"X-Touchline-Tenant", "acme\xe9"}}, "{}").status,
            401);
  EXPECT_TRUE(GatewayServes());
}

TEST_F(GatewayHeadersTest, ARequestIdGrpcCannotCarryIsReplacedWithAFreshOne) {
  for (const std::string& bad :
       {std::string("张三"), std::string("id\xff"), std::string(200, 'r')}) {
    const HttpReply reply = ListWith({{"X-Request-Id", bad}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    const std::string used = reply.header("x-request-id");
    EXPECT_EQ(used.size(), 36u) << used;  // a UUID
    EXPECT_NE(used, bad);
  }
  EXPECT_EQ(ListWith({{"X-Request-Id", "trace-0001"}}).header("x-request-id"), "trace-0001");
}

TEST_F(GatewayHeadersTest, TooManyOrTooLargeHeadersAre431) {
  Headers thousand;
  for (int i = 0; i < 1000; ++i) thousand.emplace_back("X-H" + std::to_string(i), "v");
  const HttpReply many = ListWith(thousand);
  EXPECT_EQ(many.status, 431) << many.body;
  EXPECT_EQ(many.json.value("code", 0), 3) << many.body;
  EXPECT_EQ(many.header("retry-after"), "");
  // At the limit of 100 fields (with the Host, Content-Length, Connection and Authorization
  // the call adds) it is served; one more is too many.
  Headers at_limit(thousand.begin(), thousand.begin() + 96);
  EXPECT_EQ(ListWith(at_limit).status, 200);
  at_limit.emplace_back("X-One-More", "v");
  EXPECT_EQ(ListWith(at_limit).status, 431);
  // Few fields, too many bytes together (each line under the parser's 8 KiB).
  const Headers large = {{"X-A", std::string(6000, 'a')},
                         {"X-B", std::string(6000, 'b')},
                         {"X-C", std::string(6000, 'c')}};
  EXPECT_EQ(ListWith(large).status, 431);
  // Unauthenticated, before any other check.
  const HttpReply anonymous = Raw("POST", "/v1/sessions:login", thousand, "{}");
  EXPECT_EQ(anonymous.status, 431) << anonymous.body;
  EXPECT_TRUE(GatewayServes());
}

// Random bytes for a header name or value: from `alphabet` (all 256 byte values when empty).
std::string RandomBytes(std::mt19937& random, size_t length, const std::string& alphabet = "") {
  std::string bytes(length, '\0');
  for (char& c : bytes) {
    c = alphabet.empty() ? static_cast<char>(random() & 0xff)
                         : alphabet[random() % alphabet.size()];
  }
  return bytes;
}

TEST_F(GatewayHeadersTest, RandomHeadersNeverStopTheGateway) {
  constexpr uint32_t kSeed = 20261206;
  constexpr int kRequests = 700;
  std::mt19937 random(kSeed);
  const std::string printable = [] {
    std::string s;
    for (int c = 0x20; c < 0x7f; ++c) s.push_back(static_cast<char>(c));
    return s;
  }();
  const std::vector<std::string> sensitive = {
      "X-Api-Key",          "Authorization", "X-Request-Id", "X-Touchline-Tenant",
      "X-Touchline-Caller", "Content-Type",  "Origin",       "Grpc-Timeout"};
  std::map<int, int> statuses;
  for (int i = 0; i < kRequests; ++i) {
    const int byte = i % 256;
    Headers headers;
    switch (i % 7) {
      case 0:  // every byte value in a value
        headers.emplace_back("X-Byte", "a" + std::string(1, static_cast<char>(byte)) + "b");
        break;
      case 1:  // every byte value in a name
        headers.emplace_back("X-" + std::string(1, static_cast<char>(byte)), "v");
        break;
      case 2:  // random names and values
        for (size_t n = 1 + random() % 8; n > 0; --n) {
          headers.emplace_back(RandomBytes(random, 1 + random() % 24),
                               RandomBytes(random, random() % 64));
        }
        break;
      case 3:  // the headers that matter, with random values
        headers.emplace_back(sensitive[random() % sensitive.size()],
                             RandomBytes(random, random() % 80));
        break;
      case 4:  // long values, some over the parser's 8 KiB line
        headers.emplace_back(
            "X-Long", RandomBytes(random, 1000 + random() % 12000, random() % 2 ? printable : ""));
        break;
      case 5:  // many headers (of any byte but CR and LF, which the cases above send)
        for (size_t n = 50 + random() % 1500; n > 0; --n) {
          std::string value = RandomBytes(random, random() % 16);
          std::replace(value.begin(), value.end(), '\r', ' ');
          std::replace(value.begin(), value.end(), '\n', ' ');
          headers.emplace_back("X-" + RandomBytes(random, 1 + random() % 6, printable), value);
        }
        break;
      case 6:  // a printable but unusual name
        headers.emplace_back(RandomBytes(random, 1 + random() % 30, printable), "v");
        break;
    }
    const int route = static_cast<int>(random() % 3);
    if (route == 1) headers.emplace_back("Authorization", "Bearer " + world->admin_token);
    const absl::Time sent = absl::Now();
    const HttpReply reply = route == 0 ? Raw(
                                             "POST", "/v1/sessions:login",
                                             [&] {
                                               Headers h = headers;
                                               h.emplace_back("X-Touchline-Tenant", kTenant);
                                               return h;
                                             }(),
                                             "{}")
                            : route == 1 ? Raw("GET", "/v1/customers?pageSize=1", headers)
                                         : Raw("GET", "/v1/customers/c-1/360", headers);
    ++statuses[reply.status];
    if (absl::Now() - sent > absl::Seconds(2)) {
      std::printf("request %d (kind %d, route %d) took %s, status %d\n", i, i % 7, route,
                  absl::FormatDuration(absl::Now() - sent).c_str(), reply.status);
      std::fflush(stdout);
    }
    EXPECT_LT(reply.status, 500) << "request " << i << ": " << reply.body;
    // No answer is fair when the bytes broke HTTP's framing (a CR or LF in a name): the
    // server closes. Then, and every 50 requests, the gateway must still serve.
    if (reply.status == 0 || i % 50 == 49) {
      ASSERT_TRUE(GatewayServes())
          << "after request " << i << " (seed " << kSeed << "); gateway log:\n"
          << testing::ReadFile(GatewayLogPath());
    }
  }
  EXPECT_TRUE(GatewayServes());
  std::string summary;
  for (const auto& [status, count] : statuses) {
    summary += std::to_string(status) + ": " + std::to_string(count) + "  ";
  }
  std::printf("%d requests with random headers (seed %u), statuses (0: closed unanswered) %s\n",
              kRequests, kSeed, summary.c_str());
}

}  // namespace
}  // namespace touchline
