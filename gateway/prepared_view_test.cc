// Prepared views spliced together are byte for byte what encoding the whole response gives:
// the serialized GetCustomer360Response and the HTTP front's JSON of it, for views of several
// field profiles (nothing, masks, hidden fields), Chinese text, empty lists, journeys, open
// tasks and every count.
#include "gateway/prepared_view.h"

#include <memory>
#include <string>
#include <vector>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "gateway/customer360.h"
#include "gateway/http/route_table.h"
#include "gateway/http/transcoder.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace jv1 = ::touchline::journeys::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::touchline::testing::StatusIs;

constexpr char kCustomerId[] = "4f1c2d3e-0000-4000-8000-00000000c001";

Customer360Cache::Entry FullEntry() {
  Customer360Cache::Entry entry;
  cv1::Customer* c = entry.mutable_customer();
  c->set_customer_id(kCustomerId);
  c->set_display_name("北京星河贸易有限公司 \"引号\" \\ 🚚");
  c->set_industry("物流");
  c->set_owner_id("u-rep1");
  c->set_region("北京");
  c->set_level(cv1::CUSTOMER_LEVEL_KEY);
  c->add_tags("重点");
  c->add_tags("华北");
  (*c->mutable_custom_fields())["渠道"].set_string_value("展会");
  c->mutable_create_time()->set_seconds(1767225600);
  c->mutable_create_time()->set_nanos(500000000);
  cv1::ContactPerson* person = c->add_contact_persons();
  person->mutable_name()->set_family_name("王");
  person->mutable_name()->set_given_name("伟");
  person->add_phones()->set_number("+8613812341234");
  person->add_phones()->set_number("010-8888 6666");
  person->add_emails()->set_address("wang.wei@example.com");
  person->set_note("喜欢喝茶");
  c->add_contact_persons()->set_note("只有备注");  // no phones, emails, titles: empty lists
  pv1::CustomerShare* share = entry.add_shares();
  share->set_customer_id(kCustomerId);
  share->set_partner_org_id("dealer-1");
  share->set_access(pv1::SHARE_ACCESS_EDIT);
  entry.add_shares()->set_team_id("team-7");
  for (int i = 0; i < kMaxRecentTouchpoints; ++i) {
    tv1::Touchpoint* t = entry.add_touchpoints();
    t->set_touchpoint_id("t" + std::to_string(i));
    t->set_customer_id(kCustomerId);
    t->mutable_occur_time()->set_seconds(1767225600 - i * 3600);
    if (i % 3 == 0) continue;  // as little as a touchpoint has: every list empty
    t->set_subject("回访 " + std::to_string(i));
    t->set_content("客户投诉物流太慢\n第二行\t制表");
    t->add_needs("更快的配送");
    t->add_tags("投诉");
    t->mutable_duration()->set_seconds(90 + i);
    (*t->mutable_behavior_metrics())["满意度"] = 0.1 * i;
    (*t->mutable_custom_attributes())["工单"].set_int_value(9007199254740993LL + i);
    t->add_participants()->set_user_id("u-rep1");
  }
  jv1::CustomerJourney* retail = entry.add_journeys();
  retail->set_journey_id("4f1c2d3e-0000-4000-8000-00000000a001");
  retail->set_version(3);
  retail->set_journey_display_name("零售客户旅程 \"引号\"");
  retail->set_stage_id("consideration");
  retail->set_stage_kind(jv1::STAGE_KIND_NORMAL);
  retail->mutable_stage_enter_time()->set_seconds(1767225600);
  retail->mutable_stage_enter_time()->set_nanos(250000000);
  retail->mutable_journey_enter_time()->set_seconds(1767139200);
  jv1::CustomerJourney* done = entry.add_journeys();  // as little as a journey has
  done->set_journey_id("4f1c2d3e-0000-4000-8000-00000000a002");
  done->set_stage_id("purchase");
  done->set_completed(true);
  av1::Task* call = entry.add_open_tasks();
  call->set_task_id("4f1c2d3e-0000-4000-8000-00000000b001");
  call->set_customer_id(kCustomerId);
  call->set_title("回访 \"报价单\" 🚚");
  call->set_body("确认报价单\n约下周演示");
  call->set_assignee_id("u-rep1");
  call->mutable_due_time()->set_seconds(1767312000);
  call->set_priority(av1::TASK_PRIORITY_URGENT);
  call->set_state(av1::TASK_STATE_OPEN);
  call->mutable_source()->set_touchpoint_id("t1");
  call->set_etag("2");
  entry.add_open_tasks()->set_task_id("4f1c2d3e-0000-4000-8000-00000000b002");  // as little
  return entry;
}

std::shared_ptr<const auth::Scope> ScopeWith(std::vector<pv1::FieldRule> rules) {
  pv1::EffectiveScope proto = auth::testing::AdminScope("acme", "u-test");
  proto.clear_field_rules();
  for (pv1::FieldRule& rule : rules) *proto.add_field_rules() = std::move(rule);
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = auth::Scope::Compile(proto);
  EXPECT_TRUE(scope.ok()) << scope.status();
  return scope.ok() ? *scope : nullptr;
}

// Field profiles of several kinds: none, what partners get, hidden fields of both resources,
// whole messages masked.
std::vector<std::shared_ptr<const auth::Scope>> Profiles() {
  using auth::testing::FieldRuleOf;
  return {
      ScopeWith({}),
      ScopeWith({FieldRuleOf("customer", "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
                             pv1::MASK_PATTERN_PHONE),
                 FieldRuleOf("customer", "contact_persons.emails", pv1::FIELD_ACCESS_MASKED,
                             pv1::MASK_PATTERN_EMAIL)}),
      ScopeWith({FieldRuleOf("customer", "industry", pv1::FIELD_ACCESS_HIDDEN),
                 FieldRuleOf("customer", "contact_persons", pv1::FIELD_ACCESS_HIDDEN),
                 FieldRuleOf("touchpoint", "content", pv1::FIELD_ACCESS_HIDDEN),
                 FieldRuleOf("touchpoint", "custom_attributes", pv1::FIELD_ACCESS_HIDDEN)}),
      ScopeWith({FieldRuleOf("customer", "display_name", pv1::FIELD_ACCESS_MASKED,
                             pv1::MASK_PATTERN_PARTIAL),
                 FieldRuleOf("touchpoint", "subject", pv1::FIELD_ACCESS_MASKED,
                             pv1::MASK_PATTERN_PARTIAL),
                 FieldRuleOf("touchpoint", "needs", pv1::FIELD_ACCESS_READ_ONLY)}),
  };
}

// The response GetCustomer360 sends for `entry` under `scope`'s field rules: the customer and
// the first `count` touchpoints, redacted one by one, and every journey and open task as it is.
v1::GetCustomer360Response Redacted(const auth::Scope& scope, const Customer360Cache::Entry& entry,
                                    int count) {
  v1::GetCustomer360Response response;
  *response.mutable_customer() = entry.customer();
  scope.Redact(auth::kCustomerResource, *response.mutable_customer());
  for (int i = 0; i < count && i < entry.touchpoints_size(); ++i) {
    *response.add_recent_touchpoints() = entry.touchpoints(i);
    scope.Redact(auth::kTouchpointResource, *response.mutable_recent_touchpoints(i));
  }
  *response.mutable_journeys() = entry.journeys();
  *response.mutable_open_tasks() = entry.open_tasks();
  return response;
}

class PreparedViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(routes_,
                            http::RouteTable::Build({"touchline.gateway.v1.GatewayService"}));
    ASSERT_EQ(routes_.routes().size(), 1u);
  }

  // The bytes of `response` as each front prints it, by the fronts' own printers.
  std::string Reference(const v1::GetCustomer360Response& response, ViewEncoding encoding) {
    if (encoding == ViewEncoding::kJson) {
      absl::StatusOr<std::string> json = http::ResponseToJson(routes_.routes()[0], response);
      EXPECT_TRUE(json.ok()) << json.status();
      return json.ok() ? *json : "";
    }
    // What gRPC would send, with map entries in key order (this test's maps have one entry
    // each, so any order is that order).
    return response.SerializeAsString();
  }

  // Prepares `entry` for `scope`, splices the first `count` touchpoints and compares with
  // the whole response encoded.
  void ExpectSpliceIsTheWholeEncoding(const auth::Scope& scope,
                                      const Customer360Cache::Entry& entry, int count,
                                      ViewEncoding encoding) {
    SCOPED_TRACE(::testing::Message() << "profile " << scope.FieldProfile() << ", count " << count
                                      << (encoding == ViewEncoding::kJson ? ", JSON" : ", proto"));
    TL_ASSERT_OK_AND_ASSIGN(const std::string prepared, encoder_->Prepare(scope, entry, encoding));
    TL_ASSERT_OK_AND_ASSIGN(const PreparedView view, ReadPreparedView(prepared, count));
    const std::string spliced = encoder_->Assemble(view, count, encoding);
    const v1::GetCustomer360Response whole = Redacted(scope, entry, count);
    EXPECT_EQ(spliced, Reference(whole, encoding));
    TL_ASSERT_OK_AND_ASSIGN(const std::string encoded, encoder_->Encode(whole, encoding));
    EXPECT_EQ(spliced, encoded);
    if (encoding == ViewEncoding::kProto) {
      v1::GetCustomer360Response parsed;
      ASSERT_TRUE(parsed.ParseFromString(spliced));
      EXPECT_TRUE(MessageDifferencer::Equals(parsed, whole));
    }
  }

  http::RouteTable routes_;
  const absl::StatusOr<ViewEncoder> encoder_ = ViewEncoder::ForGeneratedRoute();
};

TEST_F(PreparedViewTest, SplicedPartsAreTheWholeResponseForEveryProfileCountAndEncoding) {
  ASSERT_TRUE(encoder_.ok()) << encoder_.status();
  const Customer360Cache::Entry entry = FullEntry();
  for (const std::shared_ptr<const auth::Scope>& scope : Profiles()) {
    ASSERT_NE(scope, nullptr);
    for (ViewEncoding encoding : {ViewEncoding::kProto, ViewEncoding::kJson}) {
      for (int count : {0, 1, 2, 10, kMaxRecentTouchpoints}) {
        ExpectSpliceIsTheWholeEncoding(*scope, entry, count, encoding);
      }
    }
  }
}

TEST_F(PreparedViewTest, EmptyListsAndABareCustomerSpliceAlike) {
  ASSERT_TRUE(encoder_.ok()) << encoder_.status();
  Customer360Cache::Entry bare;
  bare.mutable_customer()->set_customer_id(kCustomerId);
  for (const std::shared_ptr<const auth::Scope>& scope : Profiles()) {
    for (ViewEncoding encoding : {ViewEncoding::kProto, ViewEncoding::kJson}) {
      for (int count : {0, 1, kDefaultRecentTouchpoints}) {
        ExpectSpliceIsTheWholeEncoding(*scope, bare, count, encoding);
      }
    }
  }
  // A view with fewer touchpoints than asked for shows what it has.
  Customer360Cache::Entry three = FullEntry();
  three.mutable_touchpoints()->DeleteSubrange(3, three.touchpoints_size() - 3);
  for (ViewEncoding encoding : {ViewEncoding::kProto, ViewEncoding::kJson}) {
    ExpectSpliceIsTheWholeEncoding(*Profiles()[1], three, kDefaultRecentTouchpoints, encoding);
  }
}

TEST_F(PreparedViewTest, TheJsonIsTheHttpFrontsLiteralJson) {
  // Spelled out once, so that a change of either printer shows here too.
  ASSERT_TRUE(encoder_.ok()) << encoder_.status();
  Customer360Cache::Entry entry;
  entry.mutable_customer()->set_customer_id(kCustomerId);
  entry.mutable_customer()->set_display_name("星河");
  entry.add_touchpoints()->set_touchpoint_id("t0");
  const std::shared_ptr<const auth::Scope> scope = ScopeWith({});
  TL_ASSERT_OK_AND_ASSIGN(const std::string prepared,
                          encoder_->Prepare(*scope, entry, ViewEncoding::kJson));
  TL_ASSERT_OK_AND_ASSIGN(const PreparedView view, ReadPreparedView(prepared, 1));
  const std::string expected_customer = std::string("{\"customerId\":\"") + kCustomerId +
                                        "\",\"displayName\":\"星河\",\"tags\":[],"
                                        "\"customFields\":{},\"contactPersons\":[],"
                                        "\"addresses\":[]}";
  const std::string one = encoder_->Assemble(view, 1, ViewEncoding::kJson);
  EXPECT_THAT(one, ::testing::StartsWith("{\"customer\":" + expected_customer +
                                         ",\"recentTouchpoints\":[{\"touchpointId\":\"t0\""));
  EXPECT_THAT(one, ::testing::EndsWith("}],\"journeys\":[],\"openTasks\":[]}"));
  EXPECT_EQ(encoder_->Assemble(view, 0, ViewEncoding::kJson),
            "{\"customer\":" + expected_customer +
                ",\"recentTouchpoints\":[],\"journeys\":[],\"openTasks\":[]}");

  jv1::CustomerJourney* journey = entry.add_journeys();
  journey->set_journey_id("j1");
  journey->set_stage_id("consideration");
  journey->set_stage_kind(jv1::STAGE_KIND_NORMAL);
  journey->mutable_stage_enter_time()->set_seconds(1767225600);
  entry.add_journeys()->set_journey_id("j2");
  // The JSON of the view of `with` without touchpoints, prepared and spliced.
  const auto spliced = [&](const Customer360Cache::Entry& with) -> std::string {
    const absl::StatusOr<std::string> prepared =
        encoder_->Prepare(*scope, with, ViewEncoding::kJson);
    EXPECT_TRUE(prepared.ok()) << prepared.status();
    if (!prepared.ok()) return "";
    const absl::StatusOr<PreparedView> read = ReadPreparedView(*prepared, 0);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? encoder_->Assemble(*read, 0, ViewEncoding::kJson) : "";
  };
  EXPECT_EQ(spliced(entry),
            "{\"customer\":" + expected_customer +
                ",\"recentTouchpoints\":[],\"journeys\":[{\"journeyId\":\"j1\","
                "\"stageId\":\"consideration\",\"stageKind\":\"STAGE_KIND_NORMAL\","
                "\"stageEnterTime\":\"2026-01-01T00:00:00Z\"},{\"journeyId\":\"j2\"}],"
                "\"openTasks\":[]}");

  entry.clear_journeys();
  av1::Task* task = entry.add_open_tasks();
  task->set_task_id("k1");
  task->set_title("回访");
  task->mutable_due_time()->set_seconds(1767225600);
  task->set_state(av1::TASK_STATE_OPEN);
  entry.add_open_tasks()->set_task_id("k2");
  EXPECT_EQ(spliced(entry),
            "{\"customer\":" + expected_customer +
                ",\"recentTouchpoints\":[],\"journeys\":[],\"openTasks\":[{\"taskId\":\"k1\","
                "\"title\":\"回访\",\"dueTime\":\"2026-01-01T00:00:00Z\","
                "\"state\":\"TASK_STATE_OPEN\"},{\"taskId\":\"k2\"}]}");
}

TEST_F(PreparedViewTest, KeepsWhatTheRowDecisionAndTheAuditNeed) {
  ASSERT_TRUE(encoder_.ok()) << encoder_.status();
  const Customer360Cache::Entry entry = FullEntry();
  // No rules: phones and emails are shown, so reported; touchpoints have no sensitive field.
  TL_ASSERT_OK_AND_ASSIGN(const std::string clear,
                          encoder_->Prepare(*ScopeWith({}), entry, ViewEncoding::kProto));
  TL_ASSERT_OK_AND_ASSIGN(const PreparedView view, ReadPreparedView(clear, 3));
  EXPECT_EQ(view.row.customer_id, kCustomerId);
  EXPECT_EQ(view.row.owner_id, "u-rep1");
  EXPECT_EQ(view.row.region, "北京");
  EXPECT_EQ(view.row.level, static_cast<int>(cv1::CUSTOMER_LEVEL_KEY));
  ASSERT_EQ(view.row.shares.size(), 2u);
  EXPECT_EQ(view.row.shares[0].grantee, "partner:dealer-1");
  EXPECT_TRUE(view.row.shares[0].edit);
  EXPECT_EQ(view.row.shares[1].grantee, "team:team-7");
  EXPECT_FALSE(view.row.shares[1].edit);
  EXPECT_THAT(view.customer.read.fields,
              ElementsAre("contact_persons.emails", "contact_persons.phones"));
  EXPECT_THAT(view.customer.read.id, IsEmpty());
  ASSERT_EQ(view.touchpoints.size(), 3u);  // only as many as asked for are read
  EXPECT_EQ(view.touchpoints[2].read.id, "t2");
  EXPECT_THAT(view.touchpoints[2].read.fields, IsEmpty());
  // The journeys report nothing: no field of theirs is sensitive.
  EXPECT_THAT(view.journeys.read.id, IsEmpty());
  EXPECT_THAT(view.journeys.read.fields, IsEmpty());
  EXPECT_FALSE(view.journeys.encoded.empty());
  // Nor do the open tasks.
  EXPECT_THAT(view.open_tasks.read.id, IsEmpty());
  EXPECT_THAT(view.open_tasks.read.fields, IsEmpty());
  EXPECT_FALSE(view.open_tasks.encoded.empty());

  // Masked: nothing sensitive is shown in clear. A READ_ONLY touchpoint field is reported
  // where it has a value (t0 has no needs).
  TL_ASSERT_OK_AND_ASSIGN(const std::string masked,
                          encoder_->Prepare(*Profiles()[1], entry, ViewEncoding::kJson));
  TL_ASSERT_OK_AND_ASSIGN(const PreparedView masked_view, ReadPreparedView(masked, 20));
  EXPECT_THAT(masked_view.customer.read.fields, IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const std::string read_only,
                          encoder_->Prepare(*Profiles()[3], entry, ViewEncoding::kJson));
  TL_ASSERT_OK_AND_ASSIGN(const PreparedView read_only_view, ReadPreparedView(read_only, 2));
  EXPECT_THAT(read_only_view.touchpoints[0].read.fields, IsEmpty());
  EXPECT_THAT(read_only_view.touchpoints[1].read.fields, ElementsAre("needs"));
}

TEST_F(PreparedViewTest, BytesThatAreNotAPreparedViewAreDataLoss) {
  EXPECT_THAT(ReadPreparedView("not a view", 10).status(), StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_TRUE(encoder_.ok()) << encoder_.status();
  TL_ASSERT_OK_AND_ASSIGN(const std::string prepared,
                          encoder_->Prepare(*ScopeWith({}), FullEntry(), ViewEncoding::kProto));
  EXPECT_THAT(
      ReadPreparedView(std::string_view(prepared).substr(0, prepared.size() - 1), 20).status(),
      StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ReadPreparedView("", 10).status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(PreparedFieldTest, NamesProfileAndEncoding) {
  EXPECT_EQ(PreparedField("0123abcd", ViewEncoding::kProto), "pv3:0123abcd:proto");
  EXPECT_EQ(PreparedField("0123abcd", ViewEncoding::kJson), "pv3:0123abcd:json");
}

}  // namespace
}  // namespace touchline::gateway
