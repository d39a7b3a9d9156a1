// The gateway's HTTP front against slow and idle clients and against too many connections,
// on the real gateway process: a normal client keeps being served at its usual latency while
// 2,000 idle connections and 500 clients that never finish their request head are held open;
// a head that does not arrive in time and a connection left idle are cut at their deadlines;
// connections over the limits (in total, per client address) are answered 503.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/suite.h"

namespace touchline {
namespace {

using testing::HttpCall;
using testing::HttpReply;
using testing::OpenConnection;
using testing::RawHttpCall;
using testing::Suite;

constexpr char kTenant[] = "acme";
constexpr int kIdleConnections = 2000;
constexpr int kSlowClients = 500;

struct World {
  std::unique_ptr<Suite> suite;
  std::string admin_token;
};
World* world = nullptr;

int Port() { return world->suite->gateway_http_port(); }

// Sends all of `bytes`; false when the connection is gone.
bool SendAll(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Whether the server still holds `fd` open: nothing to read and no end of stream.
bool StillOpen(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// How long until the server closes `fd` (reads and drops what it sends), calling `tick`
// every `every` meanwhile; absl::InfiniteDuration() when it is still open after `limit`.
template <typename Tick>
absl::Duration TimeUntilClosed(int fd, absl::Duration limit, absl::Duration every, Tick tick) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < limit) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(every))) > 0) {
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return absl::Now() - start;
      continue;
    }
    tick();
  }
  return absl::InfiniteDuration();
}

// The status of the next response on `fd` (0 when none came), its body read past.
int ReadStatus(int fd) {
  std::string raw;
  char buffer[4096];
  size_t head_end = std::string::npos;
  size_t length = 0;
  while (true) {
    if (head_end == std::string::npos && (head_end = raw.find("\r\n\r\n")) != std::string::npos) {
      const size_t at = raw.find("Content-Length: ");
      if (at == std::string::npos || at > head_end ||
          !absl::SimpleAtoi(raw.substr(at + 16, raw.find("\r\n", at) - at - 16), &length)) {
        return 0;
      }
    }
    if (head_end != std::string::npos && raw.size() >= head_end + 4 + length) break;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return 0;
    raw.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  return absl::SimpleAtoi(raw.substr(9, 3), &status) ? status : 0;
}

// Connections the test holds, closed when it goes.
class Held {
 public:
  Held() = default;
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  ~Held() {
    for (const int fd : fds_) ::close(fd);
  }
  // Opens `n` more from `source`; false if one could not be opened.
  bool Open(int n, const std::string& source = "") {
    for (int i = 0; i < n; ++i) {
      const int fd = OpenConnection(Port(), source);
      if (fd < 0) return false;
      fds_.push_back(fd);
    }
    return true;
  }
  void CloseOne() {
    ::close(fds_.back());
    fds_.pop_back();
  }
  const std::vector<int>& fds() const { return fds_; }
  int StillOpenCount() const {
    return static_cast<int>(std::count_if(fds_.begin(), fds_.end(), StillOpen));
  }

 private:
  std::vector<int> fds_;
};

// Clients that begin a request and send one more header line every second, never ending the
// head: the slow-loris pattern.
class SlowClients {
 public:
  explicit SlowClients(int n) {
    ok_ = held_.Open(n);
    for (const int fd : held_.fds()) {
      ok_ = ok_ && SendAll(fd, "GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    sender_ = std::thread([this] {
      for (int line = 0; !stop_.load(); ++line) {
        for (const int fd : held_.fds()) {
          ::send(fd, "X-Slow: still here\r\n", 20, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        for (int i = 0; i < 10 && !stop_.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  ~SlowClients() {
    stop_.store(true);
    sender_.join();
  }
  bool ok() const { return ok_; }
  const Held& held() const { return held_; }

 private:
  Held held_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread sender_;
};

// Latencies of `n` signed-in list calls, each on a new connection, sorted; a call that is not
// answered 200 fails the test.
std::vector<absl::Duration> ListLatencies(int n) {
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < n; ++i) {
    const absl::Time start = absl::Now();
    const HttpReply reply = HttpCall(Port(), "GET", "/v1/customers?pageSize=1", world->admin_token);
    latencies.push_back(absl::Now() - start);
    EXPECT_EQ(reply.status, 200) << reply.body;
  }
  std::sort(latencies.begin(), latencies.end());
  return latencies;
}

std::string Summary(const std::vector<absl::Duration>& sorted) {
  return "median " + absl::FormatDuration(sorted[sorted.size() / 2]) + ", max " +
         absl::FormatDuration(sorted.back());
}

class GatewayConnectionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The test holds 2,500 connections; the gateway lifts its own limit.
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(kIdleConnections + kSlowClients + 200))
        << "the hard limit on open files is too low for this test";

    world = new World;
    Suite::Options options;
    options.tenants = {kTenant};
    options.gateway = true;
    world->suite = std::make_unique<Suite>(options);
    if (::testing::Test::HasFatalFailure()) return;
    world->admin_token = world->suite->AdminToken(kTenant);
  }
  static void TearDownTestSuite() {
    delete world;
    world = nullptr;
  }
  void SetUp() override {
    if (world->suite == nullptr || world->admin_token.empty()) GTEST_SKIP() << "no suite";
  }
};

TEST_F(GatewayConnectionsTest, ANormalClientIsServedAsUsualWhileSlowAndIdleClientsAreHeld) {
  ListLatencies(5);  // warm: scope cache, channels
  const std::vector<absl::Duration> before = ListLatencies(20);

  Held idle;
  ASSERT_TRUE(idle.Open(kIdleConnections));
  SlowClients slow(kSlowClients);
  ASSERT_TRUE(slow.ok());
  absl::SleepFor(absl::Milliseconds(1500));  // every slow client has sent more lines
  const std::vector<absl::Duration> during = ListLatencies(20);

  // All held open by the gateway the whole time (the request deadline is 10 s by default).
  EXPECT_EQ(idle.StillOpenCount(), kIdleConnections);
  EXPECT_EQ(slow.held().StillOpenCount(), kSlowClients);
  std::printf("list latency: before %s; with %d idle and %d slow connections held %s\n",
              Summary(before).c_str(), kIdleConnections, kSlowClients, Summary(during).c_str());
  EXPECT_LE(during[during.size() / 2], 3 * before[before.size() / 2] + absl::Milliseconds(25));
  EXPECT_LT(during.back(), absl::Seconds(1));
}

TEST_F(GatewayConnectionsTest, SlowHeadsAndIdleConnectionsAreCutAtTheirDeadlines) {
  world->suite->StartGateway({"--http_request_timeout=1s", "--http_idle_timeout=2s"});
  ASSERT_FALSE(HasFatalFailure());

  // A head that keeps coming, a line every 200 ms, but never ends: cut at 1 s.
  const int slow = OpenConnection(Port());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(SendAll(slow, "GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const absl::Duration slow_cut =
      TimeUntilClosed(slow, absl::Seconds(10), absl::Milliseconds(200),
                      [&] { ::send(slow, "X-Slow: yes\r\n", 13, MSG_NOSIGNAL | MSG_DONTWAIT); });
  ::close(slow);
  EXPECT_GE(slow_cut, absl::Milliseconds(900));
  EXPECT_LE(slow_cut, absl::Seconds(3));

  // A connection that sends nothing: closed at 2 s.
  const int idle = OpenConnection(Port());
  ASSERT_GE(idle, 0);
  const absl::Duration idle_cut =
      TimeUntilClosed(idle, absl::Seconds(10), absl::Milliseconds(100), [] {});
  ::close(idle);
  EXPECT_GE(idle_cut, absl::Milliseconds(1800));
  EXPECT_LE(idle_cut, absl::Seconds(5));

  // A keep-alive client is served request after request on one connection, and may pause
  // between them for less than the idle timeout.
  const int kept = OpenConnection(Port());
  ASSERT_GE(kept, 0);
  const std::string list =
      "GET /v1/customers?pageSize=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      world->admin_token + "\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SendAll(kept, list));
    EXPECT_EQ(ReadStatus(kept), 200) << "request " << i;
    absl::SleepFor(absl::Milliseconds(1200));  // over the request timeout, under the idle one
  }
  ::close(kept);
  std::printf("cut after %s (slow head), %s (idle)\n", absl::FormatDuration(slow_cut).c_str(),
              absl::FormatDuration(idle_cut).c_str());
}

TEST_F(GatewayConnectionsTest, ConnectionsOverTheLimitsAre503) {
  world->suite->StartGateway({"--http_max_connections=5", "--http_max_connections_per_address=3"});
  ASSERT_FALSE(HasFatalFailure());
  const auto list_from = [](const std::string& source) {
    return RawHttpCall(Port(), "GET", "/v1/customers?pageSize=1",
                       {{"Authorization", "Bearer " + world->admin_token}}, "", source);
  };

  Held first;
  ASSERT_TRUE(first.Open(3, "127.0.0.1"));
  const HttpReply fourth = list_from("127.0.0.1");
  EXPECT_EQ(fourth.status, 503) << fourth.body;
  EXPECT_EQ(fourth.json.value("code", 0), 14) << fourth.body;  // UNAVAILABLE
  EXPECT_EQ(list_from("127.0.0.2").status, 200);

  Held second;
  ASSERT_TRUE(second.Open(2, "127.0.0.2"));
  EXPECT_EQ(list_from("127.0.0.3").status, 503);  // five held in all

  // A closed connection frees its place as soon as the gateway sees it go.
  first.CloseOne();
  int status = 0;
  for (int i = 0; i < 40 && status != 200; ++i) {
    status = list_from("127.0.0.3").status;
    if (status != 200) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace touchline
