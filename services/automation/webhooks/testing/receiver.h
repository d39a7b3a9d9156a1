// A real HTTP receiver of webhooks for tests: listens on 127.0.0.1 at a free port, verifies
// each request's signature as a customer's endpoint would (with the secrets it is told), and
// answers 500 to the first `fail_first` requests, 400 on /refuse, 204 otherwise. Signatures are
// checked at the time `clock` gives (the sender's clock, which a test may set).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_TESTING_RECEIVER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_TESTING_RECEIVER_H_

#include <httplib.h>

#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/automation/webhooks/signing.h"

namespace touchline::automation::testing {

class WebhookReceiver {
 public:
  struct Received {
    std::string path;
    std::string id;
    std::string body;
    // The signature checked against the secrets given (SetSecrets).
    absl::Status verified;
  };

  explicit WebhookReceiver(std::function<absl::Time()> clock = &absl::Now)
      : clock_(std::move(clock)) {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      received_.push_back(
          {req.path, req.get_header_value("webhook-id"), req.body,
           Verify({req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                   req.get_header_value("webhook-signature")},
                  req.body, secrets_, clock_())});
      if (req.path == "/refuse") {
        res.status = 400;
      } else if (static_cast<int>(received_.size()) <= fail_first_) {
        res.status = 500;
      } else {
        res.status = 204;
      }
    };
    server_.Post("/hook", handle);
    server_.Post("/refuse", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would not stop it.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) absl::SleepFor(absl::Milliseconds(2));
  }
  ~WebhookReceiver() {
    server_.stop();
    listener_.join();
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  bool running() const { return port_ > 0 && server_.is_running(); }
  // http://127.0.0.1:<port><path>
  std::string Url(const std::string& path = "/hook") const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  void SetSecrets(std::vector<std::string> secrets) {
    absl::MutexLock lock(&mu_);
    secrets_ = std::move(secrets);
  }
  void FailFirst(int n) {
    absl::MutexLock lock(&mu_);
    fail_first_ = n;
  }
  std::vector<Received> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  // The distinct webhook-ids received: what a receiver that drops repeats acted on.
  std::set<std::string> distinct_ids() {
    absl::MutexLock lock(&mu_);
    std::set<std::string> ids;
    for (const Received& r : received_) ids.insert(r.id);
    return ids;
  }

 private:
  const std::function<absl::Time()> clock_;
  httplib::Server server_;
  int port_ = -1;
  std::thread listener_;
  absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  int fail_first_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_TESTING_RECEIVER_H_
