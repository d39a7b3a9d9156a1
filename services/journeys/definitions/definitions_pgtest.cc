// PgDefinitionStore, under DefinitionManager, against PostgreSQL: the journeys schema migrated
// as the host migrates it (service_host::StandardMigrations), a fresh schema per test.
#include <memory>
#include <optional>
#include <pqxx/binarystring>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/topics.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/service_host/service_host.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/definition_manager.h"
#include "services/journeys/definitions/pg_definition_store.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/migrations.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::journeys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::SampleJourney;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kNow = absl::FromUnixSeconds(1780000000);

class DefinitionsPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dsn = touchline::testing::TestPgDsn();
    ASSERT_FALSE(dsn.empty());
    service_host::ServiceOptions options("journeys", "");
    options.migrations = &pg::journeys_migrations();
    options.request_ids = true;
    options.customer_read_model = true;
    for (const auto& [component, migrations] : service_host::StandardMigrations(options)) {
      const absl::Status migrated =
          pg::ApplyMigrations(dsn, schema_.name(), component, *migrations);
      ASSERT_TRUE(migrated.ok()) << component << ": " << migrated;
    }
    auto pool = pg::Pool::Create(
        {.dsn = dsn, .search_path = schema_.name(), .size = 4, .prepared = {}, .settings = {}});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    store_ = std::make_unique<PgDefinitionStore>(pool_.get(), [this] { ++wakes_; });
    manager_ = std::make_unique<DefinitionManager>(
        store_.get(), paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')),
        [this] { return now_; });
  }

  static auth::RequestContext Admin() {
    return auth::testing::CallerWithScope(auth::testing::AdminScope(kTenant, "u-admin"), kTenant,
                                          "u-admin");
  }

  absl::StatusOr<v1::Journey> Create(v1::Journey journey, std::string request_id = "") {
    v1::CreateJourneyRequest request;
    *request.mutable_journey() = std::move(journey);
    request.set_request_id(std::move(request_id));
    return manager_->Create(Admin(), request);
  }
  absl::StatusOr<v1::Journey> Rename(const std::string& id, std::string name,
                                     std::string etag = "") {
    return manager_->Update(Admin(), testing::RenameRequest(id, std::move(name), std::move(etag)));
  }
  absl::StatusOr<v1::Journey> Publish(const std::string& id, std::string etag = "") {
    v1::PublishJourneyRequest request;
    request.set_journey_id(id);
    request.set_etag(std::move(etag));
    return manager_->Publish(Admin(), request);
  }

  // What a query returns, one row per element: the first column as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> values;
    const absl::Status queried = pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec(sql)) values.push_back(row[0].c_str());
      return absl::OkStatus();
    });
    EXPECT_TRUE(queried.ok()) << queried;
    return values;
  }
  // The audit actions in the outbox, oldest first.
  std::vector<std::string> AuditActions() {
    std::vector<std::string> actions;
    const absl::Status queried = pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row :
           txn.exec("SELECT envelope FROM outbox WHERE topic = 'audit' ORDER BY id")) {
        events::v1::EventEnvelope envelope;
        EXPECT_TRUE(envelope.ParseFromString(pqxx::binarystring(row[0]).str()));
        events::v1::AuditRecorded recorded;
        EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
        actions.push_back(recorded.event().action());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(queried.ok()) << queried;
    return actions;
  }

  touchline::testing::ScopedSchema schema_{"journeys_definitions"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgDefinitionStore> store_;
  std::unique_ptr<DefinitionManager> manager_;
  absl::Time now_ = kNow;
  int wakes_ = 0;
};

TEST_F(DefinitionsPgTest, CreateStoresVersionOneAndAudits) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey read, store_->Get(kTenant, created.journey_id(), 0));
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(read.etag(), "1");
  EXPECT_THAT(Column("SELECT concat_ws(' ', version, state, display_name, revision, "
                     "publish_time IS NULL) FROM journeys"),
              ElementsAre("1 1 经销商旅程 1 t"));
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created"));
  EXPECT_EQ(wakes_, 1);
  EXPECT_THAT(store_->Get(kTenant, created.journey_id(), 2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("other", created.journey_id(), 0), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DefinitionsPgTest, CreateReplaysByRequestId) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey first, Create(SampleJourney(), "req-1"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey again, Create(SampleJourney(), "req-1"));
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(Create(SampleJourney("别的"), "req-1"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Column("SELECT count(*) FROM journeys"), ElementsAre("1"));
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created"));
}

TEST_F(DefinitionsPgTest, PublishQueuesEntryPassAndUpdateMakesVersionTwo) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  const std::string id = created.journey_id();
  now_ += absl::Hours(1);
  EXPECT_THAT(Publish(id, "5"), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey published, Publish(id, "1"));
  EXPECT_EQ(published.etag(), "2");
  EXPECT_THAT(Column("SELECT concat_ws(' ', version, finish_time IS NULL) FROM "
                     "journey_entry_passes"),
              ElementsAre("1 t"));
  EXPECT_THAT(Column("SELECT concat_ws(' ', state, revision, extract(epoch FROM publish_time)"
                     "::bigint) FROM journeys"),
              ElementsAre(absl::StrCat("2 2 ", absl::ToUnixSeconds(now_))));
  EXPECT_THAT(Publish(id), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Rename(id, "旧", "1"), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey draft, Rename(id, "经销商旅程二", "2"));
  EXPECT_EQ(draft.version(), 2);
  EXPECT_EQ(draft.state(), v1::JOURNEY_STATE_DRAFT);
  TL_ASSERT_OK(Publish(id, draft.etag()));
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<v1::Journey> live, store_->ListPublished(kTenant));
  ASSERT_THAT(live, SizeIs(2));
  EXPECT_EQ(live[0].version(), 1);
  EXPECT_EQ(live[0].display_name(), "经销商旅程");
  EXPECT_EQ(live[1].version(), 2);
  EXPECT_EQ(live[1].display_name(), "经销商旅程二");
  EXPECT_THAT(Column("SELECT version FROM journey_entry_passes ORDER BY version"),
              ElementsAre("1", "2"));
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created", "journey.published", "journey.updated",
                                          "journey.published"));
}

TEST_F(DefinitionsPgTest, ArchiveArchivesEveryVersionInBodyAndColumns) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  const std::string id = created.journey_id();
  TL_ASSERT_OK(Publish(id));
  TL_ASSERT_OK(Rename(id, "第二版"));
  v1::ArchiveJourneyRequest request;
  request.set_journey_id(id);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey archived, manager_->Archive(Admin(), request));
  EXPECT_EQ(archived.version(), 2);
  EXPECT_THAT(Column("SELECT state FROM journeys ORDER BY version"), ElementsAre("3", "3"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey first, store_->Get(kTenant, id, 1));
  EXPECT_EQ(first.state(), v1::JOURNEY_STATE_ARCHIVED);
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<v1::Journey> live, store_->ListPublished(kTenant));
  EXPECT_THAT(live, IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const JourneyPage hidden, store_->List(kTenant, false, 10, std::nullopt));
  EXPECT_THAT(hidden.journeys, IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const JourneyPage shown, store_->List(kTenant, true, 10, std::nullopt));
  ASSERT_THAT(shown.journeys, SizeIs(1));
  EXPECT_EQ(shown.journeys[0].version(), 2);
}

TEST_F(DefinitionsPgTest, ListsLatestVersionsInPinyinOrderByPages) {
  for (const char* name : {"上海", "北京", "广州", "杭州", "成都"}) {
    TL_ASSERT_OK(Create(SampleJourney(name)));
  }
  std::vector<std::string> names;
  std::optional<JourneyCursor> after;
  int pages = 0;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const JourneyPage page, store_->List(kTenant, false, 2, after));
    for (const v1::Journey& journey : page.journeys) names.push_back(journey.display_name());
    after = page.next;
    ++pages;
  } while (after && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(names, ElementsAre("北京", "成都", "广州", "杭州", "上海"));
}

TEST_F(DefinitionsPgTest, ConcurrentUpdatesOfAPublishedJourneyMakeOneNewVersion) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  TL_ASSERT_OK(Publish(created.journey_id()));
  std::vector<std::thread> writers;
  std::vector<absl::Status> results(4);
  for (size_t i = 0; i < results.size(); ++i) {
    writers.emplace_back(
        [&, i] { results[i] = Rename(created.journey_id(), "并发" + std::to_string(i)).status(); });
  }
  for (std::thread& writer : writers) writer.join();
  for (const absl::Status& result : results) TL_EXPECT_OK(result);
  EXPECT_THAT(Column("SELECT concat_ws(' ', version, state, revision) FROM journeys "
                     "ORDER BY version"),
              ElementsAre("1 2 2", "2 1 4"));
}

}  // namespace
}  // namespace touchline::journeys
