// JourneyStateManager's rules against the in-memory store: no PostgreSQL, no Redis.
#include "services/journeys/state/journey_state_manager.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/state/testing/in_memory_state_store.h"
#include "services/journeys/state/visit_rows.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::journeys {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kJourney[] = "10000000-0000-4000-8000-000000000001";
const absl::Time kDay0 = absl::FromCivil(absl::CivilDay(2026, 3, 1), absl::UTCTimeZone());

absl::Time Day(int days) { return kDay0 + absl::Hours(24) * days; }

// Customer ids that sort as their numbers.
std::string CustomerId(int n) { return absl::StrFormat("00000000-0000-4000-8000-%012d", n); }

// The seed's retail map, published as version `version` of journey `id`.
v1::Journey Retail(int version = 1, const std::string& id = kJourney) {
  v1::Journey journey = testing::RetailJourney();
  journey.set_journey_id(id);
  journey.set_version(version);
  journey.set_state(v1::JOURNEY_STATE_PUBLISHED);
  return journey;
}

// The field of each violation of `status`, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    fields.push_back(field);
  }
  return fields;
}

// The cause of a visit, as one word: entered, touchpoint:<id>, manual:<user>:<reason>.
std::string CauseOf(const v1::StageVisit& visit) {
  if (visit.cause().entered()) return "entered";
  if (visit.cause().has_manual()) {
    return absl::StrCat("manual:", visit.cause().manual().user_id(), ":",
                        visit.cause().manual().reason());
  }
  return absl::StrCat("touchpoint:", visit.cause().touchpoint_id());
}

class JourneyStateManagerTest : public ::testing::Test {
 protected:
  JourneyStateManagerTest() { store_.AddJourney(kTenant, Retail()); }

  static auth::RequestContext Caller(pv1::EffectiveScope proto, std::string caller_id) {
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(caller_id));
  }
  static auth::RequestContext Admin() {
    return Caller(auth::testing::AdminScope(kTenant, "u-admin"), "u-admin");
  }
  // A rep who sees the customers it owns; `write`: and may change them.
  static auth::RequestContext Rep(const std::string& user = "u-rep", bool write = true) {
    pv1::EffectiveScope scope = auth::testing::RepScope(user);
    if (write) scope.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    return Caller(std::move(scope), user);
  }
  // A member of team t-1 who may change customers: sees those shared with the team.
  static auth::RequestContext TeamMember() {
    pv1::EffectiveScope scope;
    scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
    scope.set_role_id("rep");
    scope.set_rank(10);
    scope.add_grantees("team:t-1");
    scope.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    return Caller(std::move(scope), "u-team");
  }

  // Customer `n` in the read model, of `owner` in 华东.
  std::string AddCustomer(int n, const std::string& owner,
                          std::vector<auth::CustomerAttributes::Share> shares = {},
                          cv1::CustomerLevel level = cv1::CUSTOMER_LEVEL_STANDARD) {
    store_.AddCustomer(kTenant, auth::CustomerAttributes{.customer_id = CustomerId(n),
                                                         .owner_id = owner,
                                                         .region = "华东",
                                                         .level = level,
                                                         .shares = std::move(shares)});
    return CustomerId(n);
  }

  // Puts `customer` on `journey_id` (version `version`): it entered the first stage at
  // `enter`, then each (stage, time) of `moves` by a touchpoint "t-<stage>".
  void Place(const std::string& customer, absl::Time enter,
             const std::vector<std::pair<std::string, absl::Time>>& moves = {}, int version = 1,
             const std::string& journey_id = kJourney) {
    std::vector<Visit> visits(1);
    visits[0].stage_id = "awareness";
    visits[0].enter_time = enter;
    for (const auto& [stage, at] : moves) {
      visits.back().exit_time = at;
      Visit& next = visits.emplace_back();
      next.stage_id = stage;
      next.from_stage_id = visits[visits.size() - 2].stage_id;
      next.enter_time = at;
      next.cause = CauseKind::kTouchpoint;
      next.cause_id = absl::StrCat("t-", stage);
    }
    TL_ASSERT_OK(store_.AddMember(kTenant, customer, journey_id, version, std::move(visits)));
  }

  absl::StatusOr<v1::GetCustomerJourneysResponse> Journeys(const std::string& customer,
                                                           const auth::RequestContext& caller) {
    v1::GetCustomerJourneysRequest request;
    request.set_customer_id(customer);
    return manager_.GetCustomerJourneys(caller, request);
  }

  static v1::ListStageHistoryRequest HistoryRequest(const std::string& customer,
                                                    int page_size = 0) {
    v1::ListStageHistoryRequest request;
    request.set_customer_id(customer);
    request.set_journey_id(kJourney);
    request.set_page_size(page_size);
    return request;
  }

  // "<stage><<from>" of every visit of `customer` on the journey, as the store keeps them.
  std::vector<std::string> Path(const std::string& customer) {
    std::vector<std::string> path;
    const auto visits = store_.Visits(kTenant, customer, kJourney, 0, 100);
    EXPECT_TRUE(visits.ok()) << visits.status();
    for (const auto& [seq, visit] : *visits) {
      path.push_back(absl::StrCat(visit.stage_id(), "<", visit.from_stage_id()));
    }
    return path;
  }

  static v1::MoveCustomerRequest Move(const std::string& customer, std::string to_stage,
                                      std::string request_id = "") {
    v1::MoveCustomerRequest request;
    request.set_customer_id(customer);
    request.set_journey_id(kJourney);
    request.set_to_stage_id(std::move(to_stage));
    request.set_reason("客户在展会上签约");
    request.set_request_id(std::move(request_id));
    return request;
  }

  static v1::ListCustomersInStageRequest InStage(std::string stage, int page_size,
                                                 int min_days = 0) {
    v1::ListCustomersInStageRequest request;
    request.set_journey_id(kJourney);
    request.set_stage_id(std::move(stage));
    request.set_page_size(page_size);
    request.set_min_days_in_stage(min_days);
    return request;
  }

  // The customer ids of every page of `request` for `caller`, one list per page.
  std::vector<std::vector<std::string>> Pages(v1::ListCustomersInStageRequest request,
                                              const auth::RequestContext& caller) {
    std::vector<std::vector<std::string>> pages;
    do {
      const auto page = manager_.ListCustomersInStage(caller, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || pages.size() > 10) break;
      std::vector<std::string>& ids = pages.emplace_back();
      for (const v1::StageMember& member : page->customers()) ids.push_back(member.customer_id());
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return pages;
  }

  std::vector<permissions::v1::AuditEvent> Audited() const {
    std::vector<permissions::v1::AuditEvent> audited;
    for (const events::v1::EventEnvelope& envelope : store_.audit_entries()) {
      events::v1::AuditRecorded recorded;
      EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
      audited.push_back(recorded.event());
    }
    return audited;
  }

  absl::Time now_ = Day(30);
  testing::InMemoryJourneyStateStore store_;
  const paging::PageTokens tokens_{std::string(paging::kTokenKeyBytes, 'k')};
  const JourneyStateManager manager_{&store_, &tokens_, [this] { return now_; }};
};

TEST_F(JourneyStateManagerTest, CustomerJourneysAreInDisplayNameOrderWithWhereItStands) {
  // 北 (bei) sorts before 安 (an) by bytes and by journey id, after it by pinyin.
  const std::string north = "10000000-0000-4000-8000-000000000002";
  const std::string calm = "10000000-0000-4000-8000-000000000003";
  v1::Journey north_named = Retail(1, north);
  north_named.set_display_name("北区旅程");
  store_.AddJourney(kTenant, north_named);
  v1::Journey calm_named = Retail(1, calm);
  calm_named.set_display_name("安心旅程");
  store_.AddJourney(kTenant, calm_named);
  const std::string customer = AddCustomer(1, "u-rep");
  Place(customer, Day(0), {{"consideration", Day(2)}}, 1, north);
  Place(customer, Day(1), {{"consideration", Day(2)}, {"purchase", Day(4)}}, 1, calm);

  TL_ASSERT_OK_AND_ASSIGN(const v1::GetCustomerJourneysResponse response,
                          Journeys(customer, Rep()));
  ASSERT_EQ(response.journeys_size(), 2);
  const v1::CustomerJourney& first = response.journeys(0);
  EXPECT_EQ(first.journey_id(), calm);
  EXPECT_EQ(first.journey_display_name(), "安心旅程");
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.stage_id(), "purchase");
  EXPECT_EQ(first.stage_kind(), v1::STAGE_KIND_GOAL);
  EXPECT_TRUE(first.completed());
  EXPECT_EQ(FromProtoTime(first.stage_enter_time()), Day(4));
  EXPECT_EQ(FromProtoTime(first.journey_enter_time()), Day(1));
  const v1::CustomerJourney& second = response.journeys(1);
  EXPECT_EQ(second.journey_id(), north);
  EXPECT_EQ(second.stage_id(), "consideration");
  EXPECT_EQ(second.stage_kind(), v1::STAGE_KIND_NORMAL);
  EXPECT_FALSE(second.completed());
  EXPECT_EQ(FromProtoTime(second.journey_enter_time()), Day(0));

  // A customer the caller sees on no journey: an empty list, not NOT_FOUND.
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetCustomerJourneysResponse none,
                          Journeys(AddCustomer(2, "u-rep"), Rep()));
  EXPECT_THAT(none.journeys(), IsEmpty());
}

TEST_F(JourneyStateManagerTest, ACustomerTheCallerCannotSeeIsNotFoundLikeAMissingOne) {
  const std::string theirs = AddCustomer(1, "u-other");
  const std::string vip =
      AddCustomer(2, "u-other", {{.grantee = "partner:p-1"}}, cv1::CUSTOMER_LEVEL_VIP);
  const std::string shared = AddCustomer(3, "u-other", {{.grantee = "partner:p-1"}});
  const std::string unknown = CustomerId(4);  // not in the read model
  for (const std::string& customer : {theirs, vip, shared, unknown}) Place(customer, Day(0));

  for (const std::string& customer : {theirs, unknown}) {
    SCOPED_TRACE(customer);
    const std::string message = absl::StrCat("customer ", customer, " not found");
    EXPECT_THAT(Journeys(customer, Rep()), StatusIs(absl::StatusCode::kNotFound, message));
    EXPECT_THAT(manager_.ListStageHistory(Rep(), HistoryRequest(customer)),
                StatusIs(absl::StatusCode::kNotFound, message));
  }
  EXPECT_THAT(Journeys(unknown, Admin()), StatusIs(absl::StatusCode::kNotFound));
  TL_ASSERT_OK_AND_ASSIGN(const auto for_admin, Journeys(theirs, Admin()));
  EXPECT_EQ(for_admin.journeys_size(), 1);

  // A partner sees what is shared with it, except VIP customers.
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("p-1"), "u-partner");
  TL_ASSERT_OK_AND_ASSIGN(const auto for_partner, Journeys(shared, partner));
  EXPECT_EQ(for_partner.journeys_size(), 1);
  EXPECT_THAT(Journeys(vip, partner), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Journeys(theirs, partner), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JourneyStateManagerTest, CustomerIdIsChecked) {
  const absl::StatusOr<v1::GetCustomerJourneysResponse> bad = Journeys("c-1", Admin());
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(bad.status()), ElementsAre("customer_id"));
}

TEST_F(JourneyStateManagerTest, HistoryPagesBySeq) {
  const std::string customer = AddCustomer(1, "u-rep");
  Place(customer, Day(0), {{"consideration", Day(2)}, {"purchase", Day(5)}});

  TL_ASSERT_OK_AND_ASSIGN(const v1::ListStageHistoryResponse first,
                          manager_.ListStageHistory(Rep(), HistoryRequest(customer, 2)));
  ASSERT_EQ(first.visits_size(), 2);
  EXPECT_EQ(first.visits(0).stage_id(), "awareness");
  EXPECT_EQ(CauseOf(first.visits(0)), "entered");
  EXPECT_EQ(FromProtoTime(first.visits(0).exit_time()), Day(2));
  EXPECT_EQ(first.visits(1).stage_id(), "consideration");
  EXPECT_EQ(first.visits(1).from_stage_id(), "awareness");
  EXPECT_EQ(first.visits(1).journey_id(), kJourney);
  EXPECT_EQ(first.visits(1).version(), 1);
  EXPECT_EQ(CauseOf(first.visits(1)), "touchpoint:t-consideration");
  ASSERT_FALSE(first.next_page_token().empty());

  v1::ListStageHistoryRequest next = HistoryRequest(customer, 2);
  next.set_page_token(first.next_page_token());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListStageHistoryResponse second,
                          manager_.ListStageHistory(Rep(), next));
  ASSERT_EQ(second.visits_size(), 1);
  EXPECT_EQ(second.visits(0).stage_id(), "purchase");
  EXPECT_FALSE(second.visits(0).has_exit_time());
  EXPECT_TRUE(second.next_page_token().empty());

  // Page size 0 is the default (100); exactly page_size visits leave no token.
  TL_ASSERT_OK_AND_ASSIGN(const auto all,
                          manager_.ListStageHistory(Rep(), HistoryRequest(customer)));
  EXPECT_EQ(all.visits_size(), 3);
  EXPECT_TRUE(all.next_page_token().empty());
  TL_ASSERT_OK_AND_ASSIGN(const auto exact,
                          manager_.ListStageHistory(Rep(), HistoryRequest(customer, 3)));
  EXPECT_EQ(exact.visits_size(), 3);
  EXPECT_TRUE(exact.next_page_token().empty());

  // The token belongs to this customer's history of this journey.
  const std::string other = AddCustomer(2, "u-rep");
  Place(other, Day(0), {{"consideration", Day(1)}, {"purchase", Day(2)}});
  v1::ListStageHistoryRequest stolen = HistoryRequest(other, 2);
  stolen.set_page_token(first.next_page_token());
  const auto refused = manager_.ListStageHistory(Rep(), stolen);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(refused.status()), ElementsAre("page_token"));
  next.set_page_token("garbage");
  EXPECT_THAT(Fields(manager_.ListStageHistory(Rep(), next).status()), ElementsAre("page_token"));
}

TEST_F(JourneyStateManagerTest, HistoryRequestNamesEveryBadField) {
  v1::ListStageHistoryRequest request;
  request.set_customer_id("c-1");
  request.set_journey_id("j-1");
  request.set_page_size(1001);
  const auto bad = manager_.ListStageHistory(Admin(), request);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(bad.status()), ElementsAre("customer_id", "journey_id", "page_size"));
  request = HistoryRequest(AddCustomer(1, "u-rep"), -1);
  EXPECT_THAT(Fields(manager_.ListStageHistory(Admin(), request).status()),
              ElementsAre("page_size"));
  request.set_page_size(1000);
  TL_EXPECT_OK(manager_.ListStageHistory(Admin(), request));
}

TEST_F(JourneyStateManagerTest, MoveCustomerMovesAuditsAndAnswersWhereTheCustomerStands) {
  const std::string customer = AddCustomer(1, "u-rep");
  Place(customer, Day(0), {{"consideration", Day(2)}});
  v1::MoveCustomerRequest request = Move(customer, "purchase");
  request.set_reason("  客户在展会上签约\u3000");  // trimmed, U+3000 too

  TL_ASSERT_OK_AND_ASSIGN(const v1::MoveCustomerResponse moved,
                          manager_.MoveCustomer(Rep(), request));
  EXPECT_EQ(moved.journey().journey_id(), kJourney);
  EXPECT_EQ(moved.journey().stage_id(), "purchase");
  EXPECT_EQ(moved.journey().stage_kind(), v1::STAGE_KIND_GOAL);
  EXPECT_TRUE(moved.journey().completed());
  EXPECT_EQ(FromProtoTime(moved.journey().stage_enter_time()), now_);
  EXPECT_EQ(FromProtoTime(moved.journey().journey_enter_time()), Day(0));

  TL_ASSERT_OK_AND_ASSIGN(const auto history,
                          manager_.ListStageHistory(Rep(), HistoryRequest(customer)));
  ASSERT_EQ(history.visits_size(), 3);
  EXPECT_EQ(FromProtoTime(history.visits(1).exit_time()), now_);
  EXPECT_EQ(history.visits(2).from_stage_id(), "consideration");
  EXPECT_EQ(FromProtoTime(history.visits(2).enter_time()), now_);
  EXPECT_EQ(CauseOf(history.visits(2)), "manual:u-rep:客户在展会上签约");

  const std::vector<permissions::v1::AuditEvent> audited = Audited();
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].action(), "journey.customer_moved");
  EXPECT_EQ(audited[0].actor_id(), "u-rep");
  EXPECT_EQ(audited[0].resource_type(), "customer");
  EXPECT_EQ(audited[0].resource_id(), customer);
  EXPECT_THAT(audited[0].fields(), ElementsAre("stage_id"));
  EXPECT_EQ(audited[0].detail(),
            absl::StrCat("journey ", kJourney, " to stage purchase: 客户在展会上签约"));
}

TEST_F(JourneyStateManagerTest, MoveCustomerHappensOncePerRequestId) {
  const std::string customer = AddCustomer(1, "u-rep");
  Place(customer, Day(0));
  TL_ASSERT_OK_AND_ASSIGN(const auto moved,
                          manager_.MoveCustomer(Rep(), Move(customer, "purchase", "move-1")));
  EXPECT_EQ(moved.journey().stage_id(), "purchase");
  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const auto lost, manager_.MoveCustomer(Rep(), Move(customer, "lost")));
  EXPECT_EQ(lost.journey().stage_id(), "lost");
  ASSERT_THAT(Path(customer), ElementsAre("awareness<", "purchase<awareness", "lost<purchase"));

  // The first request again: where the customer stands now, and no move.
  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const auto again,
                          manager_.MoveCustomer(Rep(), Move(customer, "purchase", "move-1")));
  EXPECT_EQ(again.journey().stage_id(), "lost");
  EXPECT_EQ(FromProtoTime(again.journey().stage_enter_time()), Day(30) + absl::Hours(1));
  EXPECT_EQ(Path(customer).size(), 3u);
  EXPECT_EQ(Audited().size(), 2u);

  // The same id for another request.
  v1::MoveCustomerRequest other = Move(customer, "purchase", "move-1");
  other.set_reason("another reason");
  EXPECT_THAT(manager_.MoveCustomer(Rep(), other), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Path(customer).size(), 3u);
  EXPECT_EQ(Audited().size(), 2u);
}

TEST_F(JourneyStateManagerTest, MoveCustomerNeedsTheWritePermissionAndAWritableCustomer) {
  const std::string mine = AddCustomer(1, "u-rep");
  const std::string theirs = AddCustomer(2, "u-other");
  const std::string read_share = AddCustomer(3, "u-other", {{.grantee = "team:t-1"}});
  const std::string edit_share = AddCustomer(4, "u-other", {{.grantee = "team:t-1", .edit = true}});
  for (const std::string& customer : {mine, theirs, read_share, edit_share}) {
    Place(customer, Day(0));
  }

  const auto no_permission = manager_.MoveCustomer(Rep("u-rep", false), Move(mine, "purchase"));
  EXPECT_THAT(no_permission, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(status::ErrorReasonOf(no_permission.status()), "MISSING_PERMISSION");
  EXPECT_THAT(
      manager_.MoveCustomer(Rep(), Move(theirs, "purchase")),
      StatusIs(absl::StatusCode::kNotFound, absl::StrCat("customer ", theirs, " not found")));
  // Seen through a read share: visible, not writable.
  TL_ASSERT_OK(Journeys(read_share, TeamMember()));
  const auto read_only = manager_.MoveCustomer(TeamMember(), Move(read_share, "purchase"));
  EXPECT_THAT(read_only, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(status::ErrorReasonOf(read_only.status()), "CUSTOMER_NOT_WRITABLE");
  for (const std::string& customer : {mine, theirs, read_share}) {
    EXPECT_THAT(Path(customer), ElementsAre("awareness<"));
  }
  EXPECT_THAT(Audited(), IsEmpty());

  TL_ASSERT_OK_AND_ASSIGN(const auto moved,
                          manager_.MoveCustomer(TeamMember(), Move(edit_share, "purchase")));
  EXPECT_EQ(moved.journey().stage_id(), "purchase");
  ASSERT_EQ(Audited().size(), 1u);
  EXPECT_EQ(Audited()[0].actor_id(), "u-team");
}

TEST_F(JourneyStateManagerTest, MoveCustomerRequestNamesEveryBadField) {
  const auto empty = manager_.MoveCustomer(Admin(), v1::MoveCustomerRequest());
  EXPECT_THAT(empty, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(empty.status()),
              ElementsAre("customer_id", "journey_id", "to_stage_id", "reason"));

  const std::string customer = AddCustomer(1, "u-rep");
  Place(customer, Day(0));
  v1::MoveCustomerRequest request = Move(customer, "purchase", std::string(129, 'r'));
  request.set_reason("   ");
  EXPECT_THAT(Fields(manager_.MoveCustomer(Admin(), request).status()),
              ElementsAre("reason", "request_id"));
  // The reason's limit is 500 characters, not bytes.
  std::string reason;
  for (int i = 0; i < 501; ++i) reason += "因";
  request.set_reason(reason);
  request.set_request_id(std::string(128, 'r'));
  EXPECT_THAT(Fields(manager_.MoveCustomer(Admin(), request).status()), ElementsAre("reason"));
  EXPECT_THAT(Path(customer), ElementsAre("awareness<"));
  request.set_reason(reason.substr(3));
  TL_ASSERT_OK_AND_ASSIGN(const auto moved, manager_.MoveCustomer(Admin(), request));
  EXPECT_EQ(moved.journey().stage_id(), "purchase");
}

TEST_F(JourneyStateManagerTest, MoveCustomerOnlyToAStageOfTheVersionItIsOn) {
  v1::Journey second = Retail(2);
  *second.add_stages() = testing::StageOf("loyal", "忠诚", v1::STAGE_KIND_NORMAL);
  store_.AddJourney(kTenant, second);
  const std::string on_first = AddCustomer(1, "u-rep");
  const std::string on_second = AddCustomer(2, "u-rep");
  const std::string on_none = AddCustomer(3, "u-rep");
  Place(on_first, Day(0));
  Place(on_second, Day(0), {}, 2);

  const auto refused = manager_.MoveCustomer(Rep(), Move(on_first, "loyal"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(refused.status()), ElementsAre("to_stage_id"));
  EXPECT_THAT(Path(on_first), ElementsAre("awareness<"));
  TL_ASSERT_OK_AND_ASSIGN(const auto moved, manager_.MoveCustomer(Rep(), Move(on_second, "loyal")));
  EXPECT_EQ(moved.journey().version(), 2);
  EXPECT_EQ(moved.journey().stage_id(), "loyal");
  EXPECT_FALSE(moved.journey().completed());

  EXPECT_THAT(manager_.MoveCustomer(Rep(), Move(on_none, "purchase")),
              StatusIs(absl::StatusCode::kNotFound,
                       absl::StrCat("customer ", on_none, " is not on journey ", kJourney)));
  EXPECT_EQ(Audited().size(), 1u);
}

TEST_F(JourneyStateManagerTest, StageListsFollowTheScopeInStayOrderAndPage) {
  // Customers 2 and 1 entered at the same time: the id breaks the tie.
  const absl::Time entered[] = {Day(0), Day(0), Day(0) + absl::Hours(1), Day(0) + absl::Hours(2),
                                Day(0) + absl::Hours(3)};
  for (int n = 1; n <= 5; ++n) {
    Place(AddCustomer(n, n % 2 == 1 ? "u-rep" : "u-other"), entered[n - 1]);
  }
  Place(AddCustomer(6, "u-rep"), Day(0), {{"consideration", Day(1)}});  // not in awareness

  EXPECT_THAT(Pages(InStage("awareness", 2), Admin()),
              ElementsAre(ElementsAre(CustomerId(1), CustomerId(2)),
                          ElementsAre(CustomerId(3), CustomerId(4)), ElementsAre(CustomerId(5))));
  EXPECT_THAT(Pages(InStage("awareness", 10), Rep()),
              ElementsAre(ElementsAre(CustomerId(1), CustomerId(3), CustomerId(5))));
  EXPECT_THAT(Pages(InStage("consideration", 0), Admin()), ElementsAre(ElementsAre(CustomerId(6))));

  TL_ASSERT_OK_AND_ASSIGN(const auto page,
                          manager_.ListCustomersInStage(Admin(), InStage("awareness", 1)));
  ASSERT_EQ(page.customers_size(), 1);
  EXPECT_EQ(page.customers(0).version(), 1);
  EXPECT_EQ(FromProtoTime(page.customers(0).stage_enter_time()), Day(0));
}

TEST_F(JourneyStateManagerTest, MinDaysInStageCutOffStaysWithThePages) {
  for (int n = 0; n < 6; ++n) Place(AddCustomer(n, "u-rep"), Day(n));
  // Now is day 30: 27 days in the stage means entered on day 3 or before (day 3 included).
  const v1::ListCustomersInStageRequest request = InStage("awareness", 2, 27);
  TL_ASSERT_OK_AND_ASSIGN(const auto first, manager_.ListCustomersInStage(Admin(), request));
  ASSERT_EQ(first.customers_size(), 2);
  EXPECT_EQ(first.customers(1).customer_id(), CustomerId(1));
  // Ten days later every customer has been there 27 days, but the pages keep the cut-off.
  now_ += absl::Hours(24 * 10);
  v1::ListCustomersInStageRequest next = request;
  next.set_page_token(first.next_page_token());
  TL_ASSERT_OK_AND_ASSIGN(const auto second, manager_.ListCustomersInStage(Admin(), next));
  ASSERT_EQ(second.customers_size(), 2);
  EXPECT_EQ(second.customers(0).customer_id(), CustomerId(2));
  EXPECT_EQ(second.customers(1).customer_id(), CustomerId(3));
  EXPECT_TRUE(second.next_page_token().empty());
  // A new first page has the new cut-off.
  EXPECT_THAT(Pages(InStage("awareness", 10, 27), Admin()), ElementsAre(::testing::SizeIs(6)));
  EXPECT_THAT(Pages(InStage("awareness", 10, 37), Admin()),
              ElementsAre(ElementsAre(CustomerId(0), CustomerId(1), CustomerId(2), CustomerId(3))));
}

TEST_F(JourneyStateManagerTest, StageListRequestNamesEveryBadField) {
  v1::ListCustomersInStageRequest request = InStage("", 1001, -1);
  request.set_journey_id("j-1");
  const auto bad = manager_.ListCustomersInStage(Admin(), request);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(bad.status()),
              ElementsAre("journey_id", "stage_id", "page_size", "min_days_in_stage"));
  EXPECT_THAT(
      Fields(manager_.ListCustomersInStage(Admin(), InStage("awareness", 0, 3651)).status()),
      ElementsAre("min_days_in_stage"));
  TL_EXPECT_OK(manager_.ListCustomersInStage(Admin(), InStage("awareness", 0, 3650)));

  // A token is for the stage and the min_days_in_stage it was made for.
  for (int n = 1; n <= 3; ++n) Place(AddCustomer(n, "u-rep"), Day(0));
  TL_ASSERT_OK_AND_ASSIGN(const auto first,
                          manager_.ListCustomersInStage(Admin(), InStage("awareness", 1)));
  ASSERT_FALSE(first.next_page_token().empty());
  for (v1::ListCustomersInStageRequest other :
       {InStage("consideration", 1), InStage("awareness", 1, 1)}) {
    other.set_page_token(first.next_page_token());
    EXPECT_THAT(Fields(manager_.ListCustomersInStage(Admin(), other).status()),
                ElementsAre("page_token"));
  }
  request = InStage("awareness", 1);
  request.set_page_token("garbage");
  EXPECT_THAT(Fields(manager_.ListCustomersInStage(Admin(), request).status()),
              ElementsAre("page_token"));
}

}  // namespace
}  // namespace touchline::journeys
