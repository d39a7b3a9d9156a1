// TouchpointManager's rules against the in-memory store: no PostgreSQL, no Redis (the audit
// publisher is never started, so what it was given stays queued and is counted here).
#include "services/touchpoints/touchpoint_manager.h"

#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/customers/testing/fake_customer_directory.h"
#include "common/paging/page_token.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/testing/in_memory_touchpoint_store.h"
#include "services/touchpoints/touchpoint_row.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;
namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;
namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
constexpr char kCustomer[] = "11111111-1111-4111-8111-111111111111";       // Owned by u-rep.
constexpr char kOtherCustomer[] = "22222222-2222-4222-8222-222222222222";  // Owned by u-boss.
constexpr char kPerson[] = "33333333-3333-4333-8333-333333333333";
const absl::Time kNow = absl::FromUnixSeconds(1780000000);

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

cv1::Customer CustomerOf(const std::string& id, const std::string& owner) {
  cv1::Customer c;
  c.set_customer_id(id);
  c.set_owner_id(owner);
  c.set_region("east");
  c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
  c.set_etag("3");
  c.add_contact_persons()->set_person_id(kPerson);
  return c;
}

v1::Touchpoint Basic(const std::string& customer_id, absl::Time occur,
                     v1::Channel channel = v1::CHANNEL_PHONE) {
  v1::Touchpoint t;
  t.set_customer_id(customer_id);
  *t.mutable_occur_time() = Ts(occur);
  t.set_channel(channel);
  t.set_category(v1::CATEGORY_SALES);
  t.set_subject("call back");
  return t;
}

class TouchpointManagerTest : public ::testing::Test {
 protected:
  TouchpointManagerTest() {
    // Nothing listens on port 1: the publisher is never started, and what Stop flushes at the
    // end is refused and dropped, so nothing leaves the process.
    redis::RedisOptions nowhere;
    nowhere.port = 1;
    redis_ = *redis::Pool::Create(nowhere);
    audit_ = *audit::AuditPublisher::Create({}, redis_.get());
    store_.PutCustomer(kTenant, CustomerOf(kCustomer, "u-rep"));
    store_.PutCustomer(kTenant, CustomerOf(kOtherCustomer, "u-boss"));
    manager_ = std::make_unique<TouchpointManager>(
        &store_, audit_.get(), ValidationOptions{},
        paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')), [] { return kNow; },
        BatchOptions{}, &directory_);
  }

  static auth::RequestContext Caller(pv1::EffectiveScope proto, std::string caller_id) {
    return auth::testing::CallerWithScope(std::move(proto), kTenant, std::move(caller_id));
  }
  static auth::RequestContext Admin() {
    return Caller(auth::testing::AdminScope(kTenant, "u-admin"), "u-admin");
  }
  // A sales rep: sees the customers it owns, records and corrects their touchpoints.
  static pv1::EffectiveScope RepScope() {
    pv1::EffectiveScope scope = auth::testing::RepScope("u-rep");
    scope.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
    return scope;
  }
  static auth::RequestContext Rep() { return Caller(RepScope(), "u-rep"); }
  // A rep who may not read the content, nor filter by tags, and reads the summary only.
  static auth::RequestContext RestrictedRep() {
    pv1::EffectiveScope scope = RepScope();
    *scope.add_field_rules() =
        auth::testing::FieldRuleOf("touchpoint", "content", pv1::FIELD_ACCESS_HIDDEN);
    *scope.add_field_rules() =
        auth::testing::FieldRuleOf("touchpoint", "tags", pv1::FIELD_ACCESS_HIDDEN);
    *scope.add_field_rules() =
        auth::testing::FieldRuleOf("touchpoint", "summary", pv1::FIELD_ACCESS_READ_ONLY);
    return Caller(std::move(scope), "u-rep");
  }

  absl::StatusOr<Recorded> Record(const auth::RequestContext& caller, const v1::Touchpoint& t,
                                  const std::string& request_id = "") {
    v1::RecordTouchpointRequest request;
    *request.mutable_touchpoint() = t;
    request.set_request_id(request_id);
    absl::StatusOr<Recorded> result = absl::UnknownError("no answer");
    absl::Notification done;
    manager_->Record(caller, request, [&](absl::StatusOr<Recorded> recorded) {
      result = std::move(recorded);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  // The types of the touchpoint events the store committed (audit entries left out).
  std::vector<std::string> TouchpointEvents() {
    std::vector<std::string> types;
    for (const ev::EventEnvelope& e : store_.events()) {
      if (e.payload().Is<ev::TouchpointRecorded>()) types.push_back("recorded");
      if (e.payload().Is<ev::TouchpointUpdated>()) types.push_back("updated");
      if (e.payload().Is<ev::TouchpointDeleted>()) types.push_back("deleted");
    }
    return types;
  }

  testing::InMemoryTouchpointStore store_;
  customers::testing::FakeCustomerDirectory directory_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  std::unique_ptr<TouchpointManager> manager_;
};

TEST_F(TouchpointManagerTest, RecordFillsInWhatTheServerOwns) {
  v1::Touchpoint t = Basic(kCustomer, kNow - absl::Hours(1));
  t.set_etag("client etag");  // Output only: ignored.
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded, Record(Rep(), t));
  EXPECT_FALSE(recorded.replayed);
  EXPECT_THAT(recorded.touchpoint.touchpoint_id(), SizeIs(36));
  EXPECT_EQ(recorded.touchpoint.etag(), "1");
  EXPECT_EQ(recorded.touchpoint.state(), v1::TOUCHPOINT_STATE_ACTIVE);
  EXPECT_EQ(recorded.touchpoint.recorded_by(), "u-rep");
  EXPECT_EQ(recorded.touchpoint.record_time(), Ts(kNow));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Touchpoint stored,
                          manager_->Get(Rep(), recorded.touchpoint.touchpoint_id()));
  EXPECT_EQ(stored.subject(), "call back");
  EXPECT_THAT(TouchpointEvents(), ElementsAre("recorded"));
}

TEST_F(TouchpointManagerTest, RecordReplaysTheSameRequestAndRefusesItsReuse) {
  const v1::Touchpoint t = Basic(kCustomer, kNow - absl::Hours(1));
  TL_ASSERT_OK_AND_ASSIGN(const Recorded first, Record(Rep(), t, "req-7"));
  TL_ASSERT_OK_AND_ASSIGN(const Recorded again, Record(Rep(), t, "req-7"));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.touchpoint.touchpoint_id(), first.touchpoint.touchpoint_id());
  EXPECT_EQ(store_.size(), 1u);

  v1::Touchpoint other = t;
  other.set_subject("another call");
  EXPECT_THAT(Record(Rep(), other, "req-7"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_THAT(TouchpointEvents(), ElementsAre("recorded"));
}

TEST_F(TouchpointManagerTest, RecordTakesRequestIdsByTheSharedRule) {
  const v1::Touchpoint t = Basic(kCustomer, kNow - absl::Hours(1));
  std::string chinese;
  for (int i = 0; i < 128; ++i) chinese += "键";  // 128 characters, 384 bytes.
  TL_EXPECT_OK(Record(Rep(), t, chinese).status());
  EXPECT_THAT(Record(Rep(), t, chinese + "键"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Record(Rep(), t, std::string("a\0b", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_.size(), 1u);
}

TEST_F(TouchpointManagerTest, RecordNeedsTheWritePermissionAndAVisibleCustomer) {
  pv1::EffectiveScope reader = RepScope();
  reader.clear_permissions();
  EXPECT_THAT(Record(Caller(reader, "u-rep"), Basic(kCustomer, kNow)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Another rep's customer is refused as one that does not exist.
  EXPECT_THAT(Record(Rep(), Basic(kOtherCustomer, kNow)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(TouchpointManagerTest, RecordAsksTheOwnerForACustomerTheReadModelLacks) {
  const std::string fresh = "44444444-4444-4444-8444-444444444444";
  directory_.Add(CustomerOf(fresh, "u-rep"));
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded, Record(Rep(), Basic(fresh, kNow)));
  EXPECT_EQ(recorded.touchpoint.customer_id(), fresh);
  EXPECT_THAT(directory_.asked(), ElementsAre("u-rep " + fresh));
  // Known from now on: no second lookup.
  TL_ASSERT_OK(Record(Rep(), Basic(fresh, kNow)).status());
  EXPECT_THAT(directory_.asked(), SizeIs(1));
}

TEST_F(TouchpointManagerTest, BatchRecordAnswersEachRequest) {
  TL_ASSERT_OK(Record(Rep(), Basic(kCustomer, kNow - absl::Hours(3)), "req-1").status());
  v1::BatchRecordTouchpointsRequest batch;
  v1::RecordTouchpointRequest* replay = batch.add_requests();
  *replay->mutable_touchpoint() = Basic(kCustomer, kNow - absl::Hours(3));
  replay->set_request_id("req-1");
  *batch.add_requests()->mutable_touchpoint() = Basic("not-a-uuid", kNow);
  *batch.add_requests()->mutable_touchpoint() = Basic(kCustomer, kNow - absl::Hours(2));
  TL_ASSERT_OK_AND_ASSIGN(const v1::BatchRecordTouchpointsResponse response,
                          manager_->BatchRecord(Rep(), batch));
  ASSERT_THAT(response.results(), SizeIs(3));
  EXPECT_TRUE(response.results(0).replayed());
  EXPECT_EQ(response.results(1).error().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(response.results(2).has_touchpoint());
  EXPECT_EQ(response.recorded_count(), 1);
  EXPECT_EQ(response.failed_count(), 1);
  EXPECT_EQ(store_.size(), 2u);
}

TEST_F(TouchpointManagerTest, BatchRecordRefusesMoreThanItsLimit) {
  v1::BatchRecordTouchpointsRequest batch;
  for (int i = 0; i <= kMaxBatchRecord; ++i) {
    *batch.add_requests()->mutable_touchpoint() = Basic(kCustomer, kNow);
  }
  EXPECT_THAT(manager_->BatchRecord(Rep(), batch), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(TouchpointManagerTest, GetHidesAnotherRepsTouchpoint) {
  TL_ASSERT_OK_AND_ASSIGN(const Recorded theirs,
                          Record(Admin(), Basic(kOtherCustomer, kNow - absl::Hours(1))));
  EXPECT_THAT(manager_->Get(Rep(), theirs.touchpoint.touchpoint_id()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->Get(Rep(), "not-a-uuid"), StatusIs(absl::StatusCode::kInvalidArgument));
  TL_EXPECT_OK(manager_->Get(Admin(), theirs.touchpoint.touchpoint_id()));
}

TEST_F(TouchpointManagerTest, ListPagesNewestFirstWithinTheFilter) {
  std::vector<std::string> ids;  // Oldest first.
  for (int i = 0; i < 5; ++i) {
    TL_ASSERT_OK_AND_ASSIGN(
        const Recorded r, Record(Rep(), Basic(kCustomer, kNow - absl::Hours(10 - i),
                                              i % 2 == 0 ? v1::CHANNEL_PHONE : v1::CHANNEL_EMAIL)));
    ids.push_back(r.touchpoint.touchpoint_id());
  }
  v1::ListTouchpointsRequest request;
  request.set_customer_id(kCustomer);
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointsResponse response,
                            manager_->List(Rep(), request));
    for (const v1::Touchpoint& t : response.touchpoints()) seen.push_back(t.touchpoint_id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));

  v1::ListTouchpointsRequest email;
  email.set_customer_id(kCustomer);
  email.mutable_filter()->add_channels(v1::CHANNEL_EMAIL);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointsResponse emails, manager_->List(Rep(), email));
  ASSERT_THAT(emails.touchpoints(), SizeIs(2));
  EXPECT_EQ(emails.touchpoints(0).touchpoint_id(), ids[3]);
  EXPECT_EQ(emails.touchpoints(1).touchpoint_id(), ids[1]);

  // A page token belongs to its query.
  v1::ListTouchpointsRequest first;
  first.set_customer_id(kCustomer);
  first.set_page_size(2);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointsResponse page, manager_->List(Rep(), first));
  email.set_page_token(page.next_page_token());
  EXPECT_THAT(manager_->List(Rep(), email), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TouchpointManagerTest, ListChecksTheCustomerAndThePageSize) {
  v1::ListTouchpointsRequest request;
  request.set_customer_id(kOtherCustomer);
  EXPECT_THAT(manager_->List(Rep(), request), StatusIs(absl::StatusCode::kNotFound));
  request.set_customer_id(kCustomer);
  request.set_page_size(kMaxPageSize + 1);
  EXPECT_THAT(manager_->List(Rep(), request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TouchpointManagerTest, UpdateChangesTheMaskedFieldsAndChecksTheEtag) {
  v1::Touchpoint t = Basic(kCustomer, kNow - absl::Hours(1));
  t.set_summary("first summary");
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded, Record(Rep(), t));
  v1::UpdateTouchpointRequest update;
  update.mutable_touchpoint()->set_touchpoint_id(recorded.touchpoint.touchpoint_id());
  update.mutable_touchpoint()->set_subject("corrected");
  update.mutable_touchpoint()->set_summary("not in the mask");
  update.mutable_touchpoint()->set_etag("1");
  update.mutable_update_mask()->add_paths("subject");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Touchpoint updated, manager_->Update(Rep(), update));
  EXPECT_EQ(updated.subject(), "corrected");
  EXPECT_EQ(updated.summary(), "first summary");
  EXPECT_EQ(updated.etag(), "2");
  EXPECT_EQ(updated.update_time(), Ts(kNow));

  // The same etag again is stale now.
  EXPECT_THAT(manager_->Update(Rep(), update), StatusIs(absl::StatusCode::kAborted));
  update.mutable_touchpoint()->clear_etag();
  update.mutable_update_mask()->set_paths(0, "touchpoint_id");
  EXPECT_THAT(manager_->Update(Rep(), update), StatusIs(absl::StatusCode::kInvalidArgument));
  // Validated as a record would be: no occur_time in the future.
  update.mutable_update_mask()->set_paths(0, "occur_time");
  *update.mutable_touchpoint()->mutable_occur_time() = Ts(kNow + absl::Hours(1));
  EXPECT_THAT(manager_->Update(Rep(), update), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TouchpointEvents(), ElementsAre("recorded", "updated"));
}

TEST_F(TouchpointManagerTest, UpdateRefusesAFieldTheScopeMayOnlyRead) {
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded,
                          Record(Rep(), Basic(kCustomer, kNow - absl::Hours(1))));
  v1::UpdateTouchpointRequest update;
  update.mutable_touchpoint()->set_touchpoint_id(recorded.touchpoint.touchpoint_id());
  update.mutable_touchpoint()->set_summary("rewritten");
  update.mutable_update_mask()->add_paths("summary");
  EXPECT_THAT(manager_->Update(RestrictedRep(), update),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_EXPECT_OK(manager_->Update(Rep(), update));
}

TEST_F(TouchpointManagerTest, DeleteIsSoftAndOnlyOnce) {
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded,
                          Record(Rep(), Basic(kCustomer, kNow - absl::Hours(1))));
  v1::DeleteTouchpointRequest request;
  request.set_touchpoint_id(recorded.touchpoint.touchpoint_id());
  request.set_etag("7");
  EXPECT_THAT(manager_->Delete(Rep(), request), StatusIs(absl::StatusCode::kAborted));
  request.set_etag("1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Touchpoint deleted, manager_->Delete(Rep(), request));
  EXPECT_EQ(deleted.state(), v1::TOUCHPOINT_STATE_DELETED);
  EXPECT_EQ(deleted.delete_time(), Ts(kNow));
  request.clear_etag();
  EXPECT_THAT(manager_->Delete(Rep(), request), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Still found by id, no longer on the timeline.
  TL_EXPECT_OK(manager_->Get(Rep(), recorded.touchpoint.touchpoint_id()));
  v1::ListTouchpointsRequest list;
  list.set_customer_id(kCustomer);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointsResponse timeline, manager_->List(Rep(), list));
  EXPECT_THAT(timeline.touchpoints(), IsEmpty());
  EXPECT_THAT(TouchpointEvents(), ElementsAre("recorded", "deleted"));
}

TEST_F(TouchpointManagerTest, DisclosureHidesFieldsAndAuditsTheSensitiveRead) {
  v1::Touchpoint t = Basic(kCustomer, kNow - absl::Hours(1));
  t.set_summary("the summary");
  t.set_content("the whole conversation");
  t.add_tags("vip");
  TL_ASSERT_OK_AND_ASSIGN(const Recorded recorded, Record(Admin(), t));
  const std::string id = recorded.touchpoint.touchpoint_id();
  ASSERT_EQ(audit_->queued(), 0u);

  // No field rules: everything shown, nothing to audit.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Touchpoint full, manager_->Get(Rep(), id));
  EXPECT_EQ(full.content(), "the whole conversation");
  EXPECT_EQ(audit_->queued(), 0u);

  // Content and tags hidden; the summary (a field with a rule) shown and its read audited.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Touchpoint redacted, manager_->Get(RestrictedRep(), id));
  EXPECT_EQ(redacted.content(), "");
  EXPECT_THAT(redacted.tags(), IsEmpty());
  EXPECT_EQ(redacted.summary(), "the summary");
  EXPECT_EQ(audit_->queued(), 1u);

  // A list is disclosed the same way, with one audit entry for the page.
  v1::ListTouchpointsRequest list;
  list.set_customer_id(kCustomer);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointsResponse page,
                          manager_->List(RestrictedRep(), list));
  ASSERT_THAT(page.touchpoints(), SizeIs(1));
  EXPECT_EQ(page.touchpoints(0).content(), "");
  EXPECT_EQ(audit_->queued(), 2u);

  // Filtering by a hidden field would reveal it.
  list.mutable_filter()->set_tag("vip");
  EXPECT_THAT(manager_->List(RestrictedRep(), list), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(TouchpointManagerTest, StatsLeaveOutWhatTheCallerDoesNotReadInClear) {
  v1::Touchpoint won = Basic(kCustomer, kNow - absl::Hours(5), v1::CHANNEL_EMAIL);
  won.set_outcome(v1::OUTCOME_CONNECTED);  // A successful contact: on the heat map.
  won.set_summary("agreed");
  TL_ASSERT_OK(Record(Rep(), won).status());
  TL_ASSERT_OK(Record(Rep(), Basic(kCustomer, kNow - absl::Hours(4))).status());
  TL_ASSERT_OK(Record(Admin(), Basic(kOtherCustomer, kNow - absl::Hours(3))).status());
  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(kNow - absl::Hours(24));
  *request.mutable_end_time() = Ts(kNow);
  request.set_time_zone("UTC");

  TL_ASSERT_OK_AND_ASSIGN(const v1::GetTouchpointStatsResponse all,
                          manager_->Stats(Rep(), request));
  EXPECT_EQ(all.total_count(), 2);  // The other rep's customer is not counted.
  EXPECT_THAT(all.by_channel(), SizeIs(2));
  EXPECT_THAT(all.by_outcome(), SizeIs(2));
  EXPECT_THAT(all.heat_map(), SizeIs(1));
  EXPECT_THAT(all.completeness(), SizeIs(kCompletenessFields.size()));

  pv1::EffectiveScope limited = RepScope();
  for (const char* field : {"channel", "outcome", "summary"}) {
    *limited.add_field_rules() =
        auth::testing::FieldRuleOf("touchpoint", field, pv1::FIELD_ACCESS_HIDDEN);
  }
  TL_ASSERT_OK_AND_ASSIGN(const v1::GetTouchpointStatsResponse hidden,
                          manager_->Stats(Caller(limited, "u-rep"), request));
  EXPECT_EQ(hidden.total_count(), 2);
  EXPECT_THAT(hidden.by_channel(), IsEmpty());
  EXPECT_THAT(hidden.by_outcome(), IsEmpty());
  EXPECT_THAT(hidden.heat_map(), IsEmpty());  // It counts successful outcomes.
  EXPECT_THAT(hidden.by_category(), SizeIs(1));
  std::vector<std::string> fields;
  for (const v1::FieldCompleteness& c : hidden.completeness()) fields.push_back(c.field());
  EXPECT_THAT(fields, ::testing::Not(::testing::Contains("summary")));
  EXPECT_THAT(fields, ::testing::Not(::testing::Contains("outcome")));
  EXPECT_THAT(fields, SizeIs(kCompletenessFields.size() - 2));
}

TEST_F(TouchpointManagerTest, ChangesFeedPagesAndPassesOverWhatTheCallerDoesNotSee) {
  TL_ASSERT_OK(Record(Admin(), Basic(kCustomer, kNow - absl::Hours(3))).status());
  TL_ASSERT_OK(Record(Admin(), Basic(kOtherCustomer, kNow - absl::Hours(2))).status());
  TL_ASSERT_OK(Record(Admin(), Basic(kCustomer, kNow - absl::Hours(1))).status());
  v1::ListTouchpointChangesRequest request;
  request.set_page_size(2);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointChangesResponse first,
                          manager_->Changes(Rep(), request));
  EXPECT_THAT(first.touchpoints(), SizeIs(1));  // The other rep's customer is passed over.
  EXPECT_FALSE(first.caught_up());
  request.set_cursor(first.next_cursor());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListTouchpointChangesResponse second,
                          manager_->Changes(Rep(), request));
  EXPECT_THAT(second.touchpoints(), SizeIs(1));
  EXPECT_TRUE(second.caught_up());
  request.set_customer_id(kCustomer);  // A cursor of another feed.
  EXPECT_THAT(manager_->Changes(Rep(), request), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::touchpoints
