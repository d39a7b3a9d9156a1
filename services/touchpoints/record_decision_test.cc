#include "services/touchpoints/record_decision.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;
namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
constexpr char kOrg[] = "northwind";

std::shared_ptr<const auth::Scope> Compile(pv1::EffectiveScope proto) {
  proto.set_tenant_id(kTenant);
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = auth::Scope::Compile(proto);
  EXPECT_TRUE(scope.ok()) << scope.status();
  return *scope;
}

std::shared_ptr<const auth::Scope> Admin() {
  return Compile(auth::testing::AdminScope(kTenant, "u-admin"));
}

// A partner user who may record touchpoints of the customers shared with its organisation.
std::shared_ptr<const auth::Scope> Partner() {
  pv1::EffectiveScope proto = auth::testing::PartnerScope(kOrg);
  proto.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
  return Compile(std::move(proto));
}

CustomerState Live(std::string id, std::vector<std::string> persons = {}) {
  CustomerState c;
  c.state = cv1::CUSTOMER_STATE_ACTIVE;
  c.person_ids = std::move(persons);
  c.attributes.customer_id = std::move(id);
  c.attributes.owner_id = "u-owner";
  c.attributes.region = "east";
  return c;
}

CustomerState MergedInto(std::string id, std::string survivor,
                         std::vector<std::string> persons = {},
                         std::vector<std::string> folded = {}) {
  CustomerState c = Live(std::move(id), std::move(persons));
  c.state = cv1::CUSTOMER_STATE_MERGED;
  c.merged_into = std::move(survivor);
  c.folded_persons = std::move(folded);
  return c;
}

v1::Touchpoint For(std::string customer_id, std::vector<std::string> persons = {}) {
  v1::Touchpoint t;
  t.set_customer_id(std::move(customer_id));
  for (std::string& p : persons) t.add_contact_person_ids(std::move(p));
  return t;
}

TEST(ResolveCustomerTest, FollowsMergesToTheSurvivorAndItsPersons) {
  // c1 was merged into c2, and c2 into c3; person p1 was folded into p2, and p2 into p3.
  const CustomerStates customers = {{"c1", MergedInto("c1", "c2", {"p1"}, {"p1:p2"})},
                                    {"c2", MergedInto("c2", "c3", {"p2"}, {"p2:p3"})},
                                    {"c3", Live("c3", {"p3", "p4"})}};
  v1::Touchpoint t = For("c1", {"p1", "p4"});
  TL_ASSERT_OK(ResolveCustomer(customers, *Admin(), t, "touchpoint"));
  EXPECT_EQ(t.customer_id(), "c3");
  EXPECT_THAT(t.contact_person_ids(), ElementsAre("p3", "p4"));
}

TEST(ResolveCustomerTest, NamesAPersonFoldedTwiceOnce) {
  const CustomerStates customers = {{"c1", MergedInto("c1", "c2", {"p1"}, {"p1:p2"})},
                                    {"c2", Live("c2", {"p2"})}};
  v1::Touchpoint t = For("c1", {"p1", "p2"});
  TL_ASSERT_OK(ResolveCustomer(customers, *Admin(), t, ""));
  EXPECT_THAT(t.contact_person_ids(), ElementsAre("p2"));
}

TEST(ResolveCustomerTest, RefusesAnUnknownAndAnInvisibleCustomerAlike) {
  const CustomerStates customers = {{"c1", Live("c1")}};  // Not shared with the partner.
  v1::Touchpoint unknown = For("c9");
  v1::Touchpoint hidden = For("c1");
  const absl::Status unknown_status = ResolveCustomer(customers, *Partner(), unknown, "touchpoint");
  const absl::Status hidden_status = ResolveCustomer(customers, *Partner(), hidden, "touchpoint");
  EXPECT_THAT(unknown_status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(hidden_status, unknown_status);
  EXPECT_THAT(
      status::FieldViolationsOf(hidden_status),
      ElementsAre(Pair("touchpoint.customer_id", ::testing::StartsWith("names no customer"))));
  EXPECT_EQ(hidden.customer_id(), "c1");
}

TEST(ResolveCustomerTest, RefusesAReadShareWithPermissionDenied) {
  CustomerState shared = Live("c1");
  shared.attributes.shares.push_back({absl::StrCat("partner:", kOrg), /*edit=*/false});
  v1::Touchpoint t = For("c1");
  EXPECT_THAT(ResolveCustomer({{"c1", shared}}, *Partner(), t, ""),
              StatusIs(absl::StatusCode::kPermissionDenied));

  shared.attributes.shares.back().edit = true;
  TL_EXPECT_OK(ResolveCustomer({{"c1", shared}}, *Partner(), t, ""));
}

TEST(ResolveCustomerTest, ChecksEveryCustomerOnTheWayThroughMerges) {
  // The partner may write the survivor's touchpoints but does not see the merged customer.
  CustomerState survivor = Live("c2");
  survivor.attributes.shares.push_back({absl::StrCat("partner:", kOrg), /*edit=*/true});
  v1::Touchpoint t = For("c1");
  EXPECT_THAT(
      ResolveCustomer({{"c1", MergedInto("c1", "c2")}, {"c2", survivor}}, *Partner(), t, ""),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ResolveCustomerTest, RefusesADeletedCustomer) {
  CustomerState deleted = Live("c1");
  deleted.state = cv1::CUSTOMER_STATE_DELETED;
  v1::Touchpoint t = For("c1");
  EXPECT_THAT(status::FieldViolationsOf(
                  ResolveCustomer({{"c1", deleted}}, *Admin(), t, "requests[2].touchpoint")),
              ElementsAre(Pair("requests[2].touchpoint.customer_id", "names a deleted customer")));
}

TEST(ResolveCustomerTest, RefusesAnotherCustomersPerson) {
  v1::Touchpoint t = For("c1", {"p1", "p-other"});
  const absl::Status status =
      ResolveCustomer({{"c1", Live("c1", {"p1"})}}, *Admin(), t, "touchpoint");
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("touchpoint.contact_person_ids[1]",
                               "is not a contact person of the customer")));
  EXPECT_EQ(t.customer_id(), "c1");
}

TEST(ResolveCustomerTest, GivesUpOnAMergeCycle) {
  v1::Touchpoint t = For("c1");
  EXPECT_THAT(ResolveCustomer({{"c1", MergedInto("c1", "c2")}, {"c2", MergedInto("c2", "c1")}},
                              *Admin(), t, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ResolveCustomerTest, StatusAfterNeedsTheCustomerWritable) {
  pv1::EffectiveScope proto = auth::testing::PartnerScope(kOrg);
  proto.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);  // But not CUSTOMERS_WRITE.
  CustomerState shared = Live("c1");
  shared.attributes.shares.push_back({absl::StrCat("partner:", kOrg), /*edit=*/true});
  v1::Touchpoint t = For("c1");
  t.set_customer_status_after(cv1::LIFECYCLE_STATUS_LEAD);
  EXPECT_THAT(ResolveCustomer({{"c1", shared}}, *Compile(proto), t, ""),
              StatusIs(absl::StatusCode::kPermissionDenied));
  proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  TL_EXPECT_OK(ResolveCustomer({{"c1", shared}}, *Compile(proto), t, ""));
}

NewTouchpoint Touchpoint(std::string id, std::string request_id, std::string source_system = "",
                         std::string external_id = "", std::string fingerprint = "f1") {
  NewTouchpoint n;
  n.context.caller.tenant_id = kTenant;
  n.touchpoint.set_touchpoint_id(std::move(id));
  n.touchpoint.set_source_system(std::move(source_system));
  n.touchpoint.set_external_id(std::move(external_id));
  n.touchpoint.mutable_occur_time()->set_seconds(1700000000);
  n.request_id = std::move(request_id);
  n.fingerprint = std::move(fingerprint);
  return n;
}

using idempotency::Decision;

// The keys of `n` as claiming them decided: the request id `request` (with `prior` as the
// touchpoint a replay names), the source key won or not.
KeyClaims Claimed(const NewTouchpoint& n, Decision request, bool source_won = true,
                  std::string prior = "") {
  KeyClaims keys = KeysOf(n);
  if (keys.request) {
    keys.request_claim = {request, request == Decision::kNew ? keys.request->result : prior};
  }
  keys.source_won = keys.source && source_won;
  return keys;
}

TEST(KeysOfTest, TakesTheRequestIdAndTheSource) {
  const KeyClaims keys = KeysOf(Touchpoint("t1", "r1", "crm", "x-7"));
  ASSERT_TRUE(keys.request && keys.source);
  EXPECT_EQ(keys.request->key.tenant_id, kTenant);
  EXPECT_EQ(keys.request->key.request_id, "r1");
  EXPECT_EQ(keys.request->key.method, kRecordMethod);
  EXPECT_EQ(keys.request->key.fingerprint, "f1");
  EXPECT_EQ(keys.request->result, "t1");  // What a replay returns.
  EXPECT_EQ(keys.source->touchpoint_id, "t1");
  EXPECT_EQ(keys.source->fingerprint, "f1");
  EXPECT_EQ(keys.source->occurred_at, absl::FromUnixSeconds(1700000000));
  EXPECT_FALSE(KeysOf(Touchpoint("t2", "")).request);
  EXPECT_FALSE(KeysOf(Touchpoint("t3", "", "", "x-7")).source);  // No source: no key.
}

TEST(KeysOfTest, KeepsSourcesApartWhateverTheirSplit) {
  EXPECT_NE(KeysOf(Touchpoint("t1", "", "ab", "c")).source->key,
            KeysOf(Touchpoint("t1", "", "a", "bc")).source->key);
}

TEST(DecideClaimsTest, NewOnlyWithEveryKeyAndGivesBackTheRest) {
  const ClaimDecision decision = DecideClaims({
      Claimed(Touchpoint("t0", "r0", "crm", "a"), Decision::kNew),         // Both won.
      Claimed(Touchpoint("t1", "r1", "crm", "b"), Decision::kNew, false),  // Source taken.
      Claimed(Touchpoint("t2", ""), Decision::kNew),                       // No keys.
      Claimed(Touchpoint("t3", "r3", "crm", "c"), Decision::kReplay, true, "t-old"),
      Claimed(Touchpoint("t4", "r4"), Decision::kConflict),
  });
  EXPECT_THAT(decision.is_new, ElementsAre(true, false, true, false, false));
  EXPECT_THAT(decision.give_back_request, ElementsAre(false, true, false, false, false));
  EXPECT_THAT(decision.give_back_source, ElementsAre(false, false, false, true, false));
}

TEST(DecideReplayTest, ReplaysTheSameRequest) {
  const NewTouchpoint n = Touchpoint("t-new", "r1", "crm", "a");
  TL_ASSERT_OK_AND_ASSIGN(const std::string prior,
                          DecideReplay(n, Claimed(n, Decision::kReplay, false, "t-old"),
                                       StoredSourceKey{"t-old", "f1"}, {}));
  EXPECT_EQ(prior, "t-old");
  // By the source alone.
  const NewTouchpoint by_source = Touchpoint("t-new", "", "crm", "a");
  TL_ASSERT_OK_AND_ASSIGN(const std::string same,
                          DecideReplay(by_source, Claimed(by_source, Decision::kNew, false),
                                       StoredSourceKey{"t-old", "f1"}, {}));
  EXPECT_EQ(same, "t-old");
}

TEST(DecideReplayTest, RefusesARequestIdReusedForAnotherRequest) {
  const NewTouchpoint n = Touchpoint("t-new", "r1");
  const absl::StatusOr<std::string> replay =
      DecideReplay(n, Claimed(n, Decision::kConflict), std::nullopt, {});
  EXPECT_THAT(replay, StatusIs(absl::StatusCode::kAlreadyExists,
                               "request_id r1 was used for another request"));
  EXPECT_EQ(status::ErrorReasonOf(replay.status()), "REQUEST_ID_REUSED");
}

TEST(DecideReplayTest, RefusesASourceWithOtherContentOrAnotherTouchpoint) {
  const NewTouchpoint n = Touchpoint("t-new", "r1", "crm", "a");
  const absl::StatusOr<std::string> other_content =
      DecideReplay(n, Claimed(n, Decision::kNew, false), StoredSourceKey{"t-1", "f9"}, {});
  EXPECT_THAT(other_content, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(other_content.status()), "EXTERNAL_ID_EXISTS");
  // The request id recorded one touchpoint and the source another.
  const absl::StatusOr<std::string> two = DecideReplay(
      n, Claimed(n, Decision::kReplay, false, "t-1"), StoredSourceKey{"t-2", "f1"}, {});
  EXPECT_EQ(status::ErrorReasonOf(two.status()), "EXTERNAL_ID_EXISTS");
}

TEST(DecideReplayTest, AsksForARetryWhenTheKeyWasGivenBack) {
  const NewTouchpoint n = Touchpoint("t-new", "r1");
  EXPECT_THAT(DecideReplay(n, Claimed(n, Decision::kNew), std::nullopt, {}),
              StatusIs(absl::StatusCode::kAborted));
  // Its request id names a touchpoint of the same write that was not recorded.
  EXPECT_THAT(
      DecideReplay(n, Claimed(n, Decision::kReplay, true, "t-first"), std::nullopt, {"t-first"}),
      StatusIs(absl::StatusCode::kAborted));
}

}  // namespace
}  // namespace touchline::touchpoints
