// What enforcement adds to one request once the caller's token and scope are cached: the
// common/auth path every service runs (ScopeAuthenticator::Authenticate on real metadata with
// a real RS256 token, Scope::Redact of a realistic customer, Scope::SqlVisibility), against
// the path before enforcement (MetadataAuthenticator, no redaction), in one process.
//
//   enforcement_micro --private_key_file=k.pem --public_key_file=k.pub [--iterations=200000]
//
// Prints p50/p90/p99 in microseconds per step and for the whole, for a rep (SQL filter over
// 25 owners, a team share; one hidden and one read-only field) and a partner (shares only;
// phones and emails masked, one field hidden).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/auth/token.h"
#include "grpcpp/support/string_ref.h"
#include "touchline/contacts/v1/customer.pb.h"

ABSL_FLAG(std::string, private_key_file, "", "RSA private key (PEM) that signs the token");
ABSL_FLAG(std::string, public_key_file, "", "Its public key (PEM)");
ABSL_FLAG(int, iterations, 200000, "Requests measured per case");

namespace touchline {
namespace {

namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;
using Clock = std::chrono::steady_clock;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::string ReadFileOrDie(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "enforcement_micro: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::string content;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, n);
  std::fclose(file);
  return content;
}

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "enforcement_micro: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(value);
}

// Hands out one fixed scope, as the permissions service would for the token's session.
class FixedSource : public auth::ScopeSource {
 public:
  explicit FixedSource(pv1::EffectiveScope scope) : scope_(std::move(scope)) {}
  absl::StatusOr<pv1::EffectiveScope> Fetch(const auth::Credential&) override { return scope_; }

 private:
  pv1::EffectiveScope scope_;
};

pv1::EffectiveScope BaseScope() {
  pv1::EffectiveScope scope;
  scope.set_tenant_id("acme");
  scope.set_user_id("0190a4b2-7c3d-7e8f-9a0b-00000000000a");
  scope.set_session_id("0190a4b2-7c3d-7e8f-9a0b-00000000000b");
  *scope.mutable_expire_time() = google::protobuf::Timestamp();
  scope.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  return scope;
}

void AddRule(pv1::EffectiveScope& scope, const std::string& path, pv1::FieldAccess access,
             pv1::MaskPattern mask = pv1::MASK_PATTERN_UNSPECIFIED) {
  *scope.add_field_rules() = auth::testing::FieldRuleOf(auth::kCustomerResource, path, access, mask);
}

pv1::EffectiveScope RepScope() {
  pv1::EffectiveScope scope = BaseScope();
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  scope.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
  for (int i = 0; i < 25; ++i) scope.add_owner_ids(absl::StrCat("0190a4b2-7c3d-7e8f-9a0b-0000000001", i + 10));
  scope.add_grantees("team:east");
  AddRule(scope, "industry", pv1::FIELD_ACCESS_READ_ONLY);
  AddRule(scope, "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN);
  return scope;
}

pv1::EffectiveScope PartnerScope() {
  pv1::EffectiveScope scope = BaseScope();
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_PARTNER_USER);
  scope.set_role_id("partner");
  scope.set_rank(5);
  scope.add_grantees("partner:channel-a");
  AddRule(scope, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PHONE);
  AddRule(scope, "contact_persons.emails", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_EMAIL);
  AddRule(scope, "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN);
  return scope;
}

// A realistic customer: three contact persons with two phones and two emails each.
cv1::Customer SampleCustomer() {
  cv1::Customer c;
  c.set_customer_id("0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b");
  c.set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
  c.set_display_name("上海云帆智能科技有限公司");
  c.set_industry("制造业");
  c.set_region("上海");
  c.set_level(cv1::CUSTOMER_LEVEL_KEY);
  c.set_owner_id("0190a4b2-7c3d-7e8f-9a0b-000000000110");
  for (const char* tag : {"重点客户", "华东", "2026展会"}) c.add_tags(tag);
  for (int p = 0; p < 3; ++p) {
    cv1::ContactPerson* person = c.add_contact_persons();
    person->set_person_id(absl::StrCat("0190a4b2-7c3d-7e8f-9a0b-00000000020", p));
    person->mutable_name()->set_family_name("王");
    person->mutable_name()->set_given_name("伟");
    person->add_titles("采购经理");
    person->add_phones()->set_number(absl::StrCat("+86138123412", 30 + p));
    person->add_phones()->set_number(absl::StrCat("+86215566778", p));
    person->add_emails()->set_address(absl::StrCat("wang.wei", p, "@example.com"));
    person->add_emails()->set_address(absl::StrCat("ww", p, "@yunfan.cn"));
    person->set_note("喜欢喝茶，周三下午方便联系");
  }
  return c;
}

struct Percentiles {
  double p50, p90, p99;
};

Percentiles Summarize(std::vector<double>& micros) {
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<size_t>(q * (micros.size() - 1))]; };
  return {at(0.50), at(0.90), at(0.99)};
}

void Print(const char* name, std::vector<double>& micros) {
  const Percentiles p = Summarize(micros);
  std::printf("  %-44s p50 %7.2f us   p90 %7.2f us   p99 %7.2f us\n", name, p.p50, p.p90, p.p99);
}

double Micros(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

void RunCase(const char* name, pv1::EffectiveScope scope, const std::string& token,
             const std::string& public_key, int iterations) {
  auth::ScopeAuthenticator authenticator(
      OrDie(auth::TokenVerifier::Create(public_key), "public key"),
      std::make_unique<FixedSource>(std::move(scope)));
  const std::string authorization = "Bearer " + token;
  const std::string tenant = "acme";
  const std::string request_id = "0190a4b2-7c3d-7e8f-9a0b-00000000ffff";
  Metadata metadata;
  metadata.emplace("authorization", grpc::string_ref(authorization));
  metadata.emplace("x-request-id", grpc::string_ref(request_id));
  const cv1::Customer sample = SampleCustomer();
  OrDie(authenticator.Authenticate(metadata), "first authentication");  // Fills the caches.

  std::vector<double> authenticate, redact, sql, total;
  authenticate.reserve(iterations);
  redact.reserve(iterations);
  sql.reserve(iterations);
  total.reserve(iterations);
  size_t sink = 0;
  for (int i = 0; i < iterations; ++i) {
    cv1::Customer customer = sample;  // What a handler has after reading the row.
    const Clock::time_point t0 = Clock::now();
    const auth::RequestContext caller = OrDie(authenticator.Authenticate(metadata), "authenticate");
    const Clock::time_point t1 = Clock::now();
    const std::vector<std::string> sensitive = caller.scope->Redact(auth::kCustomerResource,
                                                                    customer);
    const Clock::time_point t2 = Clock::now();
    const auth::SqlCondition condition =
        caller.scope->SqlVisibility(auth::Access::kRead, "c", "customer_shares", 2);
    const Clock::time_point t3 = Clock::now();
    sink += sensitive.size() + condition.sql.size() + customer.contact_persons_size();
    authenticate.push_back(Micros(t0, t1));
    redact.push_back(Micros(t1, t2));
    sql.push_back(Micros(t2, t3));
    total.push_back(Micros(t0, t3));
  }
  std::printf("%s (%d requests, sink %zu)\n", name, iterations, sink);
  Print("authenticate (token + scope cached)", authenticate);
  Print("redact one customer", redact);
  Print("build the SQL row filter", sql);
  Print("enforcement per request, total", total);
}

void RunBaseline(int iterations) {
  const auth::MetadataAuthenticator authenticator;
  const std::string tenant = "acme";
  const std::string caller_id = "rep";
  const std::string request_id = "0190a4b2-7c3d-7e8f-9a0b-00000000ffff";
  Metadata metadata;
  metadata.emplace(auth::kTenantHeader, grpc::string_ref(tenant));
  metadata.emplace(auth::kCallerHeader, grpc::string_ref(caller_id));
  metadata.emplace("x-request-id", grpc::string_ref(request_id));
  std::vector<double> total;
  total.reserve(iterations);
  size_t sink = 0;
  for (int i = 0; i < iterations; ++i) {
    const Clock::time_point t0 = Clock::now();
    const auth::RequestContext caller = OrDie(authenticator.Authenticate(metadata), "baseline");
    const Clock::time_point t1 = Clock::now();
    sink += caller.tenant_id.size();
    total.push_back(Micros(t0, t1));
  }
  std::printf("before enforcement: metadata only (%d requests, sink %zu)\n", iterations, sink);
  Print("authenticate (trusted metadata)", total);
}

}  // namespace
}  // namespace touchline

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace touchline;
  const std::string private_key = ReadFileOrDie(absl::GetFlag(FLAGS_private_key_file));
  const std::string public_key = ReadFileOrDie(absl::GetFlag(FLAGS_public_key_file));
  const int iterations = absl::GetFlag(FLAGS_iterations);
  const auth::TokenSigner signer = OrDie(auth::TokenSigner::Create(private_key), "private key");
  const pv1::EffectiveScope base = BaseScope();
  const std::string token = OrDie(
      signer.Sign({.tenant_id = base.tenant_id(),
                   .user_id = base.user_id(),
                   .session_id = base.session_id(),
                   .issue_time = absl::Now(),
                   .expire_time = absl::Now() + absl::Hours(1)}),
      "sign");
  RunBaseline(iterations);
  RunCase("rep: SQL filter over 25 owners + a team share, 1 hidden and 1 read-only field",
          RepScope(), token, public_key, iterations);
  RunCase("partner: shares only, phones and emails masked, note hidden", PartnerScope(), token,
          public_key, iterations);
  return 0;
}
