// PgRuleStore, alone and under RuleManager, against PostgreSQL: the automation schema as the
// host migrates it, a fresh schema per test.
#include <algorithm>
#include <memory>
#include <optional>
#include <pqxx/binarystring>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pg/pool.h"
#include "common/status/macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/rules/pg_rule_store.h"
#include "services/automation/rules/rule_manager.h"
#include "services/automation/rules/testing/sample_rule.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::SampleRule;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kStart = absl::FromUnixSeconds(1796601600);

class RulesPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dsn = touchline::testing::TestPgDsn();
    ASSERT_FALSE(dsn.empty()) << "TOUCHLINE_PG_DSN is not set (scripts/dev-servers.sh)";
    auto pool = testing::MigratedPool(dsn, schema_.name());
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    store_ = std::make_unique<PgRuleStore>(pool_.get(), [this] { ++relay_wakes_; });
    manager_ = std::make_unique<RuleManager>(
        store_.get(), &tokens_, [this] { return now_; },
        [](const auth::RequestContext&, const std::string&) -> absl::StatusOr<FieldValues> {
          return absl::NotFoundError("no customers here");
        });
  }

  absl::StatusOr<v1::Rule> Create(const std::string& tenant, v1::Rule rule,
                                  std::string request_id = "") {
    v1::CreateRuleRequest request;
    *request.mutable_rule() = std::move(rule);
    request.set_request_id(std::move(request_id));
    TL_ASSIGN_OR_RETURN(v1::CreateRuleResponse created,
                        manager_->CreateRule(testing::Admin(tenant), request));
    return created.rule();
  }
  absl::StatusOr<v1::Rule> Rename(const std::string& id, std::string name, std::string etag = "") {
    TL_ASSIGN_OR_RETURN(
        v1::UpdateRuleResponse updated,
        manager_->UpdateRule(testing::Admin(kTenant),
                             testing::RenameRule(id, std::move(name), std::move(etag))));
    return updated.rule();
  }
  absl::StatusOr<v1::Rule> Publish(const std::string& id, const std::string& tenant = kTenant) {
    v1::PublishRuleRequest request;
    request.set_rule_id(id);
    TL_ASSIGN_OR_RETURN(v1::PublishRuleResponse published,
                        manager_->PublishRule(testing::Admin(tenant), request));
    return published.rule();
  }

  // One text per row: the first column of `sql`.
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      rows.clear();
      for (const pqxx::row& row : txn.exec(sql)) rows.push_back(row[0].c_str());
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return rows;
  }
  // The audit entries in the outbox as "action resource_id detail", oldest first.
  std::vector<std::string> AuditRows() {
    std::vector<std::string> entries;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      entries.clear();
      for (const pqxx::row& row :
           txn.exec("SELECT envelope FROM outbox WHERE topic = 'audit' ORDER BY id")) {
        events::v1::EventEnvelope envelope;
        events::v1::AuditRecorded recorded;
        EXPECT_TRUE(envelope.ParseFromString(pqxx::binarystring(row[0]).str()));
        EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
        entries.push_back(absl::StrCat(recorded.event().action(), " ",
                                       recorded.event().resource_type(), " ",
                                       recorded.event().detail()));
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return entries;
  }

  touchline::testing::ScopedSchema schema_{"automation_rules"};
  std::unique_ptr<pg::Pool> pool_;
  paging::PageTokens tokens_{std::string(paging::kTokenKeyBytes, 'p')};
  std::unique_ptr<PgRuleStore> store_;
  std::unique_ptr<RuleManager> manager_;
  absl::Time now_ = kStart;
  int relay_wakes_ = 0;
};

TEST_F(RulesPgTest, CreateStoresVersionOneWithItsRuleRowAndAudit) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule created, Create(kTenant, SampleRule()));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule read, store_->Get(kTenant, created.rule_id(), 0));
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(read.etag(), "1");
  EXPECT_EQ(read.owner_id(), "u-admin");
  EXPECT_THAT(Rows("SELECT concat_ws(' ', version, state, display_name, revision, "
                   "publish_time IS NULL, extract(epoch FROM create_time)::bigint) "
                   "FROM rule_versions"),
              ElementsAre(absl::StrCat("1 1 VIP 投诉跟进 1 t ", absl::ToUnixSeconds(kStart))));
  EXPECT_THAT(Rows("SELECT concat_ws(' ', latest_version, coalesce(published_version, 0), paused, "
                   "archived) FROM rules"),
              ElementsAre("1 0 f f"));
  EXPECT_THAT(AuditRows(), ElementsAre("rule.created rule version 1"));
  EXPECT_EQ(relay_wakes_, 1);
  EXPECT_THAT(store_->Get(kTenant, created.rule_id(), 2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("other", created.rule_id(), 0), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RulesPgTest, CreateReplaysByRequestIdAndRefusesItsReuse) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule first, Create(kTenant, SampleRule(), "请求-1"));
  now_ += absl::Seconds(30);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule again, Create(kTenant, SampleRule(), "请求-1"));
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(Create(kTenant, SampleRule("别的"), "请求-1"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Another tenant's key is its own.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule theirs, Create("globex", SampleRule(), "请求-1"));
  EXPECT_NE(theirs.rule_id(), first.rule_id());
  EXPECT_THAT(Rows("SELECT count(*) FROM rule_versions"), ElementsAre("2"));
  EXPECT_THAT(AuditRows(), SizeIs(2));
  EXPECT_EQ(relay_wakes_, 2);
}

TEST_F(RulesPgTest, WritesKeepVersionsEtagsAndTheRuleRow) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule created, Create(kTenant, SampleRule()));
  const std::string id = created.rule_id();
  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule published, Publish(id));
  EXPECT_EQ(published.etag(), "2");
  EXPECT_THAT(Rename(id, "旧", "1"), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule draft, Rename(id, "第二版", "2"));
  EXPECT_EQ(draft.version(), 2);
  EXPECT_EQ(draft.etag(), "1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule edited, Rename(id, "第二版改", "1"));
  EXPECT_EQ(edited.etag(), "2");
  EXPECT_THAT(Rows("SELECT concat_ws(' ', version, state, display_name, revision, "
                   "publish_time IS NOT NULL) FROM rule_versions ORDER BY version"),
              ElementsAre("1 2 VIP 投诉跟进 2 t", "2 1 第二版改 2 f"));
  EXPECT_THAT(Rows("SELECT concat_ws(' ', latest_version, published_version) FROM rules"),
              ElementsAre("2 1"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule latest, store_->Get(kTenant, id, 0));
  EXPECT_EQ(latest.SerializeAsString(), edited.SerializeAsString());

  // A decision's error rolls everything back; an empty decision writes nothing.
  const RuleWriteContext context{testing::Admin(kTenant), now_};
  EXPECT_THAT(store_->Write(context, id,
                            [](const StoredRule&) -> absl::StatusOr<RuleWrite> {
                              return absl::FailedPreconditionError("no");
                            }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule unchanged,
                          store_->Write(context, id, [](const StoredRule& stored) {
                            EXPECT_THAT(stored.versions, SizeIs(2));
                            return absl::StatusOr<RuleWrite>(RuleWrite{});
                          }));
  EXPECT_EQ(unchanged.SerializeAsString(), edited.SerializeAsString());
  EXPECT_THAT(
      store_->Write(context, "11111111-1111-4111-8111-111111111111",
                    [](const StoredRule&) { return absl::StatusOr<RuleWrite>(RuleWrite{}); }),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(AuditRows(),
              ElementsAre("rule.created rule version 1", "rule.published rule version 1",
                          "rule.updated rule version 2, a new draft from version 1",
                          "rule.updated rule version 2"));
}

TEST_F(RulesPgTest, ListRunnableHasTheLatestPublishedVersionOfEveryTenant) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule a, Create(kTenant, SampleRule("甲")));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule b, Create(kTenant, SampleRule("乙")));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule c, Create("globex", SampleRule("丙")));
  TL_ASSERT_OK(Create(kTenant, SampleRule("草稿")));  // Never published: not runnable.
  TL_ASSERT_OK(Publish(a.rule_id()));
  TL_ASSERT_OK(Publish(b.rule_id()));
  TL_ASSERT_OK(Publish(c.rule_id(), "globex"));
  TL_ASSERT_OK(Rename(a.rule_id(), "甲二"));  // A draft: version 1 still runs.
  now_ += absl::Hours(3);
  v1::PauseRuleRequest pause;
  pause.set_rule_id(b.rule_id());
  TL_ASSERT_OK(manager_->PauseRule(testing::Admin(kTenant), pause));
  v1::ArchiveRuleRequest archive;
  archive.set_rule_id(c.rule_id());
  TL_ASSERT_OK(manager_->ArchiveRule(testing::Admin("globex"), archive));

  TL_ASSERT_OK_AND_ASSIGN(std::vector<RunnableRule> runnable, store_->ListRunnable());
  ASSERT_THAT(runnable, SizeIs(2));
  std::sort(runnable.begin(), runnable.end(), [](const RunnableRule& x, const RunnableRule& y) {
    return x.rule.display_name() < y.rule.display_name();
  });
  EXPECT_EQ(runnable[0].tenant_id, kTenant);
  EXPECT_EQ(runnable[0].rule.display_name(), "乙");
  EXPECT_TRUE(runnable[0].rule.paused());
  EXPECT_EQ(runnable[0].paused_time, now_);
  EXPECT_EQ(runnable[0].resume_time, absl::InfinitePast());
  EXPECT_EQ(runnable[1].rule.display_name(), "甲");
  EXPECT_EQ(runnable[1].rule.version(), 1);
  EXPECT_EQ(runnable[1].rule.state(), v1::RULE_STATE_PUBLISHED);
  EXPECT_FALSE(runnable[1].rule.paused());
  EXPECT_EQ(runnable[1].rule.etag(), "2");
  EXPECT_EQ(runnable[1].paused_time, absl::InfinitePast());
  EXPECT_THAT(Rows("SELECT concat_ws(' ', state, revision) FROM rule_versions "
                   "WHERE tenant_id = 'globex'"),
              ElementsAre("3 3"));
}

TEST_F(RulesPgTest, ListsLatestVersionsInPinyinOrderByPages) {
  for (const char* name : {"上海", "北京", "广州", "杭州", "成都", "Beta"}) {
    TL_ASSERT_OK(Create(kTenant, SampleRule(name)));
  }
  TL_ASSERT_OK(Create("globex", SampleRule("安徽")));
  std::vector<std::string> names;
  std::optional<RuleCursor> after;
  int pages = 0;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const RulePage page, store_->List(kTenant, false, 4, after));
    for (const v1::Rule& rule : page.rules) names.push_back(rule.display_name());
    after = page.next;
    ++pages;
  } while (after && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(names, ElementsAre("北京", "成都", "广州", "杭州", "上海", "Beta"));
}

TEST_F(RulesPgTest, ArchivedRulesListOnlyWhenAsked) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule kept, Create(kTenant, SampleRule("保留")));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule gone, Create(kTenant, SampleRule("归档")));
  TL_ASSERT_OK(Publish(gone.rule_id()));
  TL_ASSERT_OK(Rename(gone.rule_id(), "归档二"));
  v1::ArchiveRuleRequest archive;
  archive.set_rule_id(gone.rule_id());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ArchiveRuleResponse archived,
                          manager_->ArchiveRule(testing::Admin(kTenant), archive));
  EXPECT_EQ(archived.rule().version(), 2);
  EXPECT_THAT(Rows(absl::StrCat("SELECT state FROM rule_versions WHERE rule_id = '", gone.rule_id(),
                                "' ORDER BY version")),
              ElementsAre("3", "3"));
  TL_ASSERT_OK_AND_ASSIGN(const RulePage live, store_->List(kTenant, false, 10, std::nullopt));
  ASSERT_THAT(live.rules, SizeIs(1));
  EXPECT_EQ(live.rules[0].rule_id(), kept.rule_id());
  TL_ASSERT_OK_AND_ASSIGN(const RulePage all, store_->List(kTenant, true, 10, std::nullopt));
  ASSERT_THAT(all.rules, SizeIs(2));
  EXPECT_EQ(all.rules[0].display_name(), "保留");
  EXPECT_EQ(all.rules[1].display_name(), "归档二");
  EXPECT_EQ(all.rules[1].state(), v1::RULE_STATE_ARCHIVED);
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<RunnableRule> runnable, store_->ListRunnable());
  EXPECT_THAT(runnable, IsEmpty());
  EXPECT_EQ(AuditRows().back(), "rule.archived rule versions 1 to 2");
}

TEST_F(RulesPgTest, ConcurrentEditsOfAPublishedRuleMakeOneNewVersion) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Rule created, Create(kTenant, SampleRule()));
  TL_ASSERT_OK(Publish(created.rule_id()));
  std::vector<absl::Status> results(4);
  std::vector<std::thread> editors;
  for (size_t i = 0; i < results.size(); ++i) {
    editors.emplace_back(
        [&, i] { results[i] = Rename(created.rule_id(), absl::StrCat("并发", i)).status(); });
  }
  for (std::thread& editor : editors) editor.join();
  for (const absl::Status& result : results) TL_EXPECT_OK(result);
  EXPECT_THAT(Rows("SELECT concat_ws(' ', version, state, revision) FROM rule_versions "
                   "ORDER BY version"),
              ElementsAre("1 2 2", "2 1 4"));
  EXPECT_THAT(Rows("SELECT latest_version FROM rules"), ElementsAre("2"));
}

}  // namespace
}  // namespace touchline::automation
