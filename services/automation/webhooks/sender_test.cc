#include "services/automation/webhooks/sender.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/webhooks/address_policy.h"
#include "services/automation/webhooks/signing.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

// What the receiver saw of one request, and whether its signature verified.
struct Received {
  std::string path;
  std::string id;
  std::string content_type;
  std::string user_agent;
  std::string body;
  absl::Status verified;
};

// A real HTTP receiver on 127.0.0.1 and a free port, verifying signatures as a customer's
// endpoint would.
class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = Record(req);
      if (!Last().verified.ok()) {
        res.status = 401;
        return;
      }
      if (n <= fail_first_) {
        res.status = 500;
        res.set_content("busy", "text/plain");
        return;
      }
      res.status = 204;
    });
    server_.Post("/moved", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.set_redirect("/hook", 302);
    });
    server_.Post("/bad", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.status = 400;
    });
    server_.Post("/slow", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      release_.WaitForNotificationWithTimeout(absl::Seconds(10));
      res.status = 200;
    });
    server_.Post("/huge", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.set_content(std::string(4 << 20, 'x'), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would not stop it, and TearDown would wait forever.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) absl::SleepFor(absl::Milliseconds(2));
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override {
    release_.Notify();
    server_.stop();
    listener_.join();
  }

  int Record(const httplib::Request& req) {
    Received r{
        req.path,
        req.get_header_value("webhook-id"),
        req.get_header_value("Content-Type"),
        req.get_header_value("User-Agent"),
        req.body,
        Verify({req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                req.get_header_value("webhook-signature")},
               req.body, {secret_}, absl::Now())};
    absl::MutexLock lock(&mu_);
    received_.push_back(std::move(r));
    return static_cast<int>(received_.size());
  }
  Received Last() {
    absl::MutexLock lock(&mu_);
    return received_.back();
  }
  std::vector<Received> AllReceived() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

  WebhookRequest Request(std::string path) const {
    WebhookRequest request;
    request.url = absl::StrCat("http://127.0.0.1:", port_, path);
    request.id = "msg_2b7c1f0e";
    request.timestamp = absl::ToUnixSeconds(absl::Now());
    request.body = R"({"type":"rule.matched","customer_id":"c1"})";
    request.secrets = {secret_};
    return request;
  }

  static WebhookSenderOptions LocalOptions() {
    WebhookSenderOptions options;
    options.allow_private_addresses = true;
    options.timeout = absl::Seconds(5);
    return options;
  }

  const std::string secret_ = NewSecret();
  int fail_first_ = 0;
  httplib::Server server_;
  int port_ = 0;
  std::thread listener_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

TEST_F(WebhookSenderTest, DeliversARequestTheReceiverVerifies) {
  const WebhookSender sender(LocalOptions());
  const DeliveryResult result = sender.Send(Request("/hook"));
  EXPECT_TRUE(result.succeeded) << result.error_message;
  EXPECT_EQ(result.error, DeliveryError::kNone);
  EXPECT_EQ(result.http_status, 204);
  EXPECT_FALSE(result.retryable);
  EXPECT_THAT(result.error_message, IsEmpty());
  EXPECT_EQ(result.remote_address, "127.0.0.1");
  EXPECT_GT(result.latency, absl::ZeroDuration());
  const std::vector<Received> received = AllReceived();
  ASSERT_THAT(received, SizeIs(1));
  TL_EXPECT_OK(received[0].verified);
  EXPECT_EQ(received[0].id, "msg_2b7c1f0e");
  EXPECT_EQ(received[0].content_type, "application/json");
  EXPECT_EQ(received[0].user_agent, "Touchline-Webhooks/1");
  EXPECT_EQ(received[0].body, R"({"type":"rule.matched","customer_id":"c1"})");
}

TEST_F(WebhookSenderTest, A500IsRetryableAndTheRetryKeepsTheId) {
  fail_first_ = 1;
  const WebhookSender sender(LocalOptions());
  WebhookRequest request = Request("/hook");
  // The old secret signs too, as during a rotation; the receiver knows only the current one.
  request.secrets = {NewSecret(), secret_};
  const DeliveryResult first = sender.Send(request);
  EXPECT_FALSE(first.succeeded);
  EXPECT_TRUE(first.retryable);
  EXPECT_EQ(first.error, DeliveryError::kHttpStatus);
  EXPECT_EQ(first.http_status, 500);
  EXPECT_EQ(first.response_body, "busy");
  EXPECT_THAT(first.error_message, HasSubstr("500"));

  request.timestamp += 1;
  const DeliveryResult second = sender.Send(request);
  EXPECT_TRUE(second.succeeded) << second.error_message;
  EXPECT_EQ(second.http_status, 204);
  const std::vector<Received> received = AllReceived();
  ASSERT_THAT(received, SizeIs(2));
  TL_EXPECT_OK(received[0].verified);
  TL_EXPECT_OK(received[1].verified);
  EXPECT_EQ(received[0].id, received[1].id);
}

TEST_F(WebhookSenderTest, AWrongSecretIsRefusedByTheReceiver) {
  const WebhookSender sender(LocalOptions());
  WebhookRequest request = Request("/hook");
  request.secrets = {NewSecret()};
  const DeliveryResult result = sender.Send(request);
  EXPECT_EQ(result.http_status, 401);
  EXPECT_FALSE(result.succeeded);
  EXPECT_FALSE(result.retryable);
  EXPECT_THAT(Last().verified, ::touchline::testing::StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(WebhookSenderTest, RedirectsAreNotFollowed) {
  const WebhookSender sender(LocalOptions());
  const DeliveryResult result = sender.Send(Request("/moved"));
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.http_status, 302);
  EXPECT_TRUE(result.retryable);
  EXPECT_EQ(result.error, DeliveryError::kHttpStatus);
  const std::vector<Received> received = AllReceived();
  ASSERT_THAT(received, SizeIs(1));
  EXPECT_EQ(received[0].path, "/moved");
}

TEST_F(WebhookSenderTest, AClientErrorIsNotRetryable) {
  const WebhookSender sender(LocalOptions());
  const DeliveryResult result = sender.Send(Request("/bad"));
  EXPECT_EQ(result.http_status, 400);
  EXPECT_FALSE(result.succeeded);
  EXPECT_FALSE(result.retryable);
}

TEST_F(WebhookSenderTest, AReceiverThatHangsTimesOutRetryably) {
  WebhookSenderOptions options = LocalOptions();
  options.timeout = absl::Milliseconds(600);
  const WebhookSender sender(options);
  const DeliveryResult result = sender.Send(Request("/slow"));
  EXPECT_FALSE(result.succeeded);
  EXPECT_TRUE(result.retryable);
  EXPECT_EQ(result.error, DeliveryError::kTimeout);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_GE(result.latency, absl::Milliseconds(550));
  // The receiver hangs for 10 s: well under that is the timeout's doing (the margin is for a
  // busy machine).
  EXPECT_LT(result.latency, absl::Seconds(4));

  // The endpoint's own timeout wins over the sender's.
  options.timeout = absl::Seconds(5);
  const WebhookSender patient(options);
  WebhookRequest request = Request("/slow");
  request.timeout = absl::Milliseconds(300);
  const DeliveryResult shorter = patient.Send(request);
  EXPECT_EQ(shorter.error, DeliveryError::kTimeout);
  EXPECT_GE(shorter.latency, absl::Milliseconds(250));
  EXPECT_LT(shorter.latency, absl::Seconds(4));
}

TEST_F(WebhookSenderTest, AHugeAnswerIsCapped) {
  WebhookSenderOptions options = LocalOptions();
  options.max_response_bytes = 1000;
  const WebhookSender sender(options);
  const DeliveryResult result = sender.Send(Request("/huge"));
  EXPECT_TRUE(result.succeeded) << result.error_message;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_TRUE(result.response_truncated);
  EXPECT_EQ(result.response_body, std::string(1000, 'x'));
}

TEST_F(WebhookSenderTest, AHostNameIsPinnedToItsCheckedAddress) {
  const WebhookSender sender(LocalOptions());
  WebhookRequest request = Request("/hook");
  request.url = absl::StrCat("http://localhost:", port_, "/hook");
  const DeliveryResult result = sender.Send(request);
  EXPECT_TRUE(result.succeeded) << result.error_message;
  EXPECT_EQ(result.remote_address, "127.0.0.1");
}

TEST_F(WebhookSenderTest, ConcurrentSendsAllArrive) {
  const WebhookSender sender(LocalOptions());
  std::atomic<int> succeeded = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      WebhookRequest request = Request("/hook");
      request.id = absl::StrCat("msg_", i);
      if (sender.Send(request).succeeded) ++succeeded;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 6);
  EXPECT_THAT(AllReceived(), SizeIs(6));
}

TEST_F(WebhookSenderTest, PrivateAddressesAreRefusedBeforeAnyConnection) {
  const WebhookSender sender;  // allow_private_addresses = false
  const std::string port = absl::StrCat(port_);
  for (const std::string& url :
       {"http://127.0.0.1:" + port + "/hook", "http://localhost:" + port + "/hook",
        "http://[::1]:" + port + "/hook", "http://[::ffff:127.0.0.1]:" + port + "/hook",
        "http://0.0.0.0:" + port + "/hook", "http://2130706433:" + port + "/hook",
        std::string("http://10.0.0.1/hook"), std::string("https://192.168.1.20/hook"),
        std::string("http://169.254.169.254/latest/meta-data/"),
        std::string("http://100.64.0.1/hook"), std::string("http://[fd12::1]/hook")}) {
    WebhookRequest request = Request("/hook");
    request.url = url;
    const DeliveryResult result = sender.Send(request);
    EXPECT_EQ(result.error, DeliveryError::kAddressRefused) << url << ": " << result.error_message;
    EXPECT_FALSE(result.retryable) << url;
    EXPECT_FALSE(result.succeeded) << url;
    EXPECT_EQ(result.http_status, 0) << url;
    EXPECT_THAT(result.remote_address, IsEmpty()) << url;
    // Refused by the check of the resolved addresses, before curl runs.
    EXPECT_THAT(result.error_message, HasSubstr("resolves to")) << url;
    EXPECT_LT(result.latency, absl::Seconds(2)) << url;
  }
  EXPECT_THAT(AllReceived(), IsEmpty());
}

TEST_F(WebhookSenderTest, OnlyHttpAndHttpsWithoutUserInfo) {
  const WebhookSender sender(LocalOptions());
  const std::string port = absl::StrCat(port_);
  for (const std::string& url :
       {std::string("file:///etc/passwd"), std::string("gopher://127.0.0.1:") + port + "/_x",
        std::string("ftp://127.0.0.1:") + port + "/", std::string("dict://127.0.0.1:") + port,
        "http://user:secret@127.0.0.1:" + port + "/hook", "http://user@127.0.0.1:" + port + "/hook",
        std::string("not a url"), std::string("127.0.0.1:") + port + "/hook"}) {
    WebhookRequest request = Request("/hook");
    request.url = url;
    const DeliveryResult result = sender.Send(request);
    EXPECT_EQ(result.error, DeliveryError::kInvalidRequest) << url << ": " << result.error_message;
    EXPECT_FALSE(result.retryable) << url;
  }
  EXPECT_THAT(AllReceived(), IsEmpty());
}

TEST_F(WebhookSenderTest, BadIdsAndSecretsAreInvalid) {
  const WebhookSender sender(LocalOptions());
  for (const std::string& id :
       {std::string(""), std::string("msg 1"), std::string("msg\r\nX: 1")}) {
    WebhookRequest request = Request("/hook");
    request.id = id;
    EXPECT_EQ(sender.Send(request).error, DeliveryError::kInvalidRequest) << id;
  }
  WebhookRequest request = Request("/hook");
  request.secrets = {};
  EXPECT_EQ(sender.Send(request).error, DeliveryError::kInvalidRequest);
  request.secrets = {"whsec_nope"};
  EXPECT_EQ(sender.Send(request).error, DeliveryError::kInvalidRequest);
  EXPECT_THAT(AllReceived(), IsEmpty());
}

// A TCP listener on 127.0.0.1 answering one connection with `answer` and closing it.
class RawListener {
 public:
  explicit RawListener(std::string answer) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      ADD_FAILURE() << "listener: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] {
      const int connection = accept(fd_, nullptr, nullptr);
      if (connection < 0) return;
      char buffer[4096];
      (void)recv(connection, buffer, sizeof(buffer), 0);
      (void)send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
      close(connection);
    });
  }
  ~RawListener() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(WebhookSenderNetworkTest, AGarbageAnswerIsARetryableNetworkError) {
  RawListener listener("this is not HTTP at all\r\n\r\n");
  WebhookSenderOptions options;
  options.allow_private_addresses = true;
  options.timeout = absl::Seconds(3);
  const WebhookSender sender(options);
  WebhookRequest request{absl::StrCat("http://127.0.0.1:", listener.port(), "/hook"),
                         "msg_1",
                         1700000000,
                         "{}",
                         {NewSecret()},
                         std::nullopt};
  const DeliveryResult result = sender.Send(request);
  EXPECT_EQ(result.error, DeliveryError::kNetwork) << result.error_message;
  EXPECT_TRUE(result.retryable);
  EXPECT_FALSE(result.succeeded);
  EXPECT_THAT(result.error_message, Not(IsEmpty()));
  EXPECT_LT(result.latency, absl::Seconds(2));
}

TEST(WebhookSenderNetworkTest, ARefusedConnectionIsARetryableNetworkError) {
  int port = 0;
  {
    RawListener closed_soon("");
    port = closed_soon.port();
  }
  WebhookSenderOptions options;
  options.allow_private_addresses = true;
  const WebhookSender sender(options);
  const DeliveryResult result = sender.Send({absl::StrCat("http://127.0.0.1:", port, "/"),
                                             "msg_1",
                                             1700000000,
                                             "{}",
                                             {NewSecret()},
                                             std::nullopt});
  EXPECT_EQ(result.error, DeliveryError::kNetwork) << result.error_message;
  EXPECT_TRUE(result.retryable);
  EXPECT_EQ(result.http_status, 0);
}

std::optional<std::string> ReasonFor(const std::string& text) {
  sockaddr_storage storage{};
  if (inet_pton(AF_INET, text.c_str(), &reinterpret_cast<sockaddr_in&>(storage).sin_addr) == 1) {
    storage.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(),
                       &reinterpret_cast<sockaddr_in6&>(storage).sin6_addr) == 1) {
    storage.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << "not an address: " << text;
  }
  return ForbiddenAddressReason(reinterpret_cast<const sockaddr&>(storage));
}

TEST(AddressPolicyTest, RefusesWhatIsNotPublic) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"10.0.0.1", "private"},
      {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},
      {"192.168.0.1", "private"},
      {"169.254.169.254", "link-local"},
      {"100.64.0.0", "carrier-grade NAT"},
      {"100.127.255.255", "carrier-grade NAT"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"255.255.255.255", "reserved"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::10.0.0.1", "reserved"},
      {"64:ff9b::a9fe:a9fe", "link-local"},
      {"2002:7f00:1::", "loopback"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "private"},
      {"fc00::1", "private"},
      {"fdff:ffff::1", "private"},
      {"ff02::1", "multicast"},
  };
  for (const auto& [address, reason] : cases) {
    EXPECT_THAT(ReasonFor(address), Optional(Eq(reason))) << address;
  }
}

TEST(AddressPolicyTest, AllowsPublicAddresses) {
  for (const char* address : {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.0",
                              "100.63.255.255", "100.128.0.0", "169.253.255.255", "192.167.255.255",
                              "223.255.255.255", "::ffff:8.8.8.8", "2001:4860:4860::8888",
                              "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::", "fbff::1"}) {
    EXPECT_EQ(ReasonFor(address), std::nullopt) << address;
  }
}

TEST(IsRetryableStatusTest, RetriesWhatMayPassLater) {
  for (int status : {300, 301, 302, 307, 308, 408, 425, 429, 500, 502, 503, 504, 599}) {
    EXPECT_TRUE(IsRetryableStatus(status)) << status;
  }
  for (int status : {200, 204, 400, 401, 403, 404, 405, 410, 413, 422, 600}) {
    EXPECT_FALSE(IsRetryableStatus(status)) << status;
  }
}

TEST(RetryDelayTest, FullJitterUnderADoublingCeilingCappedAtAnHour) {
  absl::BitGen gen;
  const std::vector<std::pair<int, absl::Duration>> ceilings = {
      {0, absl::Seconds(5)},  {1, absl::Seconds(5)},     {2, absl::Seconds(10)},
      {3, absl::Seconds(20)}, {10, absl::Seconds(2560)}, {11, absl::Hours(1)},
      {40, absl::Hours(1)},   {1000, absl::Hours(1)}};
  for (const auto& [attempt, ceiling] : ceilings) {
    absl::Duration low = absl::InfiniteDuration();
    absl::Duration high = absl::ZeroDuration();
    for (int i = 0; i < 2000; ++i) {
      const absl::Duration delay = RetryDelay(attempt, gen);
      low = std::min(low, delay);
      high = std::max(high, delay);
    }
    EXPECT_GE(low, absl::ZeroDuration()) << attempt;
    EXPECT_LE(high, ceiling) << attempt;
    // Spread over the whole range: near zero and near the ceiling both come up.
    EXPECT_LT(low, ceiling / 20) << attempt;
    EXPECT_GT(high, ceiling * 0.95) << attempt;
  }
}

}  // namespace
}  // namespace touchline::automation
