// RuleManager against the in-memory store: every rule RPC, the version lifecycle, etags,
// idempotent creates, bad input, permissions and TestRule. No PostgreSQL, no Redis.
#include "services/automation/rules/rule_manager.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/testing/trusted_authenticator.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/automation/rules/testing/in_memory_rule_store.h"
#include "services/automation/rules/testing/sample_rule.h"
#include "services/automation/tasks/testing/callers.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::automation {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::SampleRule;
using ::testing::SizeIs;
using testing::TextValue;
using ::touchline::testing::StatusIs;
namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
constexpr char kCustomer[] = "5d0c2a4e-8f1b-4c3d-9e7a-1b2c3d4e5f60";
const absl::Time kStart = absl::FromUnixSeconds(1796601600);  // 2026-12-07T00:00:00Z

std::vector<std::string> Names(const v1::ListRulesResponse& page) {
  std::vector<std::string> names;
  for (const v1::Rule& rule : page.rules()) names.push_back(rule.display_name());
  return names;
}

class RuleManagerTest : public ::testing::Test {
 protected:
  RuleManagerTest()
      : tokens_(std::string(paging::kTokenKeyBytes, 't')),
        manager_(
            &store_, &tokens_, [this] { return now_; },
            [this](const auth::RequestContext&,
                   const std::string& id) -> absl::StatusOr<FieldValues> {
              const auto found = customers_.find(id);
              if (found == customers_.end()) return absl::NotFoundError("no such customer");
              return found->second;
            }) {}

  const auth::RequestContext admin_ = testing::Admin(kTenant);
  const auth::RequestContext rep_ = testing::Rep(kTenant);

  v1::Rule MustCreate(v1::Rule rule = SampleRule(), std::string request_id = "") {
    v1::CreateRuleRequest request;
    *request.mutable_rule() = std::move(rule);
    request.set_request_id(std::move(request_id));
    absl::StatusOr<v1::CreateRuleResponse> created = manager_.CreateRule(admin_, request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->rule() : v1::Rule();
  }
  absl::StatusOr<v1::Rule> Read(const std::string& id, int version = 0) {
    v1::GetRuleRequest request;
    request.set_rule_id(id);
    request.set_version(version);
    TL_ASSIGN_OR_RETURN(v1::GetRuleResponse response, manager_.GetRule(admin_, request));
    return response.rule();
  }
  absl::StatusOr<v1::Rule> Rename(const std::string& id, std::string name, std::string etag = "",
                                  const auth::RequestContext* caller = nullptr) {
    TL_ASSIGN_OR_RETURN(
        v1::UpdateRuleResponse response,
        manager_.UpdateRule(caller ? *caller : admin_,
                            testing::RenameRule(id, std::move(name), std::move(etag))));
    return response.rule();
  }
  absl::StatusOr<v1::Rule> Publish(const std::string& id, std::string etag = "") {
    v1::PublishRuleRequest request;
    request.set_rule_id(id);
    request.set_etag(std::move(etag));
    TL_ASSIGN_OR_RETURN(v1::PublishRuleResponse response, manager_.PublishRule(admin_, request));
    return response.rule();
  }
  // `method` as the admin on rule `id`: the rule it answers with.
  template <typename Request, typename Response>
  absl::StatusOr<v1::Rule> OnRule(absl::StatusOr<Response> (RuleManager::*method)(
                                      const auth::RequestContext&, const Request&) const,
                                  const std::string& id) {
    Request request;
    request.set_rule_id(id);
    TL_ASSIGN_OR_RETURN(Response response, (manager_.*method)(admin_, request));
    return response.rule();
  }
  absl::StatusOr<v1::Rule> Pause(const std::string& id) {
    return OnRule(&RuleManager::PauseRule, id);
  }
  absl::StatusOr<v1::Rule> Resume(const std::string& id) {
    return OnRule(&RuleManager::ResumeRule, id);
  }
  absl::StatusOr<v1::Rule> Archive(const std::string& id) {
    return OnRule(&RuleManager::ArchiveRule, id);
  }
  absl::StatusOr<v1::ListRulesResponse> List(int page_size, std::string token = "",
                                             bool show_archived = false) {
    v1::ListRulesRequest request;
    request.set_page_size(page_size);
    request.set_page_token(std::move(token));
    request.set_show_archived(show_archived);
    return manager_.ListRules(admin_, request);
  }
  // The actions of the audit entries, oldest first.
  std::vector<std::string> Audited() const {
    const std::vector<events::v1::EventEnvelope> entries = store_.audit_entries();
    std::vector<std::string> actions(entries.size());
    std::transform(entries.begin(), entries.end(), actions.begin(),
                   [](const events::v1::EventEnvelope& entry) -> std::string {
                     events::v1::AuditRecorded recorded;
                     if (!entry.payload().UnpackTo(&recorded)) return "<not an audit entry>";
                     return recorded.event().action();
                   });
    return actions;
  }

  absl::Time now_ = kStart;
  std::map<std::string, FieldValues> customers_;
  testing::InMemoryRuleStore store_;
  paging::PageTokens tokens_;
  RuleManager manager_;
};

TEST_F(RuleManagerTest, CreateMakesDraftVersionOneOwnedByTheCaller) {
  const v1::Rule created = MustCreate();
  EXPECT_TRUE(ids::IsUuid(created.rule_id()));
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.state(), v1::RULE_STATE_DRAFT);
  EXPECT_FALSE(created.paused());
  EXPECT_EQ(created.owner_id(), "u-admin");
  EXPECT_EQ(created.etag(), "1");
  EXPECT_EQ(created.display_name(), "VIP 投诉跟进");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(created.create_time()), absl::ToUnixMicros(kStart));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(created.update_time()), absl::ToUnixMicros(kStart));
  EXPECT_FALSE(created.has_publish_time());
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule read, Read(created.rule_id()));
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
  EXPECT_THAT(Audited(), ElementsAre("rule.created"));
}

TEST_F(RuleManagerTest, CreateIgnoresOutputOnlyFieldsAndTrims) {
  v1::Rule rule = SampleRule("  展会线索  ");
  rule.set_rule_id("11111111-1111-4111-8111-111111111111");
  rule.set_version(9);
  rule.set_state(v1::RULE_STATE_PUBLISHED);
  rule.set_paused(true);
  rule.set_owner_id("u-else");
  rule.set_etag("77");
  *rule.mutable_publish_time() = TimeUtil::SecondsToTimestamp(5);
  const v1::Rule created = MustCreate(rule);
  EXPECT_NE(created.rule_id(), "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.state(), v1::RULE_STATE_DRAFT);
  EXPECT_FALSE(created.paused());
  EXPECT_EQ(created.owner_id(), "u-admin");
  EXPECT_EQ(created.etag(), "1");
  EXPECT_FALSE(created.has_publish_time());
  EXPECT_EQ(created.display_name(), "展会线索");
}

TEST_F(RuleManagerTest, CreateRejectsBadInputNamingEachFieldAndWritesNothing) {
  v1::Rule rule = SampleRule("");
  rule.mutable_condition()->mutable_any_of(0)->mutable_all_of(0)->set_field("customer.levle");
  v1::CreateRuleRequest request;
  *request.mutable_rule() = rule;
  request.set_request_id(std::string(129, 'r'));
  const absl::StatusOr<v1::CreateRuleResponse> created = manager_.CreateRule(admin_, request);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(created.status())) {
    fields.push_back(field);
  }
  EXPECT_THAT(fields, ElementsAre("rule.display_name", "rule.condition.any_of[0].all_of[0].field",
                                  "request_id"));
  EXPECT_THAT(manager_.CreateRule(admin_, v1::CreateRuleRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Audited(), IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse all, List(10, "", true));
  EXPECT_THAT(all.rules(), IsEmpty());
}

TEST_F(RuleManagerTest, CreateWithTheSameRequestIdReturnsTheFirstRule) {
  const v1::Rule first = MustCreate(SampleRule(), "req-规则-1");
  TL_ASSERT_OK(Rename(first.rule_id(), "改名了"));
  now_ += absl::Minutes(5);
  const v1::Rule again = MustCreate(SampleRule(), "req-规则-1");
  EXPECT_EQ(again.rule_id(), first.rule_id());
  EXPECT_EQ(again.display_name(), "改名了");  // As it is now.
  v1::CreateRuleRequest other;
  *other.mutable_rule() = SampleRule("别的规则");
  other.set_request_id("req-规则-1");
  const absl::StatusOr<v1::CreateRuleResponse> reused = manager_.CreateRule(admin_, other);
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused.status()), "REQUEST_ID_REUSED");
  EXPECT_THAT(Audited(), ElementsAre("rule.created", "rule.updated"));
}

TEST_F(RuleManagerTest, EveryRpcNeedsAdministerBeforeAnythingIsLookedAt) {
  const v1::Rule rule = MustCreate();
  const std::string id = rule.rule_id();
  const auto denied = StatusIs(absl::StatusCode::kPermissionDenied);
  v1::CreateRuleRequest create;
  *create.mutable_rule() = SampleRule();
  EXPECT_THAT(manager_.CreateRule(rep_, create), denied);
  v1::GetRuleRequest get;
  get.set_rule_id(id);
  EXPECT_THAT(manager_.GetRule(rep_, get), denied);
  EXPECT_THAT(manager_.ListRules(rep_, v1::ListRulesRequest()), denied);
  EXPECT_THAT(Rename(id, "x", "", &rep_), denied);
  v1::PublishRuleRequest publish;
  publish.set_rule_id("not-a-uuid");
  EXPECT_THAT(manager_.PublishRule(rep_, publish), denied);
  v1::PauseRuleRequest pause;
  pause.set_rule_id(id);
  EXPECT_THAT(manager_.PauseRule(rep_, pause), denied);
  v1::ResumeRuleRequest resume;
  resume.set_rule_id(id);
  EXPECT_THAT(manager_.ResumeRule(rep_, resume), denied);
  v1::ArchiveRuleRequest archive;
  archive.set_rule_id(id);
  EXPECT_THAT(manager_.ArchiveRule(rep_, archive), denied);
  v1::TestRuleRequest test;
  test.mutable_saved()->set_rule_id(id);
  test.set_customer_id(kCustomer);
  EXPECT_THAT(manager_.TestRule(rep_, test), denied);
  EXPECT_THAT(Audited(), ElementsAre("rule.created"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule unchanged, Read(id));
  EXPECT_EQ(unchanged.SerializeAsString(), rule.SerializeAsString());
}

TEST_F(RuleManagerTest, GetChecksIdsAndVersions) {
  const v1::Rule rule = MustCreate();
  EXPECT_THAT(Read("not-a-uuid"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Read(rule.rule_id(), -1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Read(rule.rule_id(), 2),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("has no version 2")));
  EXPECT_THAT(Read("11111111-1111-4111-8111-111111111111"), StatusIs(absl::StatusCode::kNotFound));
  // Ids are read in any case.
  std::string upper = rule.rule_id();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule read, Read(upper, 1));
  EXPECT_EQ(read.rule_id(), rule.rule_id());
}

TEST_F(RuleManagerTest, VersionLifecycleDraftPublishedNextDraft) {
  const std::string id = MustCreate().rule_id();
  now_ += absl::Minutes(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule edited, Rename(id, "草稿改名", "1"));
  EXPECT_EQ(edited.version(), 1);  // A draft changes in place.
  EXPECT_EQ(edited.etag(), "2");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(edited.update_time()), absl::ToUnixMicros(now_));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(edited.create_time()), absl::ToUnixMicros(kStart));

  now_ += absl::Minutes(1);
  EXPECT_THAT(Publish(id, "1"), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule published, Publish(id, "2"));
  EXPECT_EQ(published.state(), v1::RULE_STATE_PUBLISHED);
  EXPECT_EQ(published.etag(), "3");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(published.publish_time()), absl::ToUnixMicros(now_));
  EXPECT_THAT(Publish(id), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("has no draft to publish")));

  // Another admin edits the published rule: the next version, theirs.
  now_ += absl::Minutes(1);
  const auth::RequestContext other =
      testing::Caller(kTenant, auth::testing::AdminScope(kTenant, "u-admin-2"), "u-admin-2");
  EXPECT_THAT(Rename(id, "旧的", "2", &other), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule second, Rename(id, "第二版", "3", &other));
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.state(), v1::RULE_STATE_DRAFT);
  EXPECT_EQ(second.etag(), "1");
  EXPECT_EQ(second.owner_id(), "u-admin-2");
  EXPECT_FALSE(second.has_publish_time());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(second.create_time()), absl::ToUnixMicros(now_));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule first, Read(id, 1));
  EXPECT_EQ(first.display_name(), "草稿改名");
  EXPECT_EQ(first.state(), v1::RULE_STATE_PUBLISHED);
  EXPECT_EQ(first.owner_id(), "u-admin");

  // The draft runs nothing until published; then it supersedes version 1.
  TL_ASSERT_OK_AND_ASSIGN(std::vector<RunnableRule> runnable, store_.ListRunnable());
  ASSERT_THAT(runnable, SizeIs(1));
  EXPECT_EQ(runnable[0].rule.version(), 1);
  TL_ASSERT_OK(Publish(id, "1"));
  TL_ASSERT_OK_AND_ASSIGN(runnable, store_.ListRunnable());
  ASSERT_THAT(runnable, SizeIs(1));
  EXPECT_EQ(runnable[0].tenant_id, kTenant);
  EXPECT_EQ(runnable[0].rule.version(), 2);
  EXPECT_EQ(runnable[0].rule.display_name(), "第二版");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule still, Read(id, 1));
  EXPECT_EQ(still.state(), v1::RULE_STATE_PUBLISHED);
  EXPECT_THAT(Audited(), ElementsAre("rule.created", "rule.updated", "rule.published",
                                     "rule.updated", "rule.published"));
}

TEST_F(RuleManagerTest, UpdateAppliesOnlyTheMaskAndChecksTheWhole) {
  const std::string id = MustCreate().rule_id();
  v1::UpdateRuleRequest request;
  request.mutable_rule()->set_rule_id(id);
  request.mutable_rule()->set_description("新的说明");
  request.mutable_rule()->set_display_name("不该变");
  request.mutable_rule()->set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  request.mutable_update_mask()->add_paths("description");
  request.mutable_update_mask()->add_paths("misfire_policy");
  TL_ASSERT_OK_AND_ASSIGN(const v1::UpdateRuleResponse updated,
                          manager_.UpdateRule(admin_, request));
  EXPECT_EQ(updated.rule().description(), "新的说明");
  EXPECT_EQ(updated.rule().display_name(), "VIP 投诉跟进");
  EXPECT_EQ(updated.rule().misfire_policy(), v1::MISFIRE_POLICY_SKIP);
  EXPECT_THAT(updated.rule().actions(), SizeIs(2));

  // A trigger whose runs never set touchpoint.summary: the condition no longer checks.
  v1::UpdateRuleRequest retrigger;
  retrigger.mutable_rule()->set_rule_id(id);
  retrigger.mutable_rule()->mutable_trigger()->mutable_inactivity()->mutable_after()->set_seconds(
      30 * 24 * 3600);
  retrigger.mutable_update_mask()->add_paths("trigger");
  const absl::StatusOr<v1::UpdateRuleResponse> refused = manager_.UpdateRule(admin_, retrigger);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(refused.status()),
              ElementsAre(Pair("rule.condition.any_of[0].all_of[1].field",
                               HasSubstr("only set for touchpoint_recorded")),
                          Pair("rule.actions[0].create_task.body_template",
                               HasSubstr("touchpoint.summary is only set")),
                          Pair("rule.actions[1].webhook.payload_template",
                               HasSubstr("touchpoint.summary is only set"))));

  v1::UpdateRuleRequest bad_mask = testing::RenameRule(id, "x");
  bad_mask.mutable_update_mask()->add_paths("owner_id");
  EXPECT_THAT(status::FieldViolationsOf(manager_.UpdateRule(admin_, bad_mask).status()),
              ElementsAre(Pair("update_mask.paths[1]", HasSubstr("must be one of"))));
  v1::UpdateRuleRequest no_mask = testing::RenameRule(id, "x");
  no_mask.clear_update_mask();
  EXPECT_THAT(manager_.UpdateRule(admin_, no_mask), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Rename("bad", "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Rename("11111111-1111-4111-8111-111111111111", "x"),
              StatusIs(absl::StatusCode::kNotFound));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule read, Read(id));
  EXPECT_EQ(read.etag(), "2");
  EXPECT_THAT(Audited(), ElementsAre("rule.created", "rule.updated"));
}

TEST_F(RuleManagerTest, PauseAndResumeAreIdempotentAndRecordTheirTimes) {
  const std::string id = MustCreate().rule_id();
  TL_ASSERT_OK(Publish(id));
  now_ += absl::Hours(1);
  const absl::Time paused_at = now_;
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule paused, Pause(id));
  EXPECT_TRUE(paused.paused());
  EXPECT_EQ(paused.etag(), "2");  // Pausing changes no version.
  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule again, Pause(id));
  EXPECT_TRUE(again.paused());
  TL_ASSERT_OK_AND_ASSIGN(std::vector<RunnableRule> runnable, store_.ListRunnable());
  ASSERT_THAT(runnable, SizeIs(1));
  EXPECT_TRUE(runnable[0].rule.paused());
  EXPECT_EQ(runnable[0].paused_time, paused_at);  // The second pause changed nothing.
  EXPECT_EQ(runnable[0].resume_time, absl::InfinitePast());

  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule resumed, Resume(id));
  EXPECT_FALSE(resumed.paused());
  TL_ASSERT_OK(Resume(id));
  TL_ASSERT_OK_AND_ASSIGN(runnable, store_.ListRunnable());
  ASSERT_THAT(runnable, SizeIs(1));
  EXPECT_FALSE(runnable[0].rule.paused());
  EXPECT_EQ(runnable[0].paused_time, paused_at);
  EXPECT_EQ(runnable[0].resume_time, now_);
  // A draft made while paused is paused too: the flag is the rule's.
  TL_ASSERT_OK(Pause(id));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule draft, Rename(id, "暂停中的草稿"));
  EXPECT_TRUE(draft.paused());
  EXPECT_THAT(Audited(), ElementsAre("rule.created", "rule.published", "rule.paused",
                                     "rule.resumed", "rule.paused", "rule.updated"));
}

TEST_F(RuleManagerTest, ArchiveArchivesEveryVersionForGood) {
  const std::string id = MustCreate().rule_id();
  TL_ASSERT_OK(Publish(id));
  TL_ASSERT_OK(Rename(id, "第二版"));
  now_ += absl::Hours(2);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule archived, Archive(id));
  EXPECT_EQ(archived.version(), 2);
  EXPECT_EQ(archived.state(), v1::RULE_STATE_ARCHIVED);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule first, Read(id, 1));
  EXPECT_EQ(first.state(), v1::RULE_STATE_ARCHIVED);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(first.update_time()), absl::ToUnixMicros(now_));
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<RunnableRule> runnable, store_.ListRunnable());
  EXPECT_THAT(runnable, IsEmpty());
  TL_ASSERT_OK(Archive(id));  // Again: nothing changes.
  const auto refused = StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("archived"));
  EXPECT_THAT(Rename(id, "不行"), refused);
  EXPECT_THAT(Publish(id), refused);
  EXPECT_THAT(Pause(id), refused);
  EXPECT_THAT(Resume(id), refused);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse live, List(10));
  EXPECT_THAT(live.rules(), IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse all, List(10, "", true));
  EXPECT_THAT(Names(all), ElementsAre("第二版"));
  EXPECT_THAT(Audited(),
              ElementsAre("rule.created", "rule.published", "rule.updated", "rule.archived"));
}

TEST_F(RuleManagerTest, ListPagesInPinyinOrderWithTokensBoundToTheQuery) {
  for (const char* name : {"上海回访", "北京展会", "广州投诉", "Alpha", "成都续约"}) {
    MustCreate(SampleRule(name));
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse page, List(2, token));
    for (const std::string& name : Names(page)) names.push_back(name);
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  // ICU's zh collation puts Han characters (by pinyin) before Latin letters.
  EXPECT_THAT(names, ElementsAre("北京展会", "成都续约", "广州投诉", "上海回访", "Alpha"));

  TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse first, List(2));
  EXPECT_THAT(List(2, first.next_page_token(), /*show_archived=*/true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(List(2, "garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(List(201), StatusIs(absl::StatusCode::kInvalidArgument));
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListRulesResponse whole, List(0));
  EXPECT_THAT(whole.rules(), SizeIs(5));
  EXPECT_TRUE(whole.next_page_token().empty());
}

// --- TestRule ---

v1::TriggerEvent TouchpointEvent(std::string summary) {
  v1::TriggerEvent event;
  event.set_kind("touchpoint_recorded");
  event.set_customer_id(kCustomer);
  *event.mutable_occur_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kStart));
  (*event.mutable_fields())["customer.level"] = TextValue("CUSTOMER_LEVEL_VIP");
  (*event.mutable_fields())["customer.display_name"] = TextValue("深圳腾飞");
  (*event.mutable_fields())["customer.owner_id"] = TextValue("u-17");
  (*event.mutable_fields())["touchpoint.summary"] = TextValue(std::move(summary));
  return event;
}

TEST_F(RuleManagerTest, TestRuleOnAMatchingEventPreviewsEveryAction) {
  v1::TestRuleRequest request;
  *request.mutable_rule() = SampleRule();
  *request.mutable_event() = TouchpointEvent("客户\"投诉\"交付太慢");
  TL_ASSERT_OK_AND_ASSIGN(const v1::TestRuleResponse tested, manager_.TestRule(admin_, request));
  EXPECT_TRUE(tested.matched());
  EXPECT_EQ(tested.reason(), "");
  ASSERT_THAT(tested.comparisons(), SizeIs(2));
  EXPECT_EQ(tested.comparisons(1).path(), "condition.any_of[0].all_of[1]");
  EXPECT_EQ(tested.comparisons(1).value().string_value(), "客户\"投诉\"交付太慢");
  EXPECT_TRUE(tested.comparisons(1).holds());
  ASSERT_THAT(tested.actions(), SizeIs(2));
  // The run starts an hour after the event (the delay); the task is due a day later.
  EXPECT_EQ(tested.actions(0).action_id(), "follow_up");
  EXPECT_EQ(tested.actions(0).summary(), "task for u-17 due 2026-12-08 01:00 UTC: 跟进 深圳腾飞");
  EXPECT_EQ(tested.actions(0).content(), "跟进 深圳腾飞\n\n客户说：客户\"投诉\"交付太慢");
  EXPECT_EQ(tested.actions(1).action_id(), "notify");
  EXPECT_EQ(tested.actions(1).summary(),
            absl::StrCat("POST to webhook endpoint ", testing::kSampleEndpointId));
  EXPECT_EQ(tested.actions(1).content(), R"({"客户": "深圳腾飞", "摘要": "客户\"投诉\"交付太慢"})");
  EXPECT_THAT(Audited(), IsEmpty());  // Nothing written.
}

TEST_F(RuleManagerTest, TestRuleShowsTheValuesAsTheCallersFieldPoliciesDo) {
  pv1::EffectiveScope scope = auth::testing::AdminScope(kTenant, "u-admin");
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "summary", pv1::FIELD_ACCESS_HIDDEN);
  *scope.add_field_rules() = auth::testing::FieldRuleOf(
      "customer", "display_name", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PARTIAL);
  const auth::RequestContext caller = auth::testing::CallerWithScope(scope, kTenant, "u-admin");
  v1::TestRuleRequest request;
  *request.mutable_rule() = SampleRule();
  *request.mutable_event() = TouchpointEvent("客户投诉交付太慢");
  TL_ASSERT_OK_AND_ASSIGN(const v1::TestRuleResponse tested, manager_.TestRule(caller, request));
  // Evaluated on every value; shown without the hidden one.
  EXPECT_TRUE(tested.matched());
  ASSERT_THAT(tested.comparisons(), SizeIs(2));
  EXPECT_TRUE(tested.comparisons(1).holds());
  EXPECT_FALSE(tested.comparisons(1).has_value());
  ASSERT_THAT(tested.actions(), SizeIs(2));
  EXPECT_EQ(tested.actions(0).content(), "跟进 深***\n\n客户说：");
  EXPECT_EQ(tested.actions(1).content(), R"({"客户": "深***", "摘要": ""})");
}

TEST_F(RuleManagerTest, TestRuleSaysWhyItDoesNotMatch) {
  v1::TestRuleRequest request;
  *request.mutable_rule() = SampleRule();
  v1::TriggerEvent changed = TouchpointEvent("投诉");
  changed.set_kind("customer_changed");
  *request.mutable_event() = changed;
  TL_ASSERT_OK_AND_ASSIGN(v1::TestRuleResponse tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(),
            "the event is a customer_changed; the rule waits for touchpoint_recorded");
  EXPECT_THAT(tested.comparisons(), IsEmpty());

  *request.mutable_event() = TouchpointEvent("一切顺利");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(), "the condition does not hold");
  ASSERT_THAT(tested.comparisons(), SizeIs(2));
  EXPECT_TRUE(tested.comparisons(0).holds());
  EXPECT_FALSE(tested.comparisons(1).holds());
  EXPECT_THAT(tested.actions(), IsEmpty());
}

TEST_F(RuleManagerTest, TestRuleMatchesCustomerChangesByFieldAndNewValue) {
  v1::Rule rule = SampleRule();
  v1::CustomerChanged& changed = *rule.mutable_trigger()->mutable_customer_changed();
  changed.set_field("lifecycle_status");
  *changed.mutable_to() = TextValue("LIFECYCLE_STATUS_HIGH_INTENT");
  rule.mutable_condition()->mutable_any_of(0)->mutable_all_of()->RemoveLast();
  rule.mutable_actions(0)->mutable_create_task()->set_body_template("");
  rule.mutable_actions(1)->mutable_webhook()->clear_payload_template();
  v1::TriggerEvent event;
  event.set_kind("customer_changed");
  (*event.mutable_fields())["change.field"] = TextValue("lifecycle_status");
  (*event.mutable_fields())["customer.level"] = TextValue("CUSTOMER_LEVEL_VIP");
  (*event.mutable_fields())["customer.lifecycle_status"] = TextValue("LIFECYCLE_STATUS_PROSPECT");
  v1::TestRuleRequest request;
  *request.mutable_rule() = rule;
  *request.mutable_event() = event;
  TL_ASSERT_OK_AND_ASSIGN(v1::TestRuleResponse tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(),
            "the event changes lifecycle_status from no value to LIFECYCLE_STATUS_PROSPECT; the "
            "rule waits for a change to LIFECYCLE_STATUS_HIGH_INTENT");

  (*request.mutable_event()->mutable_fields())["customer.lifecycle_status"] =
      TextValue("LIFECYCLE_STATUS_HIGH_INTENT");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_TRUE(tested.matched()) << tested.reason();
  ASSERT_THAT(tested.actions(), SizeIs(2));
  // No event time: the run is now plus the delay. No owner known.
  EXPECT_EQ(tested.actions(0).summary(),
            "task for the customer's owner due 2026-12-08 01:00 UTC: 跟进 ");
  EXPECT_EQ(tested.actions(0).content(), "跟进 ");
  EXPECT_THAT(tested.actions(1).summary(), HasSubstr("the default payload"));

  (*request.mutable_event()->mutable_fields())["change.field"] = TextValue("region");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_EQ(tested.reason(),
            "the event changes region; the rule waits for changes of lifecycle_status");
}

TEST_F(RuleManagerTest, TestRuleReadsTheValuesBeforeTheChange) {
  // "A key account became a VIP": the trigger's from and a CHANGED_FROM comparison both read
  // the request's `before`.
  v1::Rule rule = SampleRule();
  v1::CustomerChanged& changed = *rule.mutable_trigger()->mutable_customer_changed();
  changed.set_field("level");
  *changed.mutable_from() = TextValue("CUSTOMER_LEVEL_KEY");
  *changed.mutable_to() = TextValue("CUSTOMER_LEVEL_VIP");
  v1::Comparison& was = *rule.mutable_condition()->mutable_any_of(0)->mutable_all_of(1);
  was.Clear();
  was.set_field("customer.region");
  was.set_operator_(v1::OPERATOR_CHANGED_FROM);
  *was.add_values() = TextValue("华北");
  rule.mutable_actions(0)->mutable_create_task()->set_body_template("");
  rule.mutable_actions(1)->mutable_webhook()->clear_payload_template();
  v1::TestRuleRequest request;
  *request.mutable_rule() = rule;
  v1::TriggerEvent& event = *request.mutable_event();
  event.set_kind("customer_changed");
  (*event.mutable_fields())["change.field"] = TextValue("level");
  (*event.mutable_fields())["customer.level"] = TextValue("CUSTOMER_LEVEL_VIP");
  (*event.mutable_fields())["customer.region"] = TextValue("华东");

  // Nothing before: the level was not KEY.
  TL_ASSERT_OK_AND_ASSIGN(v1::TestRuleResponse tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(),
            "the event changes level from no value to CUSTOMER_LEVEL_VIP; the rule waits for a "
            "change from CUSTOMER_LEVEL_KEY to CUSTOMER_LEVEL_VIP");

  (*request.mutable_before()->mutable_fields())["customer.level"] =
      TextValue("CUSTOMER_LEVEL_NORMAL");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(),
            "the event changes level from CUSTOMER_LEVEL_NORMAL to CUSTOMER_LEVEL_VIP; the rule "
            "waits for a change from CUSTOMER_LEVEL_KEY to CUSTOMER_LEVEL_VIP");

  // The trigger matches; the region was 华东 before too, so it did not change from 华北.
  (*request.mutable_before()->mutable_fields())["customer.level"] = TextValue("CUSTOMER_LEVEL_KEY");
  (*request.mutable_before()->mutable_fields())["customer.region"] = TextValue("华东");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_FALSE(tested.matched());
  EXPECT_EQ(tested.reason(), "the condition does not hold");
  ASSERT_THAT(tested.comparisons(), SizeIs(2));
  EXPECT_TRUE(tested.comparisons(0).holds());
  EXPECT_FALSE(tested.comparisons(1).holds());
  EXPECT_EQ(tested.comparisons(1).value().string_value(), "华东");  // the value before

  (*request.mutable_before()->mutable_fields())["customer.region"] = TextValue("华北");
  TL_ASSERT_OK_AND_ASSIGN(tested, manager_.TestRule(admin_, request));
  EXPECT_TRUE(tested.matched()) << tested.reason();
  EXPECT_EQ(tested.comparisons(1).value().string_value(), "华北");
  EXPECT_THAT(tested.actions(), SizeIs(2));

  // A customer is tested as it is now: a `before` is refused.
  request.set_customer_id(kCustomer);
  EXPECT_THAT(manager_.TestRule(admin_, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before")));
}

TEST_F(RuleManagerTest, TestRuleOnASavedVersionAndACustomer) {
  v1::Rule rule = SampleRule("VIP 客户");
  rule.mutable_trigger()->Clear();
  rule.mutable_trigger()->mutable_inactivity()->mutable_after()->set_seconds(30 * 24 * 3600);
  rule.mutable_condition()->mutable_any_of(0)->mutable_all_of()->RemoveLast();
  rule.mutable_actions(0)->mutable_create_task()->set_body_template("{{customer.tags}}");
  rule.mutable_actions()->RemoveLast();
  const std::string id = MustCreate(rule).rule_id();
  customers_[kCustomer] =
      FieldValues{{"customer.level", TextValue("CUSTOMER_LEVEL_VIP")},
                  {"customer.display_name", TextValue("杭州云栖")},
                  {"customer.owner_id", TextValue("u-9")},
                  {"customer.tags", std::vector<std::string>{"展会线索", "重点"}}};
  v1::TestRuleRequest request;
  request.mutable_saved()->set_rule_id(id);
  request.set_customer_id(kCustomer);
  TL_ASSERT_OK_AND_ASSIGN(const v1::TestRuleResponse tested, manager_.TestRule(admin_, request));
  EXPECT_TRUE(tested.matched());
  ASSERT_THAT(tested.actions(), SizeIs(1));
  EXPECT_EQ(tested.actions(0).summary(), "task for u-9 due 2026-12-08 00:00 UTC: 跟进 杭州云栖");
  EXPECT_EQ(tested.actions(0).content(), "跟进 杭州云栖\n\n展会线索, 重点");

  request.mutable_saved()->set_version(3);
  EXPECT_THAT(manager_.TestRule(admin_, request), StatusIs(absl::StatusCode::kNotFound));
  request.mutable_saved()->set_version(0);
  request.set_customer_id("11111111-1111-4111-8111-111111111111");
  EXPECT_THAT(manager_.TestRule(admin_, request), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RuleManagerTest, TestRuleChecksItsInput) {
  v1::TestRuleRequest request;
  *request.mutable_rule() = SampleRule("");
  *request.mutable_event() = TouchpointEvent("投诉");
  const absl::StatusOr<v1::TestRuleResponse> invalid = manager_.TestRule(admin_, request);
  EXPECT_THAT(invalid, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(invalid.status()),
              ElementsAre(Pair("rule.display_name", ::testing::_)));
  request.clear_rule();
  EXPECT_THAT(status::FieldViolationsOf(manager_.TestRule(admin_, request).status()),
              ElementsAre(Pair("rule", HasSubstr("is required"))));
  *request.mutable_rule() = SampleRule();
  request.clear_event();
  EXPECT_THAT(status::FieldViolationsOf(manager_.TestRule(admin_, request).status()),
              ElementsAre(Pair("event", HasSubstr("is required"))));
  request.set_customer_id("nobody");
  EXPECT_THAT(status::FieldViolationsOf(manager_.TestRule(admin_, request).status()),
              ElementsAre(Pair("customer_id", ::testing::_)));
  request.clear_rule();
  request.mutable_saved()->set_rule_id("x");
  request.set_customer_id(kCustomer);
  EXPECT_THAT(status::FieldViolationsOf(manager_.TestRule(admin_, request).status()),
              ElementsAre(Pair("saved.rule_id", ::testing::_)));
}

}  // namespace
}  // namespace touchline::automation
