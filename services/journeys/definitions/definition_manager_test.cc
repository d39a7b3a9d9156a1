// DefinitionManager's rules against the in-memory store: no PostgreSQL, no Redis.
#include "services/journeys/definitions/definition_manager.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/testing/in_memory_definition_store.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::journeys {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using testing::EntryPass;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::SampleJourney;
using ::testing::SizeIs;
using testing::StageOf;
using ::touchline::testing::StatusIs;
namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
const absl::Time kNow = absl::FromUnixSeconds(1780000000);

class DefinitionManagerTest : public ::testing::Test {
 protected:
  DefinitionManagerTest()
      : manager_(&store_, paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')),
                 [this] { return now_; }) {}

  static auth::RequestContext Caller(pv1::EffectiveScope proto, std::string caller_id) {
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(caller_id));
  }
  static auth::RequestContext Admin() {
    return Caller(auth::testing::AdminScope(kTenant, "u-admin"), "u-admin");
  }
  // A sales rep: writes customers and touchpoints, administers nothing.
  static auth::RequestContext Rep() {
    pv1::EffectiveScope scope = auth::testing::RepScope("u-rep");
    scope.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    scope.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
    return Caller(std::move(scope), "u-rep");
  }

  absl::StatusOr<v1::Journey> Create(v1::Journey journey, std::string request_id = "") {
    v1::CreateJourneyRequest request;
    *request.mutable_journey() = std::move(journey);
    request.set_request_id(std::move(request_id));
    return manager_.Create(Admin(), request);
  }
  absl::StatusOr<v1::Journey> Get(const std::string& id, int version = 0,
                                  const auth::RequestContext& caller = Admin()) {
    v1::GetJourneyRequest request;
    request.set_journey_id(id);
    request.set_version(version);
    return manager_.Get(caller, request);
  }
  absl::StatusOr<v1::Journey> Rename(const std::string& id, std::string name,
                                     std::string etag = "") {
    return manager_.Update(Admin(), testing::RenameRequest(id, std::move(name), std::move(etag)));
  }
  absl::StatusOr<v1::Journey> Publish(const std::string& id, std::string etag = "",
                                      const auth::RequestContext& caller = Admin()) {
    v1::PublishJourneyRequest request;
    request.set_journey_id(id);
    request.set_etag(std::move(etag));
    return manager_.Publish(caller, request);
  }
  absl::StatusOr<v1::Journey> Archive(const std::string& id,
                                      const auth::RequestContext& caller = Admin()) {
    v1::ArchiveJourneyRequest request;
    request.set_journey_id(id);
    return manager_.Archive(caller, request);
  }
  absl::StatusOr<v1::ListJourneysResponse> List(int page_size, std::string token = "",
                                                bool show_archived = false) {
    v1::ListJourneysRequest request;
    request.set_page_size(page_size);
    request.set_page_token(std::move(token));
    request.set_show_archived(show_archived);
    return manager_.List(Rep(), request);
  }
  std::vector<std::string> AuditActions() const {
    std::vector<std::string> actions;
    for (const events::v1::EventEnvelope& envelope : store_.audit_entries()) {
      events::v1::AuditRecorded recorded;
      EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
      actions.push_back(recorded.event().action());
    }
    return actions;
  }

  absl::Time now_ = kNow;
  testing::InMemoryDefinitionStore store_;
  DefinitionManager manager_;
};

TEST_F(DefinitionManagerTest, CreateMakesDraftVersionOne) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  EXPECT_TRUE(ids::IsUuid(created.journey_id()));
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.state(), v1::JOURNEY_STATE_DRAFT);
  EXPECT_EQ(created.etag(), "1");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(created.create_time()), absl::ToUnixMicros(kNow));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(created.update_time()), absl::ToUnixMicros(kNow));
  EXPECT_FALSE(created.has_publish_time());
  EXPECT_EQ(created.display_name(), "经销商旅程");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey read, Get(created.journey_id()));
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created"));
}

TEST_F(DefinitionManagerTest, CreateIgnoresOutputOnlyFields) {
  v1::Journey journey = SampleJourney();
  journey.set_journey_id("11111111-1111-4111-8111-111111111111");
  journey.set_version(7);
  journey.set_state(v1::JOURNEY_STATE_PUBLISHED);
  journey.set_etag("99");
  *journey.mutable_publish_time() = TimeUtil::SecondsToTimestamp(5);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(journey));
  EXPECT_NE(created.journey_id(), "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.state(), v1::JOURNEY_STATE_DRAFT);
  EXPECT_EQ(created.etag(), "1");
  EXPECT_FALSE(created.has_publish_time());
}

TEST_F(DefinitionManagerTest, CreateRejectsInvalidJourneyNamingFields) {
  v1::Journey journey = SampleJourney();
  journey.mutable_stages(2)->set_stage_id("Signed!");
  v1::CreateJourneyRequest request;
  *request.mutable_journey() = journey;
  request.set_request_id(std::string(129, 'r'));
  const absl::StatusOr<v1::Journey> created = manager_.Create(Admin(), request);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(created.status()),
              ElementsAre(Pair("journey.stages[2].stage_id",
                               "must be 1 to 63 characters of a-z, 0-9, _ and -"),
                          Pair("request_id", "must be at most 128 characters")));
  EXPECT_THAT(manager_.Create(Admin(), v1::CreateJourneyRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.audit_entries(), IsEmpty());
}

TEST_F(DefinitionManagerTest, CreateIsIdempotentByRequestId) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey first, Create(SampleJourney(), "req-1"));
  now_ += absl::Seconds(5);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey again, Create(SampleJourney(), "req-1"));
  EXPECT_EQ(again.journey_id(), first.journey_id());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created"));
  const absl::StatusOr<v1::Journey> reused = Create(SampleJourney("另一个旅程"), "req-1");
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused.status()), "REQUEST_ID_REUSED");
  // Another id is another journey.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey second, Create(SampleJourney(), "req-2"));
  EXPECT_NE(second.journey_id(), first.journey_id());
}

TEST_F(DefinitionManagerTest, WritesNeedAdministerReadsDoNot) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  v1::CreateJourneyRequest create;
  *create.mutable_journey() = SampleJourney();
  EXPECT_THAT(manager_.Create(Rep(), create), StatusIs(absl::StatusCode::kPermissionDenied));
  v1::UpdateJourneyRequest update;
  update.mutable_journey()->set_journey_id(created.journey_id());
  update.mutable_update_mask()->add_paths("display_name");
  EXPECT_THAT(manager_.Update(Rep(), update), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Publish(created.journey_id(), "", Rep()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Archive(created.journey_id(), Rep()), StatusIs(absl::StatusCode::kPermissionDenied));
  TL_EXPECT_OK(Get(created.journey_id(), 0, Rep()));
  TL_EXPECT_OK(List(10));
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created"));
  // No scope at all is a wiring defect.
  auth::RequestContext bare;
  bare.tenant_id = kTenant;
  v1::GetJourneyRequest get;
  get.set_journey_id(created.journey_id());
  EXPECT_THAT(manager_.Get(bare, get), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(DefinitionManagerTest, GetErrors) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  EXPECT_THAT(Get("22222222-2222-4222-8222-222222222222"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(created.journey_id(), 2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get("not-a-uuid"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Get(created.journey_id(), -1), StatusIs(absl::StatusCode::kInvalidArgument));
  // Upper case names the same journey.
  std::string upper = created.journey_id();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  TL_EXPECT_OK(Get(upper));
}

TEST_F(DefinitionManagerTest, UpdateChangesTheDraftWithEtags) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  now_ += absl::Minutes(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey renamed,
                          Rename(created.journey_id(), " 代理商旅程 ", created.etag()));
  EXPECT_EQ(renamed.display_name(), "代理商旅程");
  EXPECT_EQ(renamed.version(), 1);
  EXPECT_EQ(renamed.state(), v1::JOURNEY_STATE_DRAFT);
  EXPECT_EQ(renamed.etag(), "2");
  EXPECT_EQ(renamed.stages_size(), 3);  // Not in the mask: kept.
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(renamed.update_time()),
            absl::ToUnixMicros(kNow + absl::Minutes(1)));
  EXPECT_EQ(renamed.create_time().seconds(), created.create_time().seconds());
  const absl::StatusOr<v1::Journey> stale = Rename(created.journey_id(), "旧的", created.etag());
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(status::ErrorReasonOf(stale.status()), "ETAG_MISMATCH");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey read, Get(created.journey_id()));
  EXPECT_EQ(read.display_name(), "代理商旅程");
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created", "journey.updated"));
}

TEST_F(DefinitionManagerTest, UpdateMaskNamesOnlyUpdatableFields) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  v1::UpdateJourneyRequest request;
  request.mutable_journey()->set_journey_id(created.journey_id());
  request.mutable_journey()->set_state(v1::JOURNEY_STATE_PUBLISHED);
  EXPECT_THAT(status::FieldViolationsOf(manager_.Update(Admin(), request).status()),
              ElementsAre(Pair("update_mask", "is required")));
  request.mutable_update_mask()->add_paths("description");
  request.mutable_update_mask()->add_paths("state");
  request.mutable_update_mask()->add_paths("stages.display_name");
  const absl::StatusOr<v1::Journey> updated = manager_.Update(Admin(), request);
  EXPECT_THAT(updated, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(updated.status()),
              ElementsAre(Pair("update_mask.paths[1]", "names no updatable field (\"state\")"),
                          Pair("update_mask.paths[2]",
                               "names no updatable field (\"stages.display_name\")")));
  request.mutable_journey()->clear_journey_id();
  EXPECT_THAT(manager_.Update(Admin(), request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DefinitionManagerTest, UpdateValidatesTheResultAndWritesNothingWhenBad) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  v1::UpdateJourneyRequest request;
  request.mutable_journey()->set_journey_id(created.journey_id());
  *request.mutable_journey()->add_stages() = StageOf("lead", "线索", v1::STAGE_KIND_ENTRY);
  *request.mutable_journey()->add_stages() = StageOf("won", "成交", v1::STAGE_KIND_GOAL);
  request.mutable_update_mask()->add_paths("stages");
  // The stored rule moves customers to "visit", which the new stages lack.
  const absl::StatusOr<v1::Journey> updated = manager_.Update(Admin(), request);
  EXPECT_THAT(
      status::FieldViolationsOf(updated.status()),
      ElementsAre(Pair("journey.mapping_rules[0].to_stage_id", "names no stage of the journey")));
  request.mutable_update_mask()->add_paths("mapping_rules");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey replaced, manager_.Update(Admin(), request));
  EXPECT_THAT(replaced.stages(), SizeIs(2));
  EXPECT_THAT(replaced.mapping_rules(), IsEmpty());
  EXPECT_EQ(replaced.etag(), "2");
}

TEST_F(DefinitionManagerTest, PublishQueuesEntryAndUpdateAfterMakesVersionTwo) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  const std::string id = created.journey_id();
  now_ += absl::Hours(1);
  EXPECT_THAT(Publish(id, "7"), StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey published, Publish(id, created.etag()));
  EXPECT_EQ(published.state(), v1::JOURNEY_STATE_PUBLISHED);
  EXPECT_EQ(published.version(), 1);
  EXPECT_EQ(published.etag(), "2");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(published.publish_time()),
            absl::ToUnixMicros(kNow + absl::Hours(1)));
  EXPECT_THAT(store_.entry_passes(), ElementsAre(EntryPass{kTenant, id, 1}));
  EXPECT_THAT(Publish(id), StatusIs(absl::StatusCode::kFailedPrecondition));

  now_ += absl::Hours(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey draft, Rename(id, "经销商旅程二", published.etag()));
  EXPECT_EQ(draft.version(), 2);
  EXPECT_EQ(draft.state(), v1::JOURNEY_STATE_DRAFT);
  EXPECT_EQ(draft.etag(), "1");
  EXPECT_FALSE(draft.has_publish_time());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(draft.create_time()),
            absl::ToUnixMicros(kNow + absl::Hours(2)));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey first, Get(id, 1));
  EXPECT_EQ(first.state(), v1::JOURNEY_STATE_PUBLISHED);
  EXPECT_EQ(first.display_name(), "经销商旅程");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey latest, Get(id));
  EXPECT_EQ(latest.version(), 2);
  // The draft changes in place from now on.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey draft_again, Rename(id, "经销商旅程三"));
  EXPECT_EQ(draft_again.version(), 2);
  EXPECT_EQ(draft_again.etag(), "2");

  TL_ASSERT_OK_AND_ASSIGN(std::vector<v1::Journey> live, store_.ListPublished(kTenant));
  ASSERT_THAT(live, SizeIs(1));
  TL_ASSERT_OK(Publish(id));
  TL_ASSERT_OK_AND_ASSIGN(live, store_.ListPublished(kTenant));
  ASSERT_THAT(live, SizeIs(2));
  EXPECT_EQ(live[0].version(), 1);
  EXPECT_EQ(live[1].version(), 2);
  EXPECT_THAT(store_.entry_passes(),
              ElementsAre(EntryPass{kTenant, id, 1}, EntryPass{kTenant, id, 2}));
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created", "journey.published", "journey.updated",
                                          "journey.updated", "journey.published"));
}

TEST_F(DefinitionManagerTest, ArchiveArchivesEveryVersion) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey created, Create(SampleJourney()));
  const std::string id = created.journey_id();
  TL_ASSERT_OK(Publish(id));
  TL_ASSERT_OK(Rename(id, "第二版"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey archived, Archive(id));
  EXPECT_EQ(archived.version(), 2);
  EXPECT_EQ(archived.state(), v1::JOURNEY_STATE_ARCHIVED);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey first, Get(id, 1));
  EXPECT_EQ(first.state(), v1::JOURNEY_STATE_ARCHIVED);
  TL_ASSERT_OK_AND_ASSIGN(std::vector<v1::Journey> live, store_.ListPublished(kTenant));
  EXPECT_THAT(live, IsEmpty());
  EXPECT_THAT(Rename(id, "第三版"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Publish(id), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Again: nothing changes, nothing is audited.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Journey again, Archive(id));
  EXPECT_EQ(again.etag(), archived.etag());
  EXPECT_THAT(AuditActions(), ElementsAre("journey.created", "journey.published", "journey.updated",
                                          "journey.archived"));
  EXPECT_THAT(Archive("33333333-3333-4333-8333-333333333333"),
              StatusIs(absl::StatusCode::kNotFound));
  // Listed only when asked for.
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListJourneysResponse listed, List(10));
  EXPECT_THAT(listed.journeys(), IsEmpty());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListJourneysResponse all, List(10, "", true));
  ASSERT_THAT(all.journeys(), SizeIs(1));
  EXPECT_EQ(all.journeys(0).version(), 2);
}

TEST_F(DefinitionManagerTest, ListsChineseNamesInPinyinOrderByPages) {
  for (const char* name : {"上海", "北京", "广州", "杭州", "成都"})
    TL_ASSERT_OK(Create(SampleJourney(name)));
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const v1::ListJourneysResponse page, List(2, token));
    for (const v1::Journey& journey : page.journeys()) names.push_back(journey.display_name());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  // bei jing, cheng du, guang zhou, hang zhou, shang hai.
  EXPECT_THAT(names, ElementsAre("北京", "成都", "广州", "杭州", "上海"));
}

TEST_F(DefinitionManagerTest, ListRejectsBadPageSizeAndForeignTokens) {
  EXPECT_THAT(List(-1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(List(201), StatusIs(absl::StatusCode::kInvalidArgument));
  TL_EXPECT_OK(List(200));
  for (int i = 0; i < 3; ++i) TL_ASSERT_OK(Create(SampleJourney("旅程" + std::to_string(i))));
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListJourneysResponse page, List(1));
  ASSERT_FALSE(page.next_page_token().empty());
  // A token of the listing without archived journeys does not serve the one with them.
  EXPECT_THAT(List(1, page.next_page_token(), true), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(List(1, "garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::journeys
