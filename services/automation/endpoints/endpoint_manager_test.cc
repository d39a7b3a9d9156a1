// EndpointManager's rules against the in-memory store: no PostgreSQL, no Redis.
#include "services/automation/endpoints/endpoint_manager.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/endpoints/secret_box.h"
#include "services/automation/endpoints/testing/in_memory_endpoint_store.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/webhooks/signing.h"
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
using ::testing::StartsWith;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

// The field of each violation of `status`, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    fields.push_back(field);
  }
  return fields;
}

std::string Repeat(std::string_view unit, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text.append(unit);
  return text;
}

auth::RequestContext Admin(const std::string& tenant = kTenant) { return testing::Admin(tenant); }

// A rep who may change customers but not administer the tenant.
auth::RequestContext Rep() { return testing::Rep(kTenant); }

v1::CreateWebhookEndpointRequest CreateRequest(
    const std::string& name = "ERP 订单同步",
    const std::string& url = "https://erp.example.cn/hooks/touchline") {
  v1::CreateWebhookEndpointRequest request;
  request.mutable_endpoint()->set_display_name(name);
  request.mutable_endpoint()->set_url(url);
  return request;
}

class EndpointManagerTest : public ::testing::Test {
 protected:
  // Creates an endpoint as the admin; the answer.
  v1::CreateWebhookEndpointResponse Create(const v1::CreateWebhookEndpointRequest& request) {
    absl::StatusOr<v1::CreateWebhookEndpointResponse> created =
        manager_.CreateWebhookEndpoint(Admin(), request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::CreateWebhookEndpointResponse();
  }

  absl::StatusOr<v1::WebhookEndpoint> Get(const std::string& endpoint_id,
                                          const auth::RequestContext& caller = Admin()) {
    v1::GetWebhookEndpointRequest request;
    request.set_endpoint_id(endpoint_id);
    TL_ASSIGN_OR_RETURN(v1::GetWebhookEndpointResponse response,
                        manager_.GetWebhookEndpoint(caller, request));
    return response.endpoint();
  }

  absl::StatusOr<v1::RotateWebhookSecretResponse> Rotate(
      const std::string& endpoint_id, std::optional<absl::Duration> overlap = std::nullopt) {
    v1::RotateWebhookSecretRequest request;
    request.set_endpoint_id(endpoint_id);
    if (overlap.has_value()) *request.mutable_overlap() = ProtoDurationOf(*overlap);
    return manager_.RotateWebhookSecret(Admin(), request);
  }

  // The secrets that sign for `endpoint_id` at `at`.
  std::vector<std::string> SigningAt(const std::string& endpoint_id, absl::Time at) {
    absl::StatusOr<SigningEndpoint> signing = store_.SigningSecrets(kTenant, endpoint_id, at);
    EXPECT_TRUE(signing.ok()) << signing.status();
    return signing.ok() ? signing->secrets : std::vector<std::string>{};
  }

  // The ids of every page of the list, `page_size` a page.
  std::vector<std::string> ListAll(int page_size, int* pages = nullptr) {
    v1::ListWebhookEndpointsRequest request;
    request.set_page_size(page_size);
    std::vector<std::string> ids;
    int count = 0;
    do {
      const auto page = manager_.ListWebhookEndpoints(Admin(), request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || ++count > 50) break;
      for (const v1::WebhookEndpoint& endpoint : page->endpoints()) {
        ids.push_back(endpoint.endpoint_id());
      }
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    if (pages != nullptr) *pages = count;
    return ids;
  }

  SecretBox box_ = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'k'));
  testing::InMemoryEndpointStore store_{&box_};
  paging::PageTokens tokens_{std::string(paging::kTokenKeyBytes, 'p')};
  absl::Time now_ = kNow;
  EndpointManager manager_{&store_, &tokens_, [this] { return now_; }};
};

TEST_F(EndpointManagerTest, CreateFillsDefaultsAndShowsTheSecretOnlyThere) {
  v1::CreateWebhookEndpointRequest request = CreateRequest("  ERP 订单同步\u3000");
  now_ += absl::Nanoseconds(1500);
  const v1::CreateWebhookEndpointResponse created = Create(request);
  const v1::WebhookEndpoint& endpoint = created.endpoint();
  EXPECT_EQ(endpoint.display_name(), "ERP 订单同步");
  EXPECT_EQ(endpoint.url(), "https://erp.example.cn/hooks/touchline");
  EXPECT_EQ(endpoint.max_attempts(), 8);
  EXPECT_EQ(endpoint.rate_limit_per_second(), 10);
  EXPECT_EQ(DurationOf(endpoint.timeout()), absl::Seconds(10));
  EXPECT_EQ(TimeOf(endpoint.create_time()), kNow + absl::Microseconds(1));
  EXPECT_EQ(TimeOf(endpoint.secret_time()), TimeOf(endpoint.create_time()));
  EXPECT_EQ(endpoint.etag(), "1");
  EXPECT_THAT(created.secret(), StartsWith("whsec_"));
  // The secret is one Standard Webhooks signing accepts.
  TL_EXPECT_OK(Sign(created.secret(), "msg_1", 1765098000, "{}").status());

  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint got, Get(endpoint.endpoint_id()));
  EXPECT_EQ(got.DebugString(), endpoint.DebugString());
  EXPECT_THAT(got.DebugString(), Not(HasSubstr(created.secret())));
  // Kept sealed, and it opens to the secret shown.
  TL_ASSERT_OK_AND_ASSIGN(const endpoint_rules::StoredSecrets stored,
                          store_.StoredSecretsOf(kTenant, endpoint.endpoint_id()));
  EXPECT_THAT(stored.current.box, Not(HasSubstr(created.secret())));
  EXPECT_EQ(stored.current.key_id, box_.key_id());
  EXPECT_THAT(SigningAt(endpoint.endpoint_id(), now_), ElementsAre(created.secret()));

  ASSERT_EQ(store_.audit_entries().size(), 1u);
  EXPECT_THAT(store_.audit_entries()[0].DebugString(), Not(HasSubstr(created.secret())));
  // Another endpoint gets another secret.
  EXPECT_NE(Create(CreateRequest("CRM 备份")).secret(), created.secret());
}

TEST_F(EndpointManagerTest, CreateKeepsTheLimitsGivenAndTheTimeoutInMilliseconds) {
  v1::CreateWebhookEndpointRequest request = CreateRequest();
  request.mutable_endpoint()->set_max_attempts(20);
  request.mutable_endpoint()->set_rate_limit_per_second(1000);
  *request.mutable_endpoint()->mutable_timeout() =
      ProtoDurationOf(absl::Seconds(1) + absl::Microseconds(500900));
  const v1::WebhookEndpoint endpoint = Create(request).endpoint();
  EXPECT_EQ(endpoint.max_attempts(), 20);
  EXPECT_EQ(endpoint.rate_limit_per_second(), 1000);
  EXPECT_EQ(DurationOf(endpoint.timeout()), absl::Milliseconds(1500));

  request.mutable_endpoint()->set_max_attempts(1);
  request.mutable_endpoint()->set_rate_limit_per_second(1);
  *request.mutable_endpoint()->mutable_timeout() = ProtoDurationOf(absl::Seconds(30));
  request.mutable_endpoint()->set_display_name(Repeat("投", 200));
  const v1::WebhookEndpoint limits = Create(request).endpoint();
  EXPECT_EQ(limits.max_attempts(), 1);
  EXPECT_EQ(DurationOf(limits.timeout()), absl::Seconds(30));
}

TEST_F(EndpointManagerTest, CreateNamesEveryBadField) {
  v1::CreateWebhookEndpointRequest request = CreateRequest(Repeat("投", 201), "ftp://x.cn/");
  request.mutable_endpoint()->set_max_attempts(21);
  request.mutable_endpoint()->set_rate_limit_per_second(-1);
  *request.mutable_endpoint()->mutable_timeout() = ProtoDurationOf(absl::Milliseconds(999));
  request.set_request_id(Repeat("r", 129));
  const absl::Status status = manager_.CreateWebhookEndpoint(Admin(), request).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(status),
              ElementsAre("endpoint.display_name", "endpoint.url", "endpoint.max_attempts",
                          "endpoint.rate_limit_per_second", "endpoint.timeout", "request_id"));

  request = CreateRequest("");
  request.mutable_endpoint()->set_rate_limit_per_second(1001);
  *request.mutable_endpoint()->mutable_timeout() =
      ProtoDurationOf(absl::Seconds(30) + absl::Milliseconds(1));
  EXPECT_THAT(
      Fields(manager_.CreateWebhookEndpoint(Admin(), request).status()),
      ElementsAre("endpoint.display_name", "endpoint.rate_limit_per_second", "endpoint.timeout"));
  request = CreateRequest();
  request.mutable_endpoint()->mutable_timeout()->set_seconds(5);
  request.mutable_endpoint()->mutable_timeout()->set_nanos(-1);
  EXPECT_THAT(Fields(manager_.CreateWebhookEndpoint(Admin(), request).status()),
              ElementsAre("endpoint.timeout"));
  EXPECT_THAT(manager_.CreateWebhookEndpoint(Admin(), v1::CreateWebhookEndpointRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(store_.audit_entries().empty());
}

TEST_F(EndpointManagerTest, TheUrlIsHttpOrHttpsWithAHost) {
  for (const std::string& bad :
       {std::string(""), std::string("erp.example.cn/hooks"), std::string("ftp://erp.example.cn/"),
        std::string("javascript://x"), std::string("http://"), std::string("https:///hooks"),
        std::string("https://user:pw@erp.example.cn/"), std::string("https://erp.example.cn:0/"),
        std::string("https://erp.example.cn:65536/"), std::string("https://erp.example.cn:/"),
        std::string("https://erp.example.cn:8a/"), std::string("https://订单.cn/"),
        std::string("https://erp.example.cn/订单"), std::string("https://erp example.cn/"),
        std::string("https://erp.example.cn/\x01"), std::string("http://[::1/"),
        std::string("http://[zz]/"), std::string("http://[::1]x/"),
        "https://erp.example.cn/" + Repeat("a", 2048 - 23 + 1)}) {
    const absl::Status status =
        manager_.CreateWebhookEndpoint(Admin(), CreateRequest("x", bad)).status();
    EXPECT_THAT(Fields(status), ElementsAre("endpoint.url")) << "'" << bad << "'";
  }
  for (const std::string& good :
       {std::string("HTTPS://ERP.example.cn:8443/hooks?tenant=acme#x"),
        std::string("http://203.0.113.7/hooks"), std::string("http://[2001:db8::1]:8080/h"),
        std::string("https://xn--fiq228c.cn"), std::string("  https://erp.example.cn/a  "),
        "https://erp.example.cn/" + Repeat("a", 2048 - 23)}) {
    absl::StatusOr<v1::CreateWebhookEndpointResponse> created =
        manager_.CreateWebhookEndpoint(Admin(), CreateRequest("x", good));
    EXPECT_TRUE(created.ok()) << "'" << good << "': " << created.status();
  }
}

TEST_F(EndpointManagerTest, PrivateAndLoopbackHostsAreRefusedUnlessTheDeploymentAllowsThem) {
  for (const std::string& host :
       {std::string("http://127.0.0.1:8080/h"), std::string("http://localhost/h"),
        std::string("http://api.LOCALHOST/h"), std::string("http://10.0.0.7/hooks"),
        std::string("https://192.168.1.20/"), std::string("http://169.254.169.254/latest"),
        std::string("http://[::1]:9000/"), std::string("http://[fd00::5]/"),
        std::string("http://[::ffff:10.1.2.3]/"), std::string("http://0.0.0.0/")}) {
    const absl::Status status =
        manager_.CreateWebhookEndpoint(Admin(), CreateRequest("x", host)).status();
    EXPECT_THAT(Fields(status), ElementsAre("endpoint.url")) << "'" << host << "'";
    EXPECT_THAT(status.message(), HasSubstr("public addresses only")) << host;
    EndpointManager allowing(
        &store_, &tokens_, [this] { return now_; },
        /*allow_private_addresses=*/true);
    EXPECT_TRUE(allowing.CreateWebhookEndpoint(Admin(), CreateRequest("x", host)).ok()) << host;
  }
  // A name is resolved only when a webhook goes out (the sender checks the address then).
  EXPECT_TRUE(
      manager_.CreateWebhookEndpoint(Admin(), CreateRequest("x", "https://erp.internal/")).ok());
}

TEST_F(EndpointManagerTest, EveryCallNeedsAdminister) {
  const std::string id = Create(CreateRequest()).endpoint().endpoint_id();
  const size_t audited = store_.audit_entries().size();
  EXPECT_THAT(manager_.CreateWebhookEndpoint(Rep(), CreateRequest()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Refused before the fields are looked at.
  EXPECT_THAT(manager_.CreateWebhookEndpoint(Rep(), v1::CreateWebhookEndpointRequest()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Get(id, Rep()), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.ListWebhookEndpoints(Rep(), {}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::UpdateWebhookEndpointRequest update;
  update.mutable_endpoint()->set_endpoint_id(id);
  update.mutable_endpoint()->set_display_name("改名");
  update.mutable_update_mask()->add_paths("display_name");
  EXPECT_THAT(manager_.UpdateWebhookEndpoint(Rep(), update),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_endpoint_id(id);
  const absl::Status refused = manager_.RotateWebhookSecret(Rep(), rotate).status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(status::ErrorReasonOf(refused), "MISSING_PERMISSION");
  EXPECT_EQ(store_.audit_entries().size(), audited);
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint unchanged, Get(id));
  EXPECT_EQ(unchanged.etag(), "1");
}

TEST_F(EndpointManagerTest, GetChecksTheIdAndTheTenant) {
  const std::string id = Create(CreateRequest()).endpoint().endpoint_id();
  EXPECT_THAT(Get("not-a-uuid"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Get("0f8e7d6c-0000-4000-8000-000000000001"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("webhook endpoint")));
  EXPECT_THAT(Get(id, Admin("globex")), StatusIs(absl::StatusCode::kNotFound));
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint upper, Get(absl::AsciiStrToUpper(id)));
  EXPECT_EQ(upper.endpoint_id(), id);
}

TEST_F(EndpointManagerTest, CreateIsMadeOncePerRequestIdWithTheSameSecret) {
  v1::CreateWebhookEndpointRequest request = CreateRequest();
  request.set_request_id("create-1");
  const v1::CreateWebhookEndpointResponse first = Create(request);
  now_ += absl::Minutes(1);
  const v1::CreateWebhookEndpointResponse again = Create(request);
  EXPECT_EQ(again.endpoint().DebugString(), first.endpoint().DebugString());
  EXPECT_EQ(again.secret(), first.secret());

  // After a rotation the retry still gets the secret its first call showed, and the endpoint
  // as it is now.
  TL_ASSERT_OK_AND_ASSIGN(const auto rotated, Rotate(first.endpoint().endpoint_id()));
  const v1::CreateWebhookEndpointResponse later = Create(request);
  EXPECT_EQ(later.secret(), first.secret());
  EXPECT_EQ(later.endpoint().etag(), "2");
  EXPECT_NE(rotated.secret(), first.secret());

  request.mutable_endpoint()->set_url("https://other.example.cn/");
  const absl::Status reused = manager_.CreateWebhookEndpoint(Admin(), request).status();
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused), "REQUEST_ID_REUSED");
  EXPECT_THAT(ListAll(50), ElementsAre(first.endpoint().endpoint_id()));
  // One create and one rotation audited.
  EXPECT_EQ(store_.audit_entries().size(), 2u);
}

TEST_F(EndpointManagerTest, UpdateChangesTheMaskedFieldsOfTheVersionRead) {
  v1::WebhookEndpoint endpoint = Create(CreateRequest()).endpoint();
  now_ += absl::Hours(1);
  v1::UpdateWebhookEndpointRequest request;
  *request.mutable_endpoint() = endpoint;
  request.mutable_endpoint()->set_display_name(" ERP 订单同步（新）");
  request.mutable_endpoint()->set_url("https://erp2.example.cn/hooks");
  request.mutable_endpoint()->set_max_attempts(0);
  request.mutable_endpoint()->set_rate_limit_per_second(5000);  // Not in the mask: ignored.
  request.mutable_update_mask()->add_paths("display_name");
  request.mutable_update_mask()->add_paths("max_attempts");
  TL_ASSERT_OK_AND_ASSIGN(const v1::UpdateWebhookEndpointResponse updated,
                          manager_.UpdateWebhookEndpoint(Admin(), request));
  EXPECT_EQ(updated.endpoint().display_name(), "ERP 订单同步（新）");
  EXPECT_EQ(updated.endpoint().url(), endpoint.url());
  EXPECT_EQ(updated.endpoint().max_attempts(), 8);
  EXPECT_EQ(updated.endpoint().rate_limit_per_second(), 10);
  EXPECT_EQ(updated.endpoint().etag(), "2");
  EXPECT_EQ(TimeOf(updated.endpoint().update_time()), kNow + absl::Hours(1));
  EXPECT_EQ(TimeOf(updated.endpoint().secret_time()), kNow);
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint got, Get(endpoint.endpoint_id()));
  EXPECT_EQ(got.DebugString(), updated.endpoint().DebugString());

  // The etag read before is stale now.
  request.mutable_update_mask()->Clear();
  request.mutable_update_mask()->add_paths("url");
  const absl::Status stale = manager_.UpdateWebhookEndpoint(Admin(), request).status();
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(status::ErrorReasonOf(stale), "ETAG_MISMATCH");
  request.mutable_endpoint()->set_etag("");
  *request.mutable_endpoint()->mutable_timeout() = ProtoDurationOf(absl::Seconds(3));
  request.mutable_update_mask()->add_paths("timeout");
  TL_ASSERT_OK_AND_ASSIGN(const auto unconditional,
                          manager_.UpdateWebhookEndpoint(Admin(), request));
  EXPECT_EQ(unconditional.endpoint().url(), "https://erp2.example.cn/hooks");
  EXPECT_EQ(DurationOf(unconditional.endpoint().timeout()), absl::Seconds(3));
  EXPECT_EQ(unconditional.endpoint().etag(), "3");
  EXPECT_EQ(store_.audit_entries().size(), 3u);
}

TEST_F(EndpointManagerTest, UpdateNamesEveryBadField) {
  const v1::WebhookEndpoint endpoint = Create(CreateRequest()).endpoint();
  v1::UpdateWebhookEndpointRequest request;
  request.mutable_endpoint()->set_endpoint_id("nope");
  EXPECT_THAT(Fields(manager_.UpdateWebhookEndpoint(Admin(), request).status()),
              ElementsAre("endpoint.endpoint_id", "update_mask"));
  request.mutable_endpoint()->set_endpoint_id(endpoint.endpoint_id());
  request.mutable_endpoint()->set_url("mailto:ops@example.cn");
  request.mutable_endpoint()->set_rate_limit_per_second(2000);
  request.mutable_update_mask()->add_paths("url");
  request.mutable_update_mask()->add_paths("secret_time");
  request.mutable_update_mask()->add_paths("rate_limit_per_second");
  EXPECT_THAT(
      Fields(manager_.UpdateWebhookEndpoint(Admin(), request).status()),
      ElementsAre("update_mask.paths[1]", "endpoint.url", "endpoint.rate_limit_per_second"));
  v1::UpdateWebhookEndpointRequest missing;
  missing.mutable_endpoint()->set_endpoint_id("0f8e7d6c-0000-4000-8000-000000000001");
  missing.mutable_update_mask()->add_paths("display_name");
  missing.mutable_endpoint()->set_display_name("x");
  EXPECT_THAT(manager_.UpdateWebhookEndpoint(Admin(), missing),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_.audit_entries().size(), 1u);
}

TEST_F(EndpointManagerTest, TheOldSecretSignsUntilTheOverlapEnds) {
  const v1::CreateWebhookEndpointResponse created = Create(CreateRequest());
  const std::string id = created.endpoint().endpoint_id();
  now_ += absl::Hours(2);
  const absl::Time rotated_at = now_;
  TL_ASSERT_OK_AND_ASSIGN(const v1::RotateWebhookSecretResponse first, Rotate(id));
  EXPECT_THAT(first.secret(), StartsWith("whsec_"));
  EXPECT_NE(first.secret(), created.secret());
  EXPECT_EQ(TimeOf(first.endpoint().secret_time()), rotated_at);
  EXPECT_EQ(first.endpoint().etag(), "2");
  // 24 hours by default: both sign, the new one first, until then and not after.
  EXPECT_THAT(SigningAt(id, rotated_at), ElementsAre(first.secret(), created.secret()));
  EXPECT_THAT(SigningAt(id, rotated_at + absl::Hours(24) - absl::Microseconds(1)),
              ElementsAre(first.secret(), created.secret()));
  EXPECT_THAT(SigningAt(id, rotated_at + absl::Hours(24)), ElementsAre(first.secret()));

  // A rotation with an overlap of 0 stops the old secret at once; the one before is gone.
  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::RotateWebhookSecretResponse second,
                          Rotate(id, absl::ZeroDuration()));
  EXPECT_THAT(SigningAt(id, now_), ElementsAre(second.secret()));
  // Seven days at most.
  TL_ASSERT_OK_AND_ASSIGN(const v1::RotateWebhookSecretResponse third,
                          Rotate(id, absl::Hours(24 * 7)));
  EXPECT_THAT(SigningAt(id, now_ + absl::Hours(24 * 7) - absl::Seconds(1)),
              ElementsAre(third.secret(), second.secret()));
  EXPECT_THAT(SigningAt(id, now_ + absl::Hours(24 * 7)), ElementsAre(third.secret()));
  EXPECT_EQ(third.endpoint().etag(), "4");
  TL_ASSERT_OK_AND_ASSIGN(const SigningEndpoint signing, store_.SigningSecrets(kTenant, id, now_));
  EXPECT_EQ(signing.url, created.endpoint().url());
  EXPECT_EQ(signing.max_attempts, 8);
  EXPECT_EQ(signing.rate_limit_per_second, 10);
  EXPECT_EQ(signing.timeout, absl::Seconds(10));

  EXPECT_THAT(Fields(Rotate(id, absl::Hours(24 * 7) + absl::Seconds(1)).status()),
              ElementsAre("overlap"));
  EXPECT_THAT(Fields(Rotate(id, -absl::Seconds(1)).status()), ElementsAre("overlap"));
  EXPECT_THAT(Fields(Rotate("x").status()), ElementsAre("endpoint_id"));
  EXPECT_THAT(Rotate("0f8e7d6c-0000-4000-8000-000000000001"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.SigningSecrets(kTenant, "0f8e7d6c-0000-4000-8000-000000000001", now_),
              StatusIs(absl::StatusCode::kNotFound));
  // Four writes audited, no secret in any entry.
  ASSERT_EQ(store_.audit_entries().size(), 4u);
  for (const auto& entry : store_.audit_entries()) {
    for (const std::string& secret :
         {created.secret(), first.secret(), second.secret(), third.secret()}) {
      EXPECT_THAT(entry.DebugString(), Not(HasSubstr(secret)));
    }
  }
}

TEST_F(EndpointManagerTest, ASecretSealedWithAnotherKeyIsReportedNotUsed) {
  const std::string id = Create(CreateRequest()).endpoint().endpoint_id();
  const SecretBox other = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'o'));
  // A row sealed under the old key is not opened by a box with another key, and a row's
  // secret does not open for another tenant's endpoint.
  TL_ASSERT_OK_AND_ASSIGN(const endpoint_rules::StoredSecrets stored,
                          store_.StoredSecretsOf(kTenant, id));
  TL_ASSERT_OK_AND_ASSIGN(const v1::WebhookEndpoint endpoint, Get(id));
  EXPECT_THAT(endpoint_rules::SigningEndpointOf(other, kTenant, endpoint, stored, now_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(endpoint_rules::SigningEndpointOf(box_, "globex", endpoint, stored, now_),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EndpointManagerTest, ListsByDisplayNameThenIdInPages) {
  const std::vector<std::string> names = {"b 备份", "a 订单", "B 大写", "订单同步",
                                          "a 订单", "z 最后", "a 订单"};
  std::vector<std::pair<std::string, std::string>> expected;
  for (const std::string& name : names) {
    const v1::WebhookEndpoint endpoint = Create(CreateRequest(name)).endpoint();
    expected.emplace_back(endpoint.display_name(), endpoint.endpoint_id());
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> ids;
  for (const auto& [name, id] : expected) ids.push_back(id);
  int pages = 0;
  EXPECT_THAT(ListAll(3, &pages), ElementsAreArray(ids));
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(ListAll(7, &pages), ElementsAreArray(ids));
  EXPECT_EQ(pages, 1);
  EXPECT_THAT(ListAll(0), ElementsAreArray(ids));

  v1::ListWebhookEndpointsRequest request;
  request.set_page_size(201);
  EXPECT_THAT(Fields(manager_.ListWebhookEndpoints(Admin(), request).status()),
              ElementsAre("page_size"));
  request.set_page_size(-1);
  EXPECT_THAT(manager_.ListWebhookEndpoints(Admin(), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_page_size(2);
  TL_ASSERT_OK_AND_ASSIGN(const auto page, manager_.ListWebhookEndpoints(Admin(), request));
  ASSERT_FALSE(page.next_page_token().empty());
  // A token is bound to its tenant, and cannot be made up.
  request.set_page_token(page.next_page_token());
  EXPECT_THAT(Fields(manager_.ListWebhookEndpoints(Admin("globex"), request).status()),
              ElementsAre("page_token"));
  request.set_page_token("bm90IGEgdG9rZW4");
  EXPECT_THAT(manager_.ListWebhookEndpoints(Admin(), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Another tenant sees none of them.
  TL_ASSERT_OK_AND_ASSIGN(const auto none, manager_.ListWebhookEndpoints(Admin("globex"), {}));
  EXPECT_EQ(none.endpoints_size(), 0);
}

}  // namespace
}  // namespace touchline::automation
