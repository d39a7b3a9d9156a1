// Who sees and changes which touchpoints, through a real gRPC stack
// (touchpoints_service_fixture.h): callers act with scopes as the permissions service compiles
// them (a rep, a regional manager, a territory member, a partner user, an administrator),
// over customers of the read model that differ in owner, region, level and shares. A
// touchpoint is visible iff its customer is; what is invisible is reported as missing.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/scope.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/touchpoints_service_fixture.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;
namespace pv1 = ::touchline::permissions::v1;

// Callers; kCaller (the fixture's default) is an administrator.
constexpr char kRep[] = "rep-1";
constexpr char kRepColleague[] = "rep-2";
constexpr char kManager[] = "mgr-1";
constexpr char kTerritoryMember[] = "terr-1";
constexpr char kPartner[] = "partner-1";
constexpr char kViewer[] = "viewer-1";

// Text of every touchpoint SetUp records: 投诉 in subject and content, 延迟 only in the
// summary, 保密 only in the content.
constexpr char kSubject[] = "客户投诉";
constexpr char kSummary[] = "物流延迟三天";
constexpr char kContent[] = "投诉内容：合同金额保密";

void AddRule(pv1::EffectiveScope& scope, const std::string& path, pv1::FieldAccess access,
             pv1::MaskPattern mask = pv1::MASK_PATTERN_UNSPECIFIED) {
  *scope.add_field_rules() = auth::testing::FieldRuleOf(auth::kTouchpointResource, path, access, mask);
}

pv1::EffectiveScope Employee(const std::string& role, int rank,
                             const std::vector<std::string>& owners) {
  pv1::EffectiveScope scope;
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  scope.set_session_id("s-" + role);
  scope.set_role_id(role);
  scope.set_rank(rank);
  scope.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
  for (const std::string& owner : owners) scope.add_owner_ids(owner);
  return scope;
}

// Owns its customers and those shared with team "north"; does not see content and may not
// change tags.
pv1::EffectiveScope RepScope() {
  pv1::EffectiveScope scope = Employee("rep", 10, {kRep});
  scope.add_grantees("team:north");
  AddRule(scope, "content", pv1::FIELD_ACCESS_HIDDEN);
  AddRule(scope, "tags", pv1::FIELD_ACCESS_READ_ONLY);
  return scope;
}

// Sees what the two reps own, VIP customers included.
pv1::EffectiveScope ManagerScope() {
  pv1::EffectiveScope scope = Employee("regional_manager", 30, {kManager, kRep, kRepColleague});
  scope.set_vip_visible(true);
  return scope;
}

// Sees the customers of 北京 and 天津 (VIP ones excepted).
pv1::EffectiveScope TerritoryScope() {
  pv1::EffectiveScope scope = Employee("team_lead", 20, {kTerritoryMember});
  scope.add_regions("北京");
  scope.add_regions("天津");
  return scope;
}

// Sees only what is shared with dealer-1: the summary masked, content and tags hidden.
pv1::EffectiveScope PartnerScope() {
  pv1::EffectiveScope scope;
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_PARTNER_USER);
  scope.set_session_id("s-partner");
  scope.set_role_id("partner");
  scope.set_rank(5);
  scope.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
  scope.add_grantees("partner:dealer-1");
  AddRule(scope, "summary", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PARTIAL);
  AddRule(scope, "content", pv1::FIELD_ACCESS_HIDDEN);
  AddRule(scope, "tags", pv1::FIELD_ACCESS_HIDDEN);
  return scope;
}

// As the rep, without the permission to write touchpoints.
pv1::EffectiveScope ViewerScope() {
  pv1::EffectiveScope scope = RepScope();
  scope.set_role_id("viewer");
  scope.clear_permissions();
  return scope;
}

class EnforcementTest : public TouchpointsServiceTest {
 protected:
  void SetUp() override {
    TouchpointsServiceTest::SetUp();
    if (HasFatalFailure()) return;
    authenticator_.SetScope(kRep, RepScope());
    authenticator_.SetScope(kManager, ManagerScope());
    authenticator_.SetScope(kTerritoryMember, TerritoryScope());
    authenticator_.SetScope(kPartner, PartnerScope());
    authenticator_.SetScope(kViewer, ViewerScope());

    customers_["own"] = SeedCustomerOf(kRep, "上海", cv1::CUSTOMER_LEVEL_STANDARD);
    customers_["colleague"] = SeedCustomerOf(kRepColleague, "北京", cv1::CUSTOMER_LEVEL_KEY);
    customers_["team_shared"] = SeedCustomerOf("rep-9", "广州", cv1::CUSTOMER_LEVEL_STANDARD);
    customers_["own_vip"] = SeedCustomerOf(kRep, "北京", cv1::CUSTOMER_LEVEL_VIP);
    customers_["partner_shared"] = SeedCustomerOf("rep-9", "深圳", cv1::CUSTOMER_LEVEL_STANDARD);
    customers_["nobody"] = SeedCustomerOf("rep-9", "广州", cv1::CUSTOMER_LEVEL_STANDARD);
    Share("team_shared", {{"team", "north"}}, 1);
    Share("partner_shared", {{"partner", "dealer-1"}}, 1);

    // Recorded by the administrator, one per customer, in this order.
    now_ = NowMicros();
    for (const char* name :
         {"own", "colleague", "team_shared", "own_vip", "partner_shared", "nobody"}) {
      v1::Touchpoint t = Basic(customers_[name].id, now_ - absl::Hours(1), kSubject);
      t.set_summary(kSummary);
      t.set_content(kContent);
      t.add_tags("物流");
      touchpoints_[name] = MustRecord(t).touchpoint_id();
      order_.push_back(name);
    }
  }

  // Replaces the shares of customer `name` ({kind, id}: "team"/"partner"), all with `access`,
  // as the permissions service's CustomerSharesChanged event does, through the shares read
  // model with the hook main.cc gives it.
  void Share(const std::string& name, const std::vector<std::pair<std::string, std::string>>& to,
             int64_t version, pv1::ShareAccess access = pv1::SHARE_ACCESS_READ) {
    ev::CustomerSharesChanged changed;
    changed.set_customer_id(customers_[name].id);
    changed.set_version(version);
    for (const auto& [kind, id] : to) {
      pv1::CustomerShare* share = changed.add_shares();
      share->set_customer_id(customers_[name].id);
      if (kind == "team") {
        share->set_team_id(id);
      } else {
        share->set_partner_org_id(id);
      }
      share->set_access(access);
    }
    const ev::EventEnvelope envelope =
        events::MakeEnvelope(changed, kTenant, "customer_shares", customers_[name].id, "", "");
    const absl::Status applied = pool_->Transact([&](pqxx::work& txn) {
      return enforcement::ApplyPermissionEvent(txn, envelope, &touchpoints::SharesChanged);
    });
    ASSERT_TRUE(applied.ok()) << applied;
  }

  // Records one more touchpoint of customer `name` as the administrator; returns its id.
  std::string RecordMarker(const std::string& name) {
    const std::string caller = caller_;
    caller_ = kCaller;
    const std::string id =
        MustRecord(Basic(customers_[name].id, now_ - absl::Minutes(30), kSubject)).touchpoint_id();
    caller_ = caller;
    return id;
  }

  // The touchpoint ids of the customers `names`, in recording order.
  std::vector<std::string> TouchpointsOf(const std::set<std::string>& names) const {
    std::vector<std::string> ids;
    for (const std::string& name : order_) {
      if (names.contains(name)) ids.push_back(touchpoints_.at(name));
    }
    return ids;
  }

  std::vector<std::string> SearchAs(const std::string& caller, const std::string& query,
                                    v1::SearchOrder order = v1::SEARCH_ORDER_UNSPECIFIED) {
    caller_ = caller;
    return SearchIds(query, "", order);
  }

  // Every audit entry published so far by `actor` with `action`, once at least `at_least` are.
  std::vector<pv1::AuditEvent> AuditOf(const std::string& actor, const std::string& action,
                                       size_t at_least) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    std::vector<pv1::AuditEvent> found;
    while (true) {
      found.clear();
      for (const ev::EventEnvelope& e : PublishedEvents(0, events::kAuditTopic)) {
        ev::AuditRecorded recorded;
        EXPECT_TRUE(e.payload().UnpackTo(&recorded)) << e.event_type();
        if (recorded.event().actor_id() == actor && recorded.event().action() == action) {
          found.push_back(recorded.event());
        }
      }
      if (found.size() >= at_least || absl::Now() > deadline) return found;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  // Waits until the change feed shows the administrator `count` changes: changes show once
  // every older transaction has ended, and other tests share the server.
  void AwaitFeed(int count) {
    const std::string caller = caller_;
    caller_ = kCaller;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    v1::ListTouchpointChangesResponse response;
    do {
      response.Clear();
      const grpc::Status status = Changes({}, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      if (response.touchpoints_size() >= count) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    ASSERT_EQ(response.touchpoints_size(), count);
    caller_ = caller;
  }

  // For every caller, `read(customer_id, &response)` of a read by customer answers a customer
  // that does not exist and each customer the caller does not see alike (NOT_FOUND "customer <id>
  // not found", and an empty response), and each customer it sees with its one touchpoint.
  template <typename Response, typename Read>
  void ExpectInvisibleCustomersAnsweredAsMissing(Read read) {
    const std::string missing = ids::NewUuid();
    for (const auto& [caller, sees] : visible_) {
      caller_ = caller;
      Response response;
      grpc::Status status = read(missing, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << caller;
      EXPECT_EQ(status.error_message(), absl::StrCat("customer ", missing, " not found"));
      for (const std::string& name : order_) {
        response.Clear();
        status = read(customers_[name].id, &response);
        if (sees.contains(name)) {
          ASSERT_TRUE(status.ok()) << caller << " " << name << ": " << status.error_message();
          EXPECT_THAT(IdsOf(response.touchpoints()), ElementsAre(touchpoints_[name]));
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << caller << " " << name;
          EXPECT_EQ(status.error_message(),
                    absl::StrCat("customer ", customers_[name].id, " not found"));
          EXPECT_EQ(response.ByteSizeLong(), 0u) << caller << " " << name;
        }
      }
    }
  }

  // Which customers each caller sees.
  const std::map<std::string, std::set<std::string>> visible_ = {
      {kCaller, {"own", "colleague", "team_shared", "own_vip", "partner_shared", "nobody"}},
      {kRep, {"own", "team_shared", "own_vip"}},
      {kManager, {"own", "colleague", "own_vip"}},
      {kTerritoryMember, {"colleague"}},
      {kPartner, {"partner_shared"}}};
  std::map<std::string, SeededCustomer> customers_;
  std::map<std::string, std::string> touchpoints_;
  std::vector<std::string> order_;
  absl::Time now_;
};

TEST_F(EnforcementTest, GetShowsVisibleTouchpointsAndReportsTheOthersAsMissing) {
  const std::string missing = ids::NewUuid();
  const grpc::Status missing_status = Get(missing, nullptr);
  ASSERT_EQ(missing_status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing_status.error_message(), absl::StrCat("touchpoint ", missing, " not found"));
  for (const auto& [caller, sees] : visible_) {
    caller_ = caller;
    for (const std::string& name : order_) {
      const std::string& id = touchpoints_[name];
      v1::Touchpoint t;
      const grpc::Status status = Get(id, &t);
      if (sees.contains(name)) {
        ASSERT_TRUE(status.ok()) << caller << " " << name << ": " << status.error_message();
        EXPECT_EQ(t.touchpoint_id(), id);
        EXPECT_EQ(t.subject(), kSubject);
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << caller << " " << name;
        EXPECT_EQ(status.error_message(), absl::StrCat("touchpoint ", id, " not found"));
        EXPECT_EQ(status.error_details(), missing_status.error_details());
      }
    }
  }
}

TEST_F(EnforcementTest, TimelineOfAnInvisibleCustomerIsNotFoundLikeAMissingOne) {
  ExpectInvisibleCustomersAnsweredAsMissing<v1::ListTouchpointsResponse>(
      [this](const std::string& customer_id, v1::ListTouchpointsResponse* response) {
        v1::ListTouchpointsRequest request;
        request.set_customer_id(customer_id);
        return List(request, response);
      });
}

TEST_F(EnforcementTest, SearchFindsExactlyTheVisibleTouchpointsInBothOrders) {
  for (const auto& [caller, sees] : visible_) {
    const std::vector<std::string> expected = TouchpointsOf(sees);
    EXPECT_THAT(SearchAs(caller, "投诉"), UnorderedElementsAreArray(expected)) << caller;
    EXPECT_THAT(SearchAs(caller, "投诉", v1::SEARCH_ORDER_OCCUR_TIME_DESC),
                UnorderedElementsAreArray(expected))
        << caller;
  }
  // Narrowed to one customer the caller does not see: nothing, as for a missing one.
  caller_ = kRep;
  EXPECT_THAT(SearchIds("投诉", customers_["colleague"].id), IsEmpty());
  EXPECT_THAT(SearchIds("投诉", customers_["own"].id), ElementsAre(touchpoints_["own"]));
}

TEST_F(EnforcementTest, StatsCountOnlyVisibleTouchpoints) {
  for (const auto& [caller, sees] : visible_) {
    caller_ = caller;
    v1::GetTouchpointStatsRequest request;
    *request.mutable_start_time() = Ts(now_ - absl::Hours(24));
    *request.mutable_end_time() = Ts(now_ + absl::Hours(1));
    v1::GetTouchpointStatsResponse stats;
    const grpc::Status status = Stats(request, &stats);
    ASSERT_TRUE(status.ok()) << caller << ": " << status.error_message();
    EXPECT_EQ(stats.total_count(), static_cast<int64_t>(sees.size())) << caller;
    EXPECT_EQ(stats.customer_count(), static_cast<int64_t>(sees.size())) << caller;
    ASSERT_EQ(stats.by_channel_size(), 1);
    EXPECT_EQ(stats.by_channel(0).count(), static_cast<int64_t>(sees.size()));
    // Of one customer the caller does not see: nothing.
    request.set_customer_id(customers_["nobody"].id);
    ASSERT_TRUE(Stats(request, &stats).ok());
    EXPECT_EQ(stats.total_count(), caller == kCaller ? 1 : 0) << caller;
  }
}

TEST_F(EnforcementTest, StatsSayNothingOfAFieldTheCallerDoesNotSeeInClear) {
  caller_ = kPartner;
  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(now_ - absl::Hours(24));
  *request.mutable_end_time() = Ts(now_ + absl::Hours(1));
  v1::GetTouchpointStatsResponse stats;
  ASSERT_TRUE(Stats(request, &stats).ok());
  std::vector<std::string> fields;
  for (const v1::FieldCompleteness& c : stats.completeness()) fields.push_back(c.field());
  // summary is masked for the partner; the admin's statistics report it.
  EXPECT_THAT(fields, ElementsAre("subject", "outcome", "sentiment", "next_action",
                                  "contact_person_ids", "participants", "duration"));
  caller_ = kCaller;
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.completeness_size(), 8);
  EXPECT_EQ(stats.completeness(1).field(), "summary");
  EXPECT_EQ(stats.completeness(1).filled(), 6);
}

TEST_F(EnforcementTest, ChangeFeedPassesOverInvisibleChangesWithoutReturningThem) {
  AwaitFeed(6);
  for (const auto& [caller, sees] : visible_) {
    caller_ = caller;
    v1::ListTouchpointChangesRequest request;
    request.set_page_size(1);
    std::vector<std::string> seen;
    int pages = 0;
    int empty_pages = 0;
    for (; pages < 20; ++pages) {
      v1::ListTouchpointChangesResponse response;
      const grpc::Status status = Changes(request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const v1::Touchpoint& t : response.touchpoints()) {
        seen.push_back(t.touchpoint_id());
        EXPECT_EQ(t.subject(), kSubject);
      }
      if (response.touchpoints().empty()) ++empty_pages;
      request.set_cursor(response.next_cursor());
      if (response.caught_up()) break;
    }
    EXPECT_THAT(seen, ElementsAreArray(TouchpointsOf(sees))) << caller;
    // One page per change, the last one caught up: those of invisible touchpoints come back
    // empty, not skipped over and not holding the cursor back.
    EXPECT_EQ(pages + 1, 6) << caller;
    EXPECT_EQ(empty_pages, static_cast<int>(order_.size() - sees.size())) << caller;
    v1::ListTouchpointChangesResponse after;
    ASSERT_TRUE(Changes(request, &after).ok());
    EXPECT_THAT(after.touchpoints(), IsEmpty());
    EXPECT_TRUE(after.caught_up());
  }
}

TEST_F(EnforcementTest, ChangeFeedOfAnInvisibleCustomerIsNotFoundLikeAMissingOne) {
  AwaitFeed(6);
  ExpectInvisibleCustomersAnsweredAsMissing<v1::ListTouchpointChangesResponse>(
      [this](const std::string& customer_id, v1::ListTouchpointChangesResponse* response) {
        v1::ListTouchpointChangesRequest request;
        request.set_customer_id(customer_id);
        return Changes(request, response);
      });
}

TEST_F(EnforcementTest, ChangeFeedCursorsNameNoTouchpointTheCallerDoesNotSee) {
  AwaitFeed(6);
  for (const auto& [caller, sees] : visible_) {
    caller_ = caller;
    v1::ListTouchpointChangesRequest request;
    request.set_page_size(1);
    for (int page = 0; page < 20; ++page) {
      v1::ListTouchpointChangesResponse response;
      ASSERT_TRUE(Changes(request, &response).ok());
      std::string bytes;
      ASSERT_TRUE(absl::WebSafeBase64Unescape(response.next_cursor(), &bytes));
      for (const std::string& name : order_) {
        if (sees.contains(name)) continue;
        EXPECT_EQ(bytes.find(touchpoints_[name]), std::string::npos)
            << caller << "'s cursor names " << name << "'s touchpoint";
      }
      if (response.caught_up()) break;
      request.set_cursor(response.next_cursor());
    }
  }
}

// The feed judges visibility when it is read, and a reader's cursor moves past what it did not
// see then. So when who may see a customer changes (a share granted or revoked, its owner,
// region or level changed), the customer's touchpoints are sent again: a reader who sees the
// customer now gets its earlier touchpoints on from the cursor it already holds, unchanged (the
// same id, etag and update_time, so a client that has them keeps one copy); a reader who no
// longer sees it gets nothing of them.
TEST_F(EnforcementTest, ChangeFeedSendsACustomersEarlierTouchpointsToWhoeverIsSharedItLater) {
  AwaitFeed(6);
  caller_ = kPartner;
  std::string cursor;
  std::string marker = RecordMarker("partner_shared");
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)),
              ElementsAre(touchpoints_["partner_shared"], marker));

  // "nobody", whose touchpoint the partner's cursor has passed over unseen, is shared with it.
  Share("nobody", {{"partner", "dealer-1"}}, 1);
  marker = RecordMarker("partner_shared");
  const std::vector<v1::Touchpoint> after_share = ReadChangesThrough(cursor, marker);
  ASSERT_THAT(IdsOf(after_share), ElementsAre(touchpoints_["nobody"], marker));
  caller_ = kCaller;
  v1::Touchpoint stored;
  ASSERT_TRUE(Get(touchpoints_["nobody"], &stored).ok());
  EXPECT_EQ(after_share[0].etag(), stored.etag());
  EXPECT_EQ(FromTs(after_share[0].update_time()), FromTs(stored.update_time()));
  EXPECT_EQ(after_share[0].subject(), kSubject);
  EXPECT_EQ(after_share[0].content(), "");  // The partner's field rules still apply.

  // Shared with someone else instead: the partner gets nothing of it any more.
  Share("nobody", {{"team", "south"}}, 2);
  caller_ = kPartner;
  marker = RecordMarker("partner_shared");
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)), ElementsAre(marker));
}

TEST_F(EnforcementTest, ChangeFeedSendsACustomersEarlierTouchpointsToItsNewOwner) {
  AwaitFeed(6);
  caller_ = kRep;
  std::string cursor;
  std::string marker = RecordMarker("own");
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)),
              ElementsAre(touchpoints_["own"], touchpoints_["team_shared"],
                          touchpoints_["own_vip"], marker));

  // The colleague's customer is reassigned to the rep (contacts' CustomerUpdated).
  cv1::Customer reassigned = customers_["colleague"].customer;
  reassigned.set_owner_id(kRep);
  reassigned.set_etag("2");
  ev::CustomerUpdated updated;
  *updated.mutable_customer() = reassigned;
  ApplyCustomerEvent(updated, kTenant, reassigned.customer_id());
  marker = RecordMarker("own");
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)),
              ElementsAre(touchpoints_["colleague"], marker));

  // A change that leaves who sees the customer as it was sends nothing again.
  reassigned.set_display_name("深圳市腾飞科技（集团）有限公司");
  reassigned.set_etag("3");
  *updated.mutable_customer() = reassigned;
  ApplyCustomerEvent(updated, kTenant, reassigned.customer_id());
  marker = RecordMarker("own");
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)), ElementsAre(marker));
}

TEST_F(EnforcementTest, HiddenContentIsAbsentFromEveryOutputAndNotSearchable) {
  caller_ = kRep;
  const std::string id = touchpoints_["own"];
  v1::Touchpoint t;
  ASSERT_TRUE(Get(id, &t).ok());
  EXPECT_EQ(t.content(), "");
  EXPECT_EQ(t.summary(), kSummary);
  EXPECT_THAT(t.tags(), ElementsAre("物流"));  // read-only, shown
  for (const v1::Touchpoint& listed : ListAll(customers_["own"].id)) {
    EXPECT_EQ(listed.content(), "");
  }
  AwaitFeed(6);
  v1::ListTouchpointChangesResponse feed;
  ASSERT_TRUE(Changes({}, &feed).ok());
  ASSERT_EQ(feed.touchpoints_size(), static_cast<int>(visible_.at(kRep).size()));
  for (const v1::Touchpoint& changed : feed.touchpoints()) EXPECT_EQ(changed.content(), "");

  // 保密 is only in the content: the administrator finds every touchpoint by it, the rep none.
  EXPECT_THAT(SearchAs(kCaller, "保密"),
              UnorderedElementsAreArray(TouchpointsOf(visible_.at(kCaller))));
  EXPECT_THAT(SearchAs(kRep, "保密"), IsEmpty());
  EXPECT_THAT(SearchAs(kRep, "保密", v1::SEARCH_ORDER_OCCUR_TIME_DESC), IsEmpty());

  // 投诉 is in subject and content: the rep's hits show the subject only.
  v1::SearchTouchpointsRequest search;
  search.set_query("投诉");
  search.set_customer_id(customers_["own"].id);
  v1::SearchTouchpointsResponse response;
  caller_ = kCaller;
  ASSERT_TRUE(Search(search, &response).ok());
  ASSERT_EQ(response.hits_size(), 1);
  ASSERT_EQ(response.hits(0).snippets_size(), 2);
  EXPECT_EQ(response.hits(0).snippets(1).field(), "content");
  caller_ = kRep;
  response.Clear();
  ASSERT_TRUE(Search(search, &response).ok());
  ASSERT_EQ(response.hits_size(), 1);
  ASSERT_EQ(response.hits(0).snippets_size(), 1);
  EXPECT_EQ(response.hits(0).snippets(0).field(), "subject");
  EXPECT_EQ(response.hits(0).touchpoint().content(), "");

  // A correction's response hides it too, and the stored content is kept.
  v1::Touchpoint patch;
  patch.set_touchpoint_id(id);
  patch.set_summary("已回访");
  v1::Touchpoint updated;
  ASSERT_TRUE(Update(patch, {"summary"}, &updated).ok());
  EXPECT_EQ(updated.summary(), "已回访");
  EXPECT_EQ(updated.content(), "");
  caller_ = kCaller;
  ASSERT_TRUE(Get(id, &t).ok());
  EXPECT_EQ(t.content(), kContent);
  EXPECT_EQ(t.summary(), "已回访");
}

TEST_F(EnforcementTest, MaskedSummaryIsMaskedEverywhereAndNotSearchable) {
  caller_ = kPartner;
  const std::string id = touchpoints_["partner_shared"];
  v1::Touchpoint t;
  ASSERT_TRUE(Get(id, &t).ok());
  EXPECT_EQ(t.subject(), kSubject);
  EXPECT_EQ(t.summary(), "物*****");
  EXPECT_EQ(t.content(), "");
  EXPECT_THAT(t.tags(), IsEmpty());
  const std::vector<v1::Touchpoint> timeline = ListAll(customers_["partner_shared"].id);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].summary(), "物*****");

  // 延迟 is only in the summary.
  EXPECT_THAT(SearchAs(kCaller, "延迟"),
              UnorderedElementsAreArray(TouchpointsOf(visible_.at(kCaller))));
  EXPECT_THAT(SearchAs(kPartner, "延迟"), IsEmpty());
  v1::SearchTouchpointsRequest search;
  search.set_query("投诉 延迟");
  v1::SearchTouchpointsResponse response;
  ASSERT_TRUE(Search(search, &response).ok());
  EXPECT_THAT(response.hits(), IsEmpty());
  search.set_query("投诉");
  ASSERT_TRUE(Search(search, &response).ok());
  ASSERT_EQ(response.hits_size(), 1);
  ASSERT_EQ(response.hits(0).snippets_size(), 1);
  EXPECT_EQ(response.hits(0).snippets(0).field(), "subject");
  EXPECT_EQ(response.hits(0).touchpoint().summary(), "物*****");
}

TEST_F(EnforcementTest, FilteringOnAFieldTheCallerDoesNotSeeIsPermissionDenied) {
  caller_ = kPartner;
  v1::TouchpointFilter filter;
  filter.set_tag("物流");
  v1::ListTouchpointsRequest list;
  list.set_customer_id(customers_["partner_shared"].id);
  *list.mutable_filter() = filter;
  v1::ListTouchpointsResponse listed;
  grpc::Status status = List(list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "filter.tag: field tags is not visible to role partner");
  v1::SearchTouchpointsRequest search;
  search.set_query("投诉");
  *search.mutable_filter() = filter;
  v1::SearchTouchpointsResponse found;
  EXPECT_EQ(Search(search, &found).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::GetTouchpointStatsRequest stats_request;
  *stats_request.mutable_start_time() = Ts(now_ - absl::Hours(24));
  *stats_request.mutable_end_time() = Ts(now_ + absl::Hours(1));
  *stats_request.mutable_filter() = filter;
  v1::GetTouchpointStatsResponse stats;
  EXPECT_EQ(Stats(stats_request, &stats).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The rep sees tags (read-only): the filter works.
  caller_ = kRep;
  list.set_customer_id(customers_["own"].id);
  ASSERT_TRUE(List(list, &listed).ok());
  EXPECT_THAT(IdsOf(listed.touchpoints()), ElementsAre(touchpoints_["own"]));
}

TEST_F(EnforcementTest, HiddenConcernsAreNeitherSearchedNorFilteredOn) {
  pv1::EffectiveScope scope = auth::testing::AdminScope(kTenant, "no-concerns");
  AddRule(scope, "concerns", pv1::FIELD_ACCESS_HIDDEN);
  authenticator_.SetScope("no-concerns", scope);
  v1::Touchpoint t = Basic(customers_["own"].id, now_ - absl::Minutes(5), "回访");
  t.add_concerns("交货期太长");
  t.add_needs("分期付款方案");
  const std::string id = MustRecord(t).touchpoint_id();
  EXPECT_THAT(SearchIds("交货期"), ElementsAre(id));
  caller_ = "no-concerns";
  EXPECT_THAT(SearchIds("交货期"), IsEmpty());
  // Needs share the concerns' weight in the index: not searched either for this caller.
  EXPECT_THAT(SearchIds("分期付款"), IsEmpty());
  v1::ListTouchpointsRequest list;
  list.set_customer_id(customers_["own"].id);
  list.mutable_filter()->set_has_concerns(true);
  v1::ListTouchpointsResponse listed;
  const grpc::Status status = List(list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              ::testing::StartsWith("filter.has_concerns: field concerns is not visible"));
}

TEST_F(EnforcementTest, WritesNeedThePermission) {
  caller_ = kViewer;
  const std::string id = touchpoints_["own"];
  grpc::Status status = Record(Basic(customers_["own"].id, now_ - absl::Minutes(5)), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "role viewer does not grant PERMISSION_TOUCHPOINTS_WRITE");
  v1::BatchRecordTouchpointsRequest batch;
  *batch.add_requests()->mutable_touchpoint() =
      Basic(customers_["own"].id, now_ - absl::Minutes(5));
  v1::BatchRecordTouchpointsResponse batch_response;
  EXPECT_EQ(BatchRecord(batch, &batch_response).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::Touchpoint patch;
  patch.set_touchpoint_id(id);
  patch.set_subject("改");
  EXPECT_EQ(Update(patch, {"subject"}, nullptr).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Delete(id, "", nullptr).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // It still reads.
  EXPECT_TRUE(Get(id, nullptr).ok());
  caller_ = kCaller;
  EXPECT_EQ(CountRows("touchpoints"), 6);
  v1::Touchpoint stored;
  ASSERT_TRUE(Get(id, &stored).ok());
  EXPECT_EQ(stored.subject(), kSubject);
  EXPECT_EQ(stored.etag(), "1");
}

TEST_F(EnforcementTest, WritingAFieldTheRoleMayNotWriteIsPermissionDeniedNamingIt) {
  caller_ = kRep;
  v1::Touchpoint t = Basic(customers_["own"].id, now_ - absl::Minutes(5));
  t.set_content("合同细节");
  grpc::Status status = Record(t, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("content"));
  t.clear_content();
  t.add_tags("续约");
  status = Record(t, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("tags"));

  // In a batch, per item.
  v1::BatchRecordTouchpointsRequest batch;
  *batch.add_requests()->mutable_touchpoint() = t;
  t.clear_tags();
  *batch.add_requests()->mutable_touchpoint() = t;
  v1::BatchRecordTouchpointsResponse response;
  ASSERT_TRUE(BatchRecord(batch, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).error().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(response.results(0).error().message(), HasSubstr("tags"));
  EXPECT_EQ(response.results(1).touchpoint().customer_id(), customers_["own"].id);
  EXPECT_EQ(response.recorded_count(), 1);

  v1::Touchpoint patch;
  patch.set_touchpoint_id(touchpoints_["own"]);
  patch.add_tags("改");
  status = Update(patch, {"tags"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("tags"));
  status = Update(patch, {"content"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("content"));
  patch.set_subject("回访");
  ASSERT_TRUE(Update(patch, {"subject"}, nullptr).ok());
  caller_ = kCaller;
  v1::Touchpoint stored;
  ASSERT_TRUE(Get(touchpoints_["own"], &stored).ok());
  EXPECT_EQ(stored.subject(), "回访");
  EXPECT_THAT(stored.tags(), ElementsAre("物流"));
}

TEST_F(EnforcementTest, AnInvisibleCustomerIsRefusedExactlyAsAnUnknownOne) {
  caller_ = kRep;
  const grpc::Status unknown =
      Record(Basic(ids::NewUuid(), now_ - absl::Minutes(5)), nullptr, "r-unknown");
  ASSERT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* name : {"colleague", "partner_shared", "nobody"}) {
    const grpc::Status status =
        Record(Basic(customers_[name].id, now_ - absl::Minutes(5)), nullptr, "r-invisible");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_EQ(status.error_message(), unknown.error_message()) << name;
    EXPECT_EQ(status.error_details(), unknown.error_details()) << name;
  }
  // A deleted customer the rep cannot see is not "deleted": that would tell it exists.
  cv1::Customer gone = customers_["nobody"].customer;
  gone.set_state(cv1::CUSTOMER_STATE_DELETED);
  gone.set_etag("2");
  ev::CustomerDeleted deleted;
  *deleted.mutable_customer() = gone;
  ApplyCustomerEvent(deleted, kTenant, gone.customer_id());
  grpc::Status status =
      Record(Basic(gone.customer_id(), now_ - absl::Minutes(5)), nullptr, "r-deleted");
  EXPECT_EQ(status.error_message(), unknown.error_message());

  // Moving a visible touchpoint to an invisible customer, likewise.
  v1::Touchpoint patch;
  patch.set_touchpoint_id(touchpoints_["own"]);
  patch.set_customer_id(customers_["colleague"].id);
  const grpc::Status moved = Update(patch, {"customer_id"}, nullptr);
  patch.set_customer_id(ids::NewUuid());
  const grpc::Status moved_to_unknown = Update(patch, {"customer_id"}, nullptr);
  EXPECT_EQ(moved.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(moved.error_message(), moved_to_unknown.error_message());
  EXPECT_EQ(moved.error_details(), moved_to_unknown.error_details());

  // In a batch too.
  v1::BatchRecordTouchpointsRequest batch;
  *batch.add_requests()->mutable_touchpoint() =
      Basic(customers_["colleague"].id, now_ - absl::Minutes(5));
  *batch.add_requests()->mutable_touchpoint() = Basic(ids::NewUuid(), now_ - absl::Minutes(5));
  v1::BatchRecordTouchpointsResponse response;
  ASSERT_TRUE(BatchRecord(batch, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(1).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto invisible_violations = ViolationsOf(response.results(0).error());
  const auto unknown_violations = ViolationsOf(response.results(1).error());
  ASSERT_EQ(invisible_violations.size(), 1u);
  ASSERT_EQ(unknown_violations.size(), 1u);
  EXPECT_EQ(invisible_violations[0].first, "requests[0].touchpoint.customer_id");
  EXPECT_EQ(unknown_violations[0].first, "requests[1].touchpoint.customer_id");
  EXPECT_EQ(invisible_violations[0].second, unknown_violations[0].second);

  // Correcting or deleting an invisible touchpoint: not found, as a missing one.
  const std::string invisible = touchpoints_["colleague"];
  patch.set_touchpoint_id(invisible);
  patch.set_subject("改");
  status = Update(patch, {"subject"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), absl::StrCat("touchpoint ", invisible, " not found"));
  status = Delete(invisible, "", nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), absl::StrCat("touchpoint ", invisible, " not found"));
  caller_ = kCaller;
  EXPECT_EQ(CountRows("touchpoints"), 6);
}

TEST_F(EnforcementTest, SharesComeAndGoWithThePermissionsServiceEvents) {
  caller_ = kRep;
  const std::string id = touchpoints_["team_shared"];
  ASSERT_TRUE(Get(id, nullptr).ok());
  Share("team_shared", {}, 2);
  EXPECT_EQ(Get(id, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(SearchAs(kRep, "投诉"), UnorderedElementsAreArray(TouchpointsOf({"own", "own_vip"})));
  // A stale redelivery changes nothing.
  Share("team_shared", {{"team", "north"}}, 1);
  EXPECT_EQ(Get(id, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  Share("team_shared", {{"team", "north"}}, 3);
  EXPECT_TRUE(Get(id, nullptr).ok());
  // Another team's share does not help.
  Share("nobody", {{"team", "south"}}, 1);
  EXPECT_EQ(Get(touchpoints_["nobody"], nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(EnforcementTest, OwnerAndLevelChangesInContactsMoveVisibility) {
  caller_ = kRep;
  const std::string id = touchpoints_["colleague"];
  ASSERT_EQ(Get(id, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  cv1::Customer customer = customers_["colleague"].customer;
  customer.set_owner_id(kRep);
  customer.set_etag("2");
  ev::CustomerUpdated reassigned;
  *reassigned.mutable_customer() = customer;
  ApplyCustomerEvent(reassigned, kTenant, customer.customer_id());
  EXPECT_TRUE(Get(id, nullptr).ok());
  caller_ = kTerritoryMember;
  EXPECT_TRUE(Get(id, nullptr).ok());
  customer.set_level(cv1::CUSTOMER_LEVEL_VIP);
  customer.set_etag("3");
  ev::CustomerUpdated promoted;
  *promoted.mutable_customer() = customer;
  ApplyCustomerEvent(promoted, kTenant, customer.customer_id());
  // VIP closes the territory (北京) to ranks below 30, never the owner's line.
  EXPECT_EQ(Get(id, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  caller_ = kRep;
  EXPECT_TRUE(Get(id, nullptr).ok());
  caller_ = kManager;
  EXPECT_TRUE(Get(id, nullptr).ok());
}

TEST_F(EnforcementTest, ARepRecordsAndCorrectsTouchpointsOfItsOwnVipCustomer) {
  caller_ = kRep;
  const std::string vip = customers_["own_vip"].id;
  v1::RecordTouchpointResponse recorded;
  const grpc::Status status = Record(Basic(vip, now_ - absl::Minutes(5)), &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(recorded.touchpoint().customer_id(), vip);
  v1::Touchpoint patch;
  patch.set_touchpoint_id(touchpoints_["own_vip"]);
  patch.set_subject("回访");
  EXPECT_TRUE(Update(patch, {"subject"}, nullptr).ok());
  EXPECT_THAT(ListIds(vip), ::testing::UnorderedElementsAre(recorded.touchpoint().touchpoint_id(),
                                                            touchpoints_["own_vip"]));
  // Through the territory alone, a VIP customer stays out of reach.
  caller_ = kTerritoryMember;
  const grpc::Status unknown =
      Record(Basic(ids::NewUuid(), now_ - absl::Minutes(5)), nullptr, "r-unknown");
  const grpc::Status refused = Record(Basic(vip, now_ - absl::Minutes(5)), nullptr, "r-vip");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(), unknown.error_message());
}

// A READ share shows the customer's touchpoints and allows no write of any kind; an EDIT
// share allows them all. Neither tells anything of a customer the caller does not see.
TEST_F(EnforcementTest, AReadShareReadsTouchpointsButWritesNone) {
  caller_ = kPartner;
  const std::string customer = customers_["partner_shared"].id;
  const std::string id = touchpoints_["partner_shared"];
  v1::Touchpoint stored;
  ASSERT_TRUE(Get(id, &stored).ok());
  const auto expect_not_writable = [&](const grpc::Status& status, const std::string& what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_EQ(status.error_message(), absl::StrCat("you may see customer ", customer,
                                                   " but not record or change its touchpoints"))
        << what;
    EXPECT_EQ(status::ErrorReasonOf(status::FromGrpcStatus(status)), "CUSTOMER_NOT_WRITABLE")
        << what;
  };
  expect_not_writable(Record(Basic(customer, now_ - absl::Minutes(5)), nullptr), "record");
  v1::BatchRecordTouchpointsRequest batch;
  *batch.add_requests()->mutable_touchpoint() = Basic(customer, now_ - absl::Minutes(5));
  v1::BatchRecordTouchpointsResponse batch_response;
  ASSERT_TRUE(BatchRecord(batch, &batch_response).ok());
  ASSERT_EQ(batch_response.results_size(), 1);
  EXPECT_EQ(batch_response.results(0).error().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(batch_response.recorded_count(), 0);
  v1::Touchpoint patch;
  patch.set_touchpoint_id(id);
  patch.set_etag(stored.etag());
  patch.set_subject("改");
  expect_not_writable(Update(patch, {"subject"}, nullptr), "update");
  expect_not_writable(Delete(id, stored.etag(), nullptr), "delete");
  // A stale etag changes nothing: the share is what refuses.
  patch.set_etag("99");
  expect_not_writable(Update(patch, {"subject"}, nullptr), "update with a stale etag");
  // Moving one's own touchpoint onto a customer shared for reading only, likewise.
  caller_ = kRep;
  v1::Touchpoint move;
  move.set_touchpoint_id(touchpoints_["own"]);
  move.set_customer_id(customers_["team_shared"].id);
  const grpc::Status moved = Update(move, {"customer_id"}, nullptr);
  EXPECT_EQ(moved.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status::ErrorReasonOf(status::FromGrpcStatus(moved)), "CUSTOMER_NOT_WRITABLE");
  caller_ = kCaller;
  EXPECT_EQ(CountRows("touchpoints"), 6);
  ASSERT_TRUE(Get(id, &stored).ok());
  EXPECT_EQ(stored.subject(), kSubject);
  EXPECT_EQ(stored.state(), v1::TOUCHPOINT_STATE_ACTIVE);

  // Once the share allows editing, every write goes through.
  Share("partner_shared", {{"partner", "dealer-1"}}, 2, pv1::SHARE_ACCESS_EDIT);
  caller_ = kPartner;
  v1::RecordTouchpointResponse recorded;
  ASSERT_TRUE(Record(Basic(customer, now_ - absl::Minutes(5)), &recorded).ok());
  v1::Touchpoint updated;
  patch.set_etag(stored.etag());
  ASSERT_TRUE(Update(patch, {"subject"}, &updated).ok());
  EXPECT_EQ(updated.subject(), "改");
  EXPECT_TRUE(Delete(recorded.touchpoint().touchpoint_id(), "", nullptr).ok());
}

// customer_status_after changes the customer's lifecycle status (contacts applies it as the
// recorder's change), so it needs the customer writable, not only its touchpoints: a partner
// with an EDIT share and no PERMISSION_CUSTOMERS_WRITE records touchpoints but sets no status.
TEST_F(EnforcementTest, SettingTheCustomersStatusNeedsTheCustomerWritable) {
  Share("partner_shared", {{"partner", "dealer-1"}}, 2, pv1::SHARE_ACCESS_EDIT);
  caller_ = kPartner;
  const std::string customer = customers_["partner_shared"].id;
  v1::Touchpoint with_status = Basic(customer, now_ - absl::Minutes(5));
  with_status.set_customer_status_after(cv1::LIFECYCLE_STATUS_HIGH_INTENT);
  const grpc::Status refused = Record(with_status, nullptr);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status::ErrorReasonOf(status::FromGrpcStatus(refused)), "CUSTOMER_NOT_WRITABLE");
  v1::RecordTouchpointResponse recorded;
  ASSERT_TRUE(Record(Basic(customer, now_ - absl::Minutes(4)), &recorded).ok());
  v1::Touchpoint patch;
  patch.set_touchpoint_id(recorded.touchpoint().touchpoint_id());
  patch.set_customer_status_after(cv1::LIFECYCLE_STATUS_HIGH_INTENT);
  EXPECT_EQ(Update(patch, {"customer_status_after"}, nullptr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A role that may write customers, but not their lifecycle status, is refused by the field.
  pv1::EffectiveScope writer = PartnerScope();
  writer.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  *writer.add_field_rules() = auth::testing::FieldRuleOf(
      auth::kCustomerResource, "lifecycle_status", pv1::FIELD_ACCESS_READ_ONLY);
  authenticator_.SetScope(kPartner, writer);
  EXPECT_EQ(Record(with_status, nullptr).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  writer.clear_field_rules();
  authenticator_.SetScope(kPartner, writer);
  EXPECT_TRUE(Record(with_status, nullptr).ok());
}

TEST_F(EnforcementTest, EveryChangeAndEverySensitiveReadIsAudited) {
  caller_ = kRep;
  v1::RecordTouchpointResponse recorded;
  v1::Touchpoint t = Basic(customers_["own"].id, now_ - absl::Minutes(5));
  t.set_summary("回访");
  ASSERT_TRUE(Record(t, &recorded).ok());
  const std::string id = recorded.touchpoint().touchpoint_id();
  v1::Touchpoint patch;
  patch.set_touchpoint_id(id);
  patch.set_subject("回访确认");
  ASSERT_TRUE(Update(patch, {"subject"}, nullptr).ok());
  ASSERT_TRUE(Delete(id, "", nullptr).ok());

  std::vector<pv1::AuditEvent> changes = AuditOf(kRep, "touchpoint.recorded", 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].resource_type(), "touchpoint");
  EXPECT_EQ(changes[0].resource_id(), id);
  EXPECT_THAT(changes[0].fields(),
              UnorderedElementsAreArray(std::vector<std::string>{
                  "customer_id", "occur_time", "channel", "category", "subject", "summary"}));
  changes = AuditOf(kRep, "touchpoint.updated", 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].resource_id(), id);
  EXPECT_THAT(changes[0].fields(), ElementsAre("subject"));
  changes = AuditOf(kRep, "touchpoint.deleted", 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].resource_id(), id);
  EXPECT_EQ(AuditOf(kCaller, "touchpoint.recorded", 6).size(), 6u);

  // The rep reads tags under a rule (read-only): sensitive. The touchpoint it just recorded
  // had none, so only the administrator's touchpoints count.
  const std::string own = touchpoints_["own"];
  ASSERT_TRUE(Get(own, nullptr).ok());
  std::vector<pv1::AuditEvent> reads = AuditOf(kRep, "touchpoint.read_sensitive", 1);
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads[0].resource_id(), own);
  EXPECT_THAT(reads[0].fields(), ElementsAre("tags"));
  const size_t before = reads.size();
  EXPECT_THAT(SearchAs(kRep, "投诉"), UnorderedElementsAreArray(TouchpointsOf(visible_.at(kRep))));
  reads = AuditOf(kRep, "touchpoint.read_sensitive", before + 1);
  ASSERT_EQ(reads.size(), before + 1);
  // One entry for the whole page, naming the touchpoints.
  EXPECT_EQ(reads.back().resource_id(), "");
  EXPECT_THAT(reads.back().fields(), ElementsAre("tags"));
  EXPECT_THAT(reads.back().detail(), HasSubstr(own));
  EXPECT_THAT(reads.back().detail(), HasSubstr(touchpoints_["team_shared"]));

  // The administrator has no field rules: nothing sensitive to report (entries are published
  // in order, so once the rep's next one is there, the administrator's would be too).
  caller_ = kCaller;
  ASSERT_TRUE(Get(own, nullptr).ok());
  caller_ = kRep;
  ASSERT_TRUE(Get(own, nullptr).ok());
  EXPECT_EQ(AuditOf(kRep, "touchpoint.read_sensitive", before + 2).size(), before + 2);
  EXPECT_THAT(AuditOf(kCaller, "touchpoint.read_sensitive", 0), IsEmpty());
}

TEST_F(EnforcementTest, TenantsStaySeparateWhateverTheScope) {
  // rep-1 owns a customer in tenant-b as well.
  caller_ = kCaller;
  const SeededCustomer other =
      SeedCustomerOf(kRep, "上海", cv1::CUSTOMER_LEVEL_STANDARD, "tenant-b");
  v1::RecordTouchpointResponse recorded;
  ASSERT_TRUE(
      Record(Basic(other.id, now_ - absl::Hours(1), kSubject), &recorded, "", "tenant-b").ok());
  const std::string other_id = recorded.touchpoint().touchpoint_id();

  caller_ = kRep;
  EXPECT_THAT(SearchIds("投诉"), UnorderedElementsAreArray(TouchpointsOf(visible_.at(kRep))));
  EXPECT_EQ(Get(other_id, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Get(other_id, nullptr, "tenant-b").ok());
  EXPECT_EQ(Get(touchpoints_["own"], nullptr, "tenant-b").error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListTouchpointsRequest request;
  request.set_customer_id(customers_["own"].id);
  v1::ListTouchpointsResponse response;
  EXPECT_EQ(List(request, &response, "tenant-b").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Record(Basic(customers_["own"].id, now_ - absl::Minutes(5)), nullptr, "", "tenant-b")
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(EnforcementTest, ACallWithoutAScopeIsRefusedAsAWiringBug) {
  auth::RequestContext caller;
  caller.tenant_id = kTenant;
  caller.caller_id = kRep;
  caller.request_id = "r-1";
  const absl::StatusOr<v1::Touchpoint> got = manager_->Get(caller, touchpoints_["own"]);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(got.status().message(), "no scope");
  v1::ListTouchpointsRequest list;
  list.set_customer_id(customers_["own"].id);
  EXPECT_EQ(manager_->List(caller, list).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace touchline::touchpoints
