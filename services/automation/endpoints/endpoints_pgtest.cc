// Webhook endpoints against real PostgreSQL: the schema as the host migrates it (the
// automation migrations, idempotency keys, the outbox), EndpointManager on PgEndpointStore:
// secrets sealed in the row (never in clear, in the row or in the idempotency key), creates
// once per request id, updates with etags, rotations and what signs when, and keyset pages in
// code point order.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/paging/page_token.h"
#include "common/pg/pool.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/endpoints/endpoint_manager.h"
#include "services/automation/endpoints/pg_endpoint_store.h"
#include "services/automation/endpoints/secret_box.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

using endpoint_rules::DurationOf;
using endpoint_rules::ProtoDurationOf;
using endpoint_rules::TimeOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

auth::RequestContext Admin() { return testing::Admin(kTenant); }

v1::CreateWebhookEndpointRequest CreateRequest(const std::string& name) {
  v1::CreateWebhookEndpointRequest request;
  request.mutable_endpoint()->set_display_name(name);
  request.mutable_endpoint()->set_url("https://erp.example.cn/hooks/touchline");
  request.mutable_endpoint()->set_max_attempts(5);
  *request.mutable_endpoint()->mutable_timeout() = ProtoDurationOf(absl::Milliseconds(2500));
  return request;
}

class EndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(tokens_, paging::PageTokens::Load(*pool_));
    store_ = std::make_unique<PgEndpointStore>(pool_.get(), &box_, [this] { ++wakes_; });
    manager_ = std::make_unique<EndpointManager>(store_.get(), &*tokens_, [this] { return now_; });
  }

  v1::CreateWebhookEndpointResponse Create(const v1::CreateWebhookEndpointRequest& request) {
    absl::StatusOr<v1::CreateWebhookEndpointResponse> created =
        manager_->CreateWebhookEndpoint(Admin(), request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::CreateWebhookEndpointResponse();
  }

  // Every column of every row of `table`, as PostgreSQL prints the rows, bytea in hex.
  std::string RowsOf(const std::string& table) {
    std::string text;
    EXPECT_THAT(pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec(absl::StrCat("SELECT t::text FROM ", table, " t"))) {
        absl::StrAppend(&text, row[0].as<std::string>(), "\n");
      }
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return text;
  }

  // What of `secret` must never be in the database: the secret, its base64 part and the hex of
  // its key bytes (bytea prints as hex).
  void ExpectNotIn(const std::string& text, const std::string& secret) {
    ASSERT_GT(secret.size(), 6u);
    const std::string base64 = secret.substr(6);
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(base64, &bytes));
    EXPECT_THAT(text, Not(HasSubstr(secret)));
    EXPECT_THAT(text, Not(HasSubstr(base64.substr(0, 16))));
    EXPECT_THAT(text, Not(HasSubstr(absl::BytesToHexString(bytes).substr(0, 16))));
  }

  int Count(const std::string& sql) { return testing::Count(*pool_, sql); }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"automation_endpoints"};
  SecretBox box_ = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'k'));
  std::unique_ptr<pg::Pool> pool_;
  std::optional<paging::PageTokens> tokens_;
  std::unique_ptr<PgEndpointStore> store_;
  std::unique_ptr<EndpointManager> manager_;
  absl::Time now_ = kNow;
  int wakes_ = 0;
};

TEST_F(EndpointsTest, CreateStoresTheSecretSealedOncePerRequestId) {
  v1::CreateWebhookEndpointRequest request = CreateRequest("ERP 订单同步");
  request.set_request_id("create-1");
  const v1::CreateWebhookEndpointResponse created = Create(request);
  const v1::WebhookEndpoint& endpoint = created.endpoint();
  EXPECT_EQ(endpoint.etag(), "1");
  EXPECT_EQ(endpoint.max_attempts(), 5);
  EXPECT_EQ(endpoint.rate_limit_per_second(), 10);
  EXPECT_EQ(DurationOf(endpoint.timeout()), absl::Milliseconds(2500));
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint stored,
                          store_->Get(kTenant, endpoint.endpoint_id()));
  EXPECT_EQ(stored.DebugString(), endpoint.DebugString());
  EXPECT_EQ(wakes_, 1);

  const std::string rows = RowsOf("webhook_endpoints");
  EXPECT_THAT(rows, HasSubstr(endpoint.endpoint_id()));
  EXPECT_THAT(rows, HasSubstr(box_.key_id()));
  ExpectNotIn(rows, created.secret());
  ExpectNotIn(RowsOf("idempotency_keys"), created.secret());
  ExpectNotIn(RowsOf("outbox"), created.secret());
  TL_ASSERT_OK_AND_ASSIGN(const SigningEndpoint signing,
                          store_->SigningSecrets(kTenant, endpoint.endpoint_id(), now_));
  EXPECT_THAT(signing.secrets, ElementsAre(created.secret()));
  EXPECT_EQ(signing.timeout, absl::Milliseconds(2500));

  // The retry gets the same endpoint and secret, also after a rotation.
  now_ += absl::Minutes(1);
  const v1::CreateWebhookEndpointResponse again = Create(request);
  EXPECT_EQ(again.endpoint().DebugString(), endpoint.DebugString());
  EXPECT_EQ(again.secret(), created.secret());
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_endpoint_id(endpoint.endpoint_id());
  TL_ASSERT_OK_AND_ASSIGN(const auto rotated, manager_->RotateWebhookSecret(Admin(), rotate));
  EXPECT_EQ(Create(request).secret(), created.secret());
  EXPECT_NE(rotated.secret(), created.secret());
  request.mutable_endpoint()->set_display_name("另一个");
  const absl::Status reused = manager_->CreateWebhookEndpoint(Admin(), request).status();
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused), "REQUEST_ID_REUSED");
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_endpoints"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox WHERE topic = 'audit'"), 2);
}

TEST_F(EndpointsTest, ConcurrentRetriesMakeOneEndpoint) {
  v1::CreateWebhookEndpointRequest request = CreateRequest("并发");
  request.set_request_id("create-together");
  std::vector<absl::StatusOr<v1::CreateWebhookEndpointResponse>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] { result = manager_->CreateWebhookEndpoint(Admin(), request); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->secret(), results[0]->secret());
    EXPECT_EQ(result->endpoint().endpoint_id(), results[0]->endpoint().endpoint_id());
  }
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_endpoints"), 1);
}

TEST_F(EndpointsTest, RotationKeepsTheOldSecretForTheOverlap) {
  const v1::CreateWebhookEndpointResponse created = Create(CreateRequest("ERP"));
  const std::string id = created.endpoint().endpoint_id();
  now_ += absl::Hours(1);
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_endpoint_id(id);
  *rotate.mutable_overlap() = ProtoDurationOf(absl::Hours(2));
  TL_ASSERT_OK_AND_ASSIGN(const auto rotated, manager_->RotateWebhookSecret(Admin(), rotate));
  EXPECT_EQ(rotated.endpoint().etag(), "2");
  EXPECT_EQ(TimeOf(rotated.endpoint().secret_time()), now_);
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint stored, store_->Get(kTenant, id));
  EXPECT_EQ(stored.DebugString(), rotated.endpoint().DebugString());
  const auto signing_at = [&](absl::Time at) {
    absl::StatusOr<SigningEndpoint> signing = store_->SigningSecrets(kTenant, id, at);
    EXPECT_TRUE(signing.ok()) << signing.status();
    return signing.ok() ? signing->secrets : std::vector<std::string>{};
  };
  EXPECT_THAT(signing_at(now_ + absl::Hours(2) - absl::Microseconds(1)),
              ElementsAre(rotated.secret(), created.secret()));
  EXPECT_THAT(signing_at(now_ + absl::Hours(2)), ElementsAre(rotated.secret()));
  const std::string rows = RowsOf("webhook_endpoints");
  ExpectNotIn(rows, created.secret());
  ExpectNotIn(rows, rotated.secret());
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_endpoints WHERE previous_secret_until = "
                  "timestamptz '2026-12-07 12:00:00+00'"),
            1);

  // The stale etag of the create is refused; the change applies to the version read.
  v1::UpdateWebhookEndpointRequest update;
  *update.mutable_endpoint() = created.endpoint();
  update.mutable_endpoint()->set_url("https://erp2.example.cn/hooks");
  update.mutable_update_mask()->add_paths("url");
  EXPECT_THAT(manager_->UpdateWebhookEndpoint(Admin(), update),
              StatusIs(absl::StatusCode::kAborted));
  update.mutable_endpoint()->set_etag("2");
  TL_ASSERT_OK_AND_ASSIGN(const auto updated, manager_->UpdateWebhookEndpoint(Admin(), update));
  EXPECT_EQ(updated.endpoint().etag(), "3");
  TL_ASSERT_OK_AND_ASSIGN(const SigningEndpoint signing, store_->SigningSecrets(kTenant, id, now_));
  EXPECT_EQ(signing.url, "https://erp2.example.cn/hooks");

  // A service started with another key does not sign with what it cannot open.
  const SecretBox other = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'o'));
  PgEndpointStore other_store(pool_.get(), &other, nullptr);
  EXPECT_THAT(other_store.SigningSecrets(kTenant, id, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->SigningSecrets("globex", id, now_), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EndpointsTest, ListsInCodePointOrderInKeysetPages) {
  std::vector<std::pair<std::string, std::string>> expected;
  for (const std::string name :
       {"b 备份", "a 订单", "B 大写", "订单同步", "a 订单", "z 最后", "a 订单", "Ä umlaut"}) {
    const v1::WebhookEndpoint endpoint = Create(CreateRequest(name)).endpoint();
    expected.emplace_back(endpoint.display_name(), endpoint.endpoint_id());
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> ids;
  for (const auto& [name, id] : expected) ids.push_back(id);
  v1::ListWebhookEndpointsRequest request;
  request.set_page_size(3);
  std::vector<std::string> listed;
  int pages = 0;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const auto page, manager_->ListWebhookEndpoints(Admin(), request));
    for (const v1::WebhookEndpoint& endpoint : page.endpoints()) {
      listed.push_back(endpoint.endpoint_id());
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty() && ++pages < 10);
  EXPECT_THAT(listed, ElementsAreArray(ids));
  EXPECT_EQ(pages, 2);
}

}  // namespace
}  // namespace touchline::automation
