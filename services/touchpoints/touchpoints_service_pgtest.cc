// The touchpoints service through a real gRPC stack (touchpoints_service_fixture.h), as an
// administrator: recording, reading, correcting, searching, statistics and the change feed.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/touchpoints/search_text.h"
#include "services/touchpoints/touchpoints_service_fixture.h"
#include "touchline/contacts/v1/contacts_service.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

// --- 1. Record and Get --------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, RecordThenGetRoundTripsEveryField) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  const v1::Touchpoint sent = Full(customer, now);

  const absl::Time before = NowMicros();
  v1::RecordTouchpointResponse response;
  const grpc::Status status = Record(sent, &response);
  const absl::Time after = NowMicros();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.replayed());
  const v1::Touchpoint& recorded = response.touchpoint();

  // Output fields.
  EXPECT_TRUE(ids::IsUuid(recorded.touchpoint_id())) << recorded.touchpoint_id();
  EXPECT_EQ(recorded.state(), v1::TOUCHPOINT_STATE_ACTIVE);
  EXPECT_EQ(recorded.etag(), "1");
  EXPECT_EQ(recorded.recorded_by(), kCaller);
  EXPECT_FALSE(recorded.has_delete_time());
  ASSERT_TRUE(recorded.has_record_time());
  EXPECT_GE(FromTs(recorded.record_time()), before);
  EXPECT_LE(FromTs(recorded.record_time()), after);
  EXPECT_EQ(FromTs(recorded.update_time()), FromTs(recorded.record_time()));

  // Everything the client sent comes back unchanged.
  v1::Touchpoint expected = sent;
  expected.set_touchpoint_id(recorded.touchpoint_id());
  expected.set_state(v1::TOUCHPOINT_STATE_ACTIVE);
  expected.set_etag("1");
  expected.set_recorded_by(kCaller);
  *expected.mutable_record_time() = recorded.record_time();
  *expected.mutable_update_time() = recorded.update_time();
  EXPECT_TRUE(MessageDifferencer::Equals(expected, recorded))
      << expected.DebugString() << "\nvs\n"
      << recorded.DebugString();

  v1::Touchpoint fetched;
  const grpc::Status got = Get(recorded.touchpoint_id(), &fetched);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_TRUE(MessageDifferencer::Equals(recorded, fetched))
      << recorded.DebugString() << "\nvs\n"
      << fetched.DebugString();
  EXPECT_EQ(fetched.subject(), "客户投诉物流延迟");
  EXPECT_EQ(fetched.attachments(0).file_name(), "通话录音.mp3");
  EXPECT_EQ(fetched.custom_attributes().at("refund_amount").double_value(), 99.5);
  EXPECT_EQ(fetched.behavior_metrics().at("page_dwell_seconds"), 42.5);
  EXPECT_EQ(fetched.duration().seconds(), 754);
  EXPECT_EQ(fetched.duration().nanos(), 500000000);
  EXPECT_EQ(FromTs(fetched.occur_time()), now - absl::Hours(2) + absl::Microseconds(123457));
}

TEST_F(TouchpointsServiceTest, ClientRecordTimeIsKept) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::Touchpoint t = Basic(customer.id, now - absl::Hours(5));
  *t.mutable_record_time() = Ts(now - absl::Hours(4));
  const v1::Touchpoint recorded = MustRecord(t);
  EXPECT_EQ(FromTs(recorded.record_time()), now - absl::Hours(4));
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(FromTs(fetched.record_time()), now - absl::Hours(4));

  // Nanoseconds are cut to the microseconds PostgreSQL keeps, in the response as well.
  v1::Touchpoint precise = Basic(customer.id, now - absl::Hours(6), "精确");
  precise.mutable_occur_time()->set_nanos(123456789);
  *precise.mutable_record_time() = Ts(now - absl::Hours(5));
  precise.mutable_record_time()->set_nanos(987654321);
  const v1::Touchpoint cut = MustRecord(precise);
  EXPECT_EQ(cut.occur_time().nanos(), 123456000);
  EXPECT_EQ(cut.record_time().nanos(), 987654000);
  ASSERT_TRUE(Get(cut.touchpoint_id(), &fetched).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(cut, fetched))
      << cut.DebugString() << "\nvs\n"
      << fetched.DebugString();
}

TEST_F(TouchpointsServiceTest, MissingTenantIsUnauthenticated) {
  grpc::ClientContext context;
  v1::GetTouchpointRequest request;
  request.set_touchpoint_id(ids::NewUuid());
  v1::GetTouchpointResponse response;
  EXPECT_EQ(stub_->GetTouchpoint(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// --- 2. Validation ----------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, BadFieldIsInvalidArgumentNamingItAndWritesNothing) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();

  v1::Touchpoint no_channel = Full(customer, now);
  no_channel.clear_channel();
  grpc::Status status = Record(no_channel, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("touchpoint.channel", ::testing::_)));

  v1::Touchpoint bad_sha = Full(customer, now);
  bad_sha.mutable_attachments(0)->set_sha256("not-a-hash");
  status = Record(bad_sha, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.attachments[0].sha256"));

  EXPECT_THAT(ListIds(customer.id), IsEmpty());
  EXPECT_EQ(CountRows("touchpoints"), 0);
  EXPECT_EQ(CountRows("touchpoint_keys"), 0);
  EXPECT_EQ(CountRows("idempotency_keys"), 0);
  EXPECT_EQ(CountRows("outbox"), 0);
}

TEST_F(TouchpointsServiceTest, NulCharacterIsInvalidArgumentNamingTheField) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  const std::string nul("a\0b", 3);

  v1::Touchpoint custom = Full(customer, now);
  (*custom.mutable_custom_attributes())["nul"].set_string_value(nul);
  grpc::Status status = Record(custom, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("touchpoint.custom_attributes[\"nul\"]",
                               "must not contain NUL characters")));

  status = Record(Full(customer, now), nullptr, nul);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(FieldsOf(status), ElementsAre("request_id"));
  EXPECT_EQ(CountRows("touchpoints"), 0);

  v1::ListTouchpointsRequest list;
  list.set_customer_id(customer.id);
  list.mutable_filter()->set_tag(nul);
  v1::ListTouchpointsResponse listed;
  status = List(list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(FieldsOf(status), ElementsAre("filter.tag"));

  v1::SearchTouchpointsRequest search;
  search.set_query("投诉" + nul);
  v1::SearchTouchpointsResponse found;
  status = Search(search, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(FieldsOf(status), ElementsAre("query"));
  search.set_query("投诉");
  search.mutable_filter()->set_participant_id(nul);
  status = Search(search, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(FieldsOf(status), ElementsAre("filter.participant_id"));

  v1::GetTouchpointStatsRequest stats_request;
  *stats_request.mutable_start_time() = Ts(now - absl::Hours(1));
  *stats_request.mutable_end_time() = Ts(now);
  stats_request.set_time_zone(std::string("Asia/Shanghai\0", 14));
  v1::GetTouchpointStatsResponse stats;
  status = Stats(stats_request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(FieldsOf(status), ElementsAre("time_zone"));
}

TEST_F(TouchpointsServiceTest, OversizedSubjectIsRejectedNotTruncated) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::Touchpoint t = Basic(customer.id, now - absl::Hours(1), Repeat("客", 257));
  const grpc::Status status = Record(t, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.subject"));
  EXPECT_THAT(ListIds(customer.id), IsEmpty());

  // 256 characters: accepted whole.
  t.set_subject(Repeat("客", 256));
  const v1::Touchpoint recorded = MustRecord(t);
  EXPECT_EQ(recorded.subject(), Repeat("客", 256));
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(fetched.subject(), Repeat("客", 256));
}

TEST_F(TouchpointsServiceTest, UnknownOrDeletedCustomerIsInvalidArgument) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();

  grpc::Status status = Record(Basic(ids::NewUuid(), now - absl::Hours(1)), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.customer_id"));

  // A customer of another tenant is unknown too.
  const SeededCustomer other_tenant = SeedCustomer("tenant-b");
  status = Record(Basic(other_tenant.id, now - absl::Hours(1)), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.customer_id"));

  cv1::Customer deleted_customer = customer.customer;
  deleted_customer.set_state(cv1::CUSTOMER_STATE_DELETED);
  deleted_customer.set_etag("2");
  ev::CustomerDeleted deleted;
  *deleted.mutable_customer() = deleted_customer;
  ApplyCustomerEvent(deleted, kTenant, customer.id);
  status = Record(Basic(customer.id, now - absl::Hours(1)), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.customer_id"));

  EXPECT_EQ(CountRows("touchpoints"), 0);
  EXPECT_EQ(CountRows("touchpoint_keys"), 0);
  EXPECT_EQ(CountRows("idempotency_keys"), 0);
  EXPECT_EQ(CountRows("outbox"), 0);
}

TEST_F(TouchpointsServiceTest, ContactPersonOfAnotherCustomerIsRejected) {
  const SeededCustomer customer = SeedCustomer();
  const SeededCustomer other = SeedCustomer();
  v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1));
  t.add_contact_person_ids(other.person_ids[0]);
  t.add_contact_person_ids(customer.person_ids[0]);
  const grpc::Status status = Record(t, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.contact_person_ids[0]"));
  EXPECT_THAT(ListIds(customer.id), IsEmpty());

  // The customer's own persons are accepted.
  t.clear_contact_person_ids();
  t.add_contact_person_ids(customer.person_ids[1]);
  EXPECT_THAT(MustRecord(t).contact_person_ids(), ElementsAre(customer.person_ids[1]));
}

TEST_F(TouchpointsServiceTest, OccurTimeBeyondTheClockSkewIsRejected) {
  const SeededCustomer customer = SeedCustomer();
  const grpc::Status status = Record(Basic(customer.id, absl::Now() + absl::Minutes(10)), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.occur_time"));
  EXPECT_THAT(ListIds(customer.id), IsEmpty());
  EXPECT_EQ(CountRows("touchpoints"), 0);
}

// --- 3. Idempotency ---------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, SameRequestIdFromSixteenThreadsRecordsOnce) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint t = Full(customer, NowMicros());
  std::vector<std::thread> threads;
  std::vector<v1::RecordTouchpointResponse> responses(16);
  std::vector<grpc::Status> statuses(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Record(t, &responses[i], "req-concurrent"); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  int replayed = 0;
  for (int i = 0; i < 16; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    ids.insert(responses[i].touchpoint().touchpoint_id());
    if (responses[i].replayed()) ++replayed;
  }
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(replayed, 15);
  const std::string id = *ids.begin();
  EXPECT_TRUE(ids::IsUuid(id));
  EXPECT_THAT(ListIds(customer.id), ElementsAre(id));
  EXPECT_EQ(CountRows("touchpoints"), 1);

  const std::vector<ev::EventEnvelope> events = PublishedEvents(1);
  int recorded_events = 0;
  for (const ev::EventEnvelope& e : events) {
    if (e.payload().Is<ev::TouchpointRecorded>()) ++recorded_events;
  }
  EXPECT_EQ(recorded_events, 1);
  EXPECT_THAT(events, SizeIs(1));
}

TEST_F(TouchpointsServiceTest, SameRequestIdWithOtherContentIsAlreadyExists) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1));
  v1::RecordTouchpointResponse first, again;
  ASSERT_TRUE(Record(t, &first, "req-1").ok());
  EXPECT_FALSE(first.replayed());
  ASSERT_TRUE(Record(t, &again, "req-1").ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_TRUE(MessageDifferencer::Equals(first.touchpoint(), again.touchpoint()));

  v1::Touchpoint other = t;
  other.set_subject("另一次通话");
  EXPECT_EQ(Record(other, nullptr, "req-1").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Another tenant's request ids are its own.
  const SeededCustomer b = SeedCustomer("tenant-b");
  v1::RecordTouchpointResponse in_b;
  ASSERT_TRUE(Record(Basic(b.id, NowMicros() - absl::Hours(1)), &in_b, "req-1", "tenant-b").ok());
  EXPECT_FALSE(in_b.replayed());
  EXPECT_THAT(ListIds(customer.id), ElementsAre(first.touchpoint().touchpoint_id()));
}

TEST_F(TouchpointsServiceTest, SameExternalIdReplaysOrIsAlreadyExists) {
  const SeededCustomer customer = SeedCustomer();
  v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1));
  t.set_source_system("wecom");
  t.set_external_id("msg-42");
  v1::RecordTouchpointResponse first, again;
  ASSERT_TRUE(Record(t, &first).ok());
  EXPECT_FALSE(first.replayed());
  ASSERT_TRUE(Record(t, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.touchpoint().touchpoint_id(), first.touchpoint().touchpoint_id());
  EXPECT_TRUE(MessageDifferencer::Equals(first.touchpoint(), again.touchpoint()));

  v1::Touchpoint changed = t;
  changed.set_summary("内容不同");
  const grpc::Status status = Record(changed, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Same external id from another source system is another touchpoint.
  v1::Touchpoint other_system = t;
  other_system.set_source_system("call-center");
  v1::RecordTouchpointResponse third;
  ASSERT_TRUE(Record(other_system, &third).ok());
  EXPECT_FALSE(third.replayed());
  EXPECT_THAT(ListIds(customer.id),
              UnorderedElementsAre(first.touchpoint().touchpoint_id(),
                                   third.touchpoint().touchpoint_id()));
}

TEST_F(TouchpointsServiceTest, ResentWebhookWithANewRequestIdReplaysAndKeepsNoStrayKey) {
  const SeededCustomer customer = SeedCustomer();
  v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1));
  t.set_source_system("wecom");
  t.set_external_id("msg-77");
  v1::RecordTouchpointResponse first, resent, again;
  // Keys of both kinds: the source's (touchpoint_keys) and the request id (idempotency_keys).
  const auto keys = [this] { return CountRows("touchpoint_keys") + CountRows("idempotency_keys"); };
  ASSERT_TRUE(Record(t, &first, "delivery-1").ok());
  EXPECT_EQ(keys(), 2);
  // The source re-sends with a new delivery id: the external id recognises it, and the new
  // request id it claimed on the way is given back.
  ASSERT_TRUE(Record(t, &resent, "delivery-2").ok());
  EXPECT_TRUE(resent.replayed());
  EXPECT_EQ(resent.touchpoint().touchpoint_id(), first.touchpoint().touchpoint_id());
  EXPECT_EQ(keys(), 2);
  ASSERT_TRUE(Record(t, &again, "delivery-2").ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.touchpoint().touchpoint_id(), first.touchpoint().touchpoint_id());
  EXPECT_EQ(ListIds(customer.id).size(), 1u);
}

// --- 4. Merges ----------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, TouchpointOfAMergedCustomerGoesToTheSurvivor) {
  const SeededCustomer survivor = SeedCustomer();
  const SeededCustomer merged = SeedCustomer();
  const absl::Time now = NowMicros();
  // Recorded before the merge: moves with it.
  const v1::Touchpoint earlier = MustRecord(Basic(merged.id, now - absl::Hours(3)));

  ev::CustomersMerged event;
  event.mutable_merge()->set_merge_id(ids::NewUuid());
  event.mutable_merge()->set_survivor_customer_id(survivor.id);
  event.mutable_merge()->set_merged_customer_id(merged.id);
  *event.mutable_survivor() = survivor.customer;
  event.mutable_survivor()->set_etag("2");
  *event.mutable_merged() = merged.customer;
  event.mutable_merged()->set_state(cv1::CUSTOMER_STATE_MERGED);
  event.mutable_merged()->set_merged_into_customer_id(survivor.id);
  event.mutable_merged()->set_etag("2");
  ApplyCustomerEvent(event, kTenant, survivor.id);

  v1::Touchpoint t = Basic(merged.id, now - absl::Hours(1));
  t.add_contact_person_ids(merged.person_ids[0]);
  const v1::Touchpoint recorded = MustRecord(t);
  EXPECT_EQ(recorded.customer_id(), survivor.id);
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(fetched.customer_id(), survivor.id);
  EXPECT_THAT(fetched.contact_person_ids(), ElementsAre(merged.person_ids[0]));

  v1::Touchpoint moved;
  ASSERT_TRUE(Get(earlier.touchpoint_id(), &moved).ok());
  EXPECT_EQ(moved.customer_id(), survivor.id);
  EXPECT_THAT(ListIds(survivor.id), ElementsAre(recorded.touchpoint_id(), earlier.touchpoint_id()));
  EXPECT_THAT(ListIds(merged.id), IsEmpty());
}

TEST_F(TouchpointsServiceTest, MergeRemapsFoldedContactPersonsAndUnmergeMapsThemBack) {
  SeededCustomer survivor = SeedCustomer();
  const SeededCustomer merged = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::Touchpoint t = Basic(merged.id, now - absl::Hours(3));
  t.add_contact_person_ids(merged.person_ids[0]);
  t.add_contact_person_ids(merged.person_ids[1]);
  const std::string of_merged = MustRecord(t).touchpoint_id();
  t = Basic(survivor.id, now - absl::Hours(2));
  t.add_contact_person_ids(survivor.person_ids[0]);
  const std::string of_survivor = MustRecord(t).touchpoint_id();
  const auto persons_of = [&](const std::string& id) {
    v1::Touchpoint got;
    EXPECT_TRUE(Get(id, &got).ok());
    return std::vector<std::string>(got.contact_person_ids().begin(),
                                    got.contact_person_ids().end());
  };

  // The merged customer's first person is the survivor's first; its second joins the survivor.
  ev::CustomersMerged merge;
  merge.mutable_merge()->set_merge_id(ids::NewUuid());
  *merge.mutable_survivor() = survivor.customer;
  merge.mutable_survivor()->set_etag("2");
  merge.mutable_survivor()->add_contact_persons()->set_person_id(merged.person_ids[1]);
  *merge.mutable_merged() = merged.customer;
  merge.mutable_merged()->set_state(cv1::CUSTOMER_STATE_MERGED);
  merge.mutable_merged()->set_merged_into_customer_id(survivor.id);
  merge.mutable_merged()->set_etag("2");
  ev::FoldedPerson* folded = merge.add_folded_persons();
  folded->set_person_id(merged.person_ids[0]);
  folded->set_into_person_id(survivor.person_ids[0]);
  ApplyCustomerEvent(merge, kTenant, survivor.id);
  EXPECT_THAT(persons_of(of_merged), ElementsAre(survivor.person_ids[0], merged.person_ids[1]));
  EXPECT_THAT(persons_of(of_survivor), ElementsAre(survivor.person_ids[0]));
  // Recorded for the merged customer after the merge, naming its folded person: the same.
  t = Basic(merged.id, now - absl::Hours(1));
  t.add_contact_person_ids(merged.person_ids[0]);
  const v1::Touchpoint late = MustRecord(t);
  EXPECT_EQ(late.customer_id(), survivor.id);
  EXPECT_THAT(late.contact_person_ids(), ElementsAre(survivor.person_ids[0]));

  ev::CustomersUnmerged unmerge;
  *unmerge.mutable_merge() = merge.merge();
  *unmerge.mutable_survivor() = survivor.customer;
  unmerge.mutable_survivor()->set_etag("3");
  *unmerge.mutable_restored() = merged.customer;
  unmerge.mutable_restored()->set_etag("3");
  *unmerge.mutable_folded_persons() = merge.folded_persons();
  ApplyCustomerEvent(unmerge, kTenant, survivor.id);
  v1::Touchpoint back;
  ASSERT_TRUE(Get(of_merged, &back).ok());
  EXPECT_EQ(back.customer_id(), merged.id);
  EXPECT_THAT(persons_of(of_merged), ElementsAre(merged.person_ids[0], merged.person_ids[1]));
  EXPECT_THAT(persons_of(of_survivor), ElementsAre(survivor.person_ids[0]));
}

// --- 5. BatchRecord --------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, BatchRecordRefusesTheBadItemsAndRecordsTheRest) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::BatchRecordTouchpointsRequest request;
  for (int i = 0; i < 5; ++i) {
    *request.add_requests()->mutable_touchpoint() =
        Basic(customer.id, now - absl::Hours(i + 1), "批量 " + std::to_string(i));
  }
  request.mutable_requests(1)->mutable_touchpoint()->clear_category();
  request.mutable_requests(3)->mutable_touchpoint()->set_customer_id(ids::NewUuid());

  v1::BatchRecordTouchpointsResponse response;
  const grpc::Status status = BatchRecord(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT(response.results(), SizeIs(5));
  EXPECT_EQ(response.recorded_count(), 3);
  EXPECT_EQ(response.failed_count(), 2);
  std::vector<std::string> recorded;
  for (const int i : {0, 2, 4}) {
    const v1::BatchRecordResult& r = response.results(i);
    ASSERT_TRUE(r.has_touchpoint()) << i << ": " << r.DebugString();
    EXPECT_FALSE(r.replayed());
    EXPECT_EQ(r.touchpoint().subject(), "批量 " + std::to_string(i));
    EXPECT_EQ(r.touchpoint().etag(), "1");
    recorded.push_back(r.touchpoint().touchpoint_id());
  }
  ASSERT_TRUE(response.results(1).has_error());
  EXPECT_EQ(response.results(1).error().code(), 3);
  EXPECT_THAT(ViolationsOf(response.results(1).error()),
              ElementsAre(Pair("requests[1].touchpoint.category", ::testing::_)));
  ASSERT_TRUE(response.results(3).has_error());
  EXPECT_EQ(response.results(3).error().code(), 3);
  EXPECT_THAT(ViolationsOf(response.results(3).error()),
              ElementsAre(Pair("requests[3].touchpoint.customer_id", ::testing::_)));
  EXPECT_THAT(ListIds(customer.id), ElementsAreArray(recorded));  // Newest first = request order.
}

TEST_F(TouchpointsServiceTest, BatchRecordReplaysADuplicateRequestIdInsideTheBatch) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::BatchRecordTouchpointsRequest request;
  for (int i = 0; i < 3; ++i) {
    v1::RecordTouchpointRequest* r = request.add_requests();
    *r->mutable_touchpoint() = Basic(customer.id, now - absl::Hours(1), "重复");
    r->set_request_id(i < 2 ? "dup" : "other");
  }
  v1::BatchRecordTouchpointsResponse response;
  ASSERT_TRUE(BatchRecord(request, &response).ok());
  ASSERT_THAT(response.results(), SizeIs(3));
  ASSERT_TRUE(response.results(0).has_touchpoint());
  ASSERT_TRUE(response.results(1).has_touchpoint()) << response.results(1).DebugString();
  EXPECT_FALSE(response.results(0).replayed());
  EXPECT_TRUE(response.results(1).replayed());
  EXPECT_EQ(response.results(1).touchpoint().touchpoint_id(),
            response.results(0).touchpoint().touchpoint_id());
  EXPECT_FALSE(response.results(2).replayed());
  EXPECT_NE(response.results(2).touchpoint().touchpoint_id(),
            response.results(0).touchpoint().touchpoint_id());
  EXPECT_EQ(response.recorded_count(), 2);
  EXPECT_EQ(response.failed_count(), 0);
  EXPECT_EQ(CountRows("touchpoints"), 2);
}

TEST_F(TouchpointsServiceTest, BatchRecordNeedsOneToAThousandItems) {
  const SeededCustomer customer = SeedCustomer();
  v1::BatchRecordTouchpointsResponse response;
  grpc::Status status = BatchRecord({}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("requests"));

  v1::BatchRecordTouchpointsRequest request;
  const v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1));
  for (int i = 0; i < 1001; ++i) *request.add_requests()->mutable_touchpoint() = t;
  status = BatchRecord(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("requests"));
  EXPECT_EQ(CountRows("touchpoints"), 0);
}

// --- 6. Update ----------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, UpdateChangesTheMaskedFieldsOnly) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint recorded = MustRecord(Full(customer, NowMicros()));

  v1::Touchpoint patch;
  patch.set_touchpoint_id(recorded.touchpoint_id());
  patch.set_etag("1");
  patch.set_summary("已补偿运费，客户满意。");
  patch.set_outcome(v1::OUTCOME_WON);
  patch.set_subject("this must not be applied");
  v1::Touchpoint updated;
  const grpc::Status status = Update(patch, {"summary", "outcome"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.etag(), "2");
  EXPECT_EQ(updated.summary(), "已补偿运费，客户满意。");
  EXPECT_EQ(updated.outcome(), v1::OUTCOME_WON);
  EXPECT_GT(FromTs(updated.update_time()), FromTs(recorded.update_time()));

  v1::Touchpoint expected = recorded;
  expected.set_summary("已补偿运费，客户满意。");
  expected.set_outcome(v1::OUTCOME_WON);
  expected.set_etag("2");
  *expected.mutable_update_time() = updated.update_time();
  EXPECT_TRUE(MessageDifferencer::Equals(expected, updated))
      << expected.DebugString() << "\nvs\n"
      << updated.DebugString();
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(updated, fetched))
      << updated.DebugString() << "\nvs\n"
      << fetched.DebugString();

  // The old etag is stale now.
  patch.set_summary("第二次修改");
  EXPECT_EQ(Update(patch, {"summary"}, nullptr).error_code(), grpc::StatusCode::ABORTED);
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(fetched.summary(), "已补偿运费，客户满意。");
  EXPECT_EQ(fetched.etag(), "2");

  // Without an etag it applies to whatever is there.
  patch.clear_etag();
  ASSERT_TRUE(Update(patch, {"summary"}, &updated).ok());
  EXPECT_EQ(updated.etag(), "3");
  EXPECT_EQ(updated.summary(), "第二次修改");
}

TEST_F(TouchpointsServiceTest, UpperCaseIdsAreStoredInLowerCaseOnRecordAndUpdate) {
  const SeededCustomer customer = SeedCustomer();
  ASSERT_FALSE(customer.person_ids.empty());
  v1::Touchpoint t = Basic(absl::AsciiStrToUpper(customer.id), NowMicros() - absl::Hours(1));
  const v1::Touchpoint recorded = MustRecord(t);
  EXPECT_EQ(recorded.customer_id(), customer.id);

  v1::Touchpoint patch;
  patch.set_touchpoint_id(recorded.touchpoint_id());
  patch.add_contact_person_ids(absl::AsciiStrToUpper(customer.person_ids[0]));
  v1::Touchpoint updated;
  const grpc::Status status = Update(patch, {"contact_person_ids"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(updated.contact_person_ids_size(), 1);
  EXPECT_EQ(updated.contact_person_ids(0), customer.person_ids[0]);
}

TEST_F(TouchpointsServiceTest, UpdateRejectsUnknownAndImmutablePaths) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint recorded = MustRecord(Full(customer, NowMicros()));
  v1::Touchpoint patch;
  patch.set_touchpoint_id(recorded.touchpoint_id());
  patch.set_summary("x");
  patch.set_source_system("other");

  grpc::Status status = Update(patch, {"summary", "no_such_field"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("update_mask.paths[1]"));

  status = Update(patch, {"source_system", "summary"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("update_mask.paths[0]"));

  status = Update(patch, {"external_id"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("update_mask.paths[0]"));

  status = Update(patch, {"etag"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("update_mask.paths[0]"));

  // A bad new value names the touchpoint field.
  v1::Touchpoint bad;
  bad.set_touchpoint_id(recorded.touchpoint_id());
  bad.set_subject(Repeat("长", 257));
  status = Update(bad, {"subject"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.subject"));

  // The customer and its persons are checked as on record.
  const SeededCustomer other = SeedCustomer();
  v1::Touchpoint persons;
  persons.set_touchpoint_id(recorded.touchpoint_id());
  persons.add_contact_person_ids(other.person_ids[0]);
  status = Update(persons, {"contact_person_ids"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.contact_person_ids[0]"));
  v1::Touchpoint unknown_customer;
  unknown_customer.set_touchpoint_id(recorded.touchpoint_id());
  unknown_customer.set_customer_id(ids::NewUuid());
  status = Update(unknown_customer, {"customer_id", "contact_person_ids"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.customer_id"));

  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(recorded.touchpoint_id(), &fetched).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(recorded, fetched));

  v1::Touchpoint missing;
  missing.set_touchpoint_id(ids::NewUuid());
  missing.set_summary("x");
  EXPECT_EQ(Update(missing, {"summary"}, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TouchpointsServiceTest, UpdateOfOccurTimeMovesTheTouchpointInTheTimeline) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  const v1::Touchpoint x = MustRecord(Basic(customer.id, now - absl::Hours(1), "X"));
  const v1::Touchpoint y = MustRecord(Basic(customer.id, now - absl::Hours(3), "Y"));
  const v1::Touchpoint z = MustRecord(Basic(customer.id, now - absl::Hours(24 * 40), "Z"));
  ASSERT_THAT(ListIds(customer.id),
              ElementsAre(x.touchpoint_id(), y.touchpoint_id(), z.touchpoint_id()));

  // Into an older month (and partition).
  const absl::Time older = now - absl::Hours(24 * 70);
  v1::Touchpoint patch;
  patch.set_touchpoint_id(x.touchpoint_id());
  *patch.mutable_occur_time() = Ts(older);
  v1::Touchpoint updated;
  const grpc::Status status = Update(patch, {"occur_time"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(FromTs(updated.occur_time()), older);
  EXPECT_EQ(updated.etag(), "2");
  EXPECT_EQ(FromTs(updated.record_time()), FromTs(x.record_time()));

  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(x.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(FromTs(fetched.occur_time()), older);
  EXPECT_EQ(fetched.subject(), "X");
  EXPECT_THAT(ListIds(customer.id),
              ElementsAre(y.touchpoint_id(), z.touchpoint_id(), x.touchpoint_id()));
  EXPECT_EQ(CountRows("touchpoints"), 3);

  // Beyond every partition created so far (three years back): created on demand.
  const absl::Time much_older = now - absl::Hours(24 * 365 * 3);
  *patch.mutable_occur_time() = Ts(much_older);
  ASSERT_TRUE(Update(patch, {"occur_time"}, &updated).ok());
  ASSERT_TRUE(Get(x.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(FromTs(fetched.occur_time()), much_older);
  EXPECT_EQ(fetched.etag(), "3");
  EXPECT_THAT(ListIds(customer.id),
              ElementsAre(y.touchpoint_id(), z.touchpoint_id(), x.touchpoint_id()));
}

TEST_F(TouchpointsServiceTest, UpdateOfADeletedTouchpointIsFailedPrecondition) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint t = MustRecord(Basic(customer.id, NowMicros() - absl::Hours(1)));
  ASSERT_TRUE(Delete(t.touchpoint_id(), "", nullptr).ok());
  v1::Touchpoint patch;
  patch.set_touchpoint_id(t.touchpoint_id());
  patch.set_summary("改");
  EXPECT_EQ(Update(patch, {"summary"}, nullptr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(t.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(fetched.summary(), "");
  EXPECT_EQ(fetched.etag(), "2");
}

// --- 7. Delete ----------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, DeleteIsSoft) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint t = MustRecord(Full(customer, NowMicros()));
  const v1::Touchpoint kept = MustRecord(Basic(customer.id, NowMicros() - absl::Hours(5), "投诉回访"));

  EXPECT_EQ(Delete(t.touchpoint_id(), "7", nullptr).error_code(), grpc::StatusCode::ABORTED);

  const absl::Time before = NowMicros();
  v1::Touchpoint deleted;
  const grpc::Status status = Delete(t.touchpoint_id(), "1", &deleted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(deleted.state(), v1::TOUCHPOINT_STATE_DELETED);
  EXPECT_EQ(deleted.etag(), "2");
  ASSERT_TRUE(deleted.has_delete_time());
  EXPECT_GE(FromTs(deleted.delete_time()), before);
  EXPECT_EQ(FromTs(deleted.delete_time()), FromTs(deleted.update_time()));
  EXPECT_EQ(deleted.subject(), t.subject());

  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(t.touchpoint_id(), &fetched).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(deleted, fetched))
      << deleted.DebugString() << "\nvs\n"
      << fetched.DebugString();

  EXPECT_THAT(ListIds(customer.id), ElementsAre(kept.touchpoint_id()));
  EXPECT_THAT(SearchIds("投诉"), ElementsAre(kept.touchpoint_id()));
  EXPECT_THAT(SearchIds("物流"), IsEmpty());

  EXPECT_EQ(Delete(t.touchpoint_id(), "", nullptr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Delete(ids::NewUuid(), "", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete("not-a-uuid", "", nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// --- 8. List ----------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, ListIsNewestFirstWithTiesByIdAndPagesEachOnce) {
  const SeededCustomer customer = SeedCustomer();
  const SeededCustomer other = SeedCustomer();
  const absl::Time now = NowMicros();
  std::vector<std::pair<absl::Time, std::string>> expected;
  for (int i = 0; i < 10; ++i) {
    // Pairs of touchpoints share an occur_time.
    const absl::Time occur = now - absl::Hours(1 + i / 2);
    const v1::Touchpoint t = MustRecord(Basic(customer.id, occur, "第" + std::to_string(i) + "次"));
    expected.emplace_back(occur, t.touchpoint_id());
  }
  MustRecord(Basic(other.id, now - absl::Hours(2)));
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  });
  std::vector<std::string> expected_ids;
  for (const auto& [time, id] : expected) expected_ids.push_back(id);

  EXPECT_THAT(ListIds(customer.id), ElementsAreArray(expected_ids));

  // Pages of 3: 3 + 3 + 3 + 1.
  v1::ListTouchpointsRequest request;
  request.set_customer_id(customer.id);
  request.set_page_size(3);
  std::vector<std::string> paged;
  std::vector<int> sizes;
  for (int page = 0; page < 10; ++page) {
    v1::ListTouchpointsResponse response;
    ASSERT_TRUE(List(request, &response).ok());
    sizes.push_back(response.touchpoints_size());
    for (const std::string& id : IdsOf(response.touchpoints())) paged.push_back(id);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(paged, ElementsAreArray(expected_ids));
  EXPECT_EQ(sizes.front(), 3);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), 0), 10);
}

TEST_F(TouchpointsServiceTest, ListPagesAreStableWhileTouchpointsAreInserted) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  std::set<std::string> existing;
  for (int i = 0; i < 24; ++i) {
    existing.insert(
        MustRecord(Basic(customer.id, now - absl::Hours(2) - absl::Minutes(30 * i))).touchpoint_id());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> inserted{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      // Alternately newer than everything, older than everything and in between.
      absl::Time occur;
      switch (i % 3) {
        case 0: occur = now - absl::Minutes(30) + absl::Seconds(i); break;
        case 1: occur = now - absl::Hours(48) - absl::Seconds(i); break;
        default: occur = now - absl::Hours(2) - absl::Minutes(30 * (i % 24)) - absl::Seconds(7); break;
      }
      v1::RecordTouchpointResponse response;
      if (Record(Basic(customer.id, occur, "并发写入"), &response).ok()) ++inserted;
      absl::SleepFor(absl::Milliseconds(2));
    }
  });

  v1::ListTouchpointsRequest request;
  request.set_customer_id(customer.id);
  request.set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 1000; ++page) {
    v1::ListTouchpointsResponse response;
    const grpc::Status status = List(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const std::string& id : IdsOf(response.touchpoints())) seen.push_back(id);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop = true;
  writer.join();
  EXPECT_GT(inserted.load(), 3) << "the writer did not run while paging";

  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a touchpoint appeared twice";
  for (const std::string& id : existing) EXPECT_TRUE(unique.contains(id)) << id << " was skipped";
}

TEST_F(TouchpointsServiceTest, ListFiltersNarrow) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  auto make = [&](int hours_ago, v1::Channel channel, v1::Category category, v1::Outcome outcome,
                  v1::Sentiment sentiment, const std::string& tag, const std::string& participant) {
    v1::Touchpoint t = Basic(customer.id, now - absl::Hours(hours_ago));
    t.set_channel(channel);
    t.set_category(category);
    t.set_outcome(outcome);
    t.set_sentiment(sentiment);
    if (!tag.empty()) t.add_tags(tag);
    if (!participant.empty()) {
      v1::Participant* p = t.add_participants();
      p->set_user_id(participant);
      p->set_kind(v1::PARTICIPANT_KIND_EMPLOYEE);
    }
    return MustRecord(t).touchpoint_id();
  };
  const std::string a = make(1, v1::CHANNEL_PHONE, v1::CATEGORY_SALES, v1::OUTCOME_CONNECTED,
                             v1::SENTIMENT_POSITIVE, "展会", "u-1");
  const std::string b = make(2, v1::CHANNEL_EMAIL, v1::CATEGORY_MARKETING, v1::OUTCOME_NO_REPLY,
                             v1::SENTIMENT_NEUTRAL, "邮件营销", "u-2");
  const std::string c = make(3, v1::CHANNEL_WECOM, v1::CATEGORY_SERVICE, v1::OUTCOME_RESOLVED,
                             v1::SENTIMENT_NEGATIVE, "投诉", "u-1");
  const std::string d = make(4, v1::CHANNEL_PHONE, v1::CATEGORY_SERVICE, v1::OUTCOME_NO_ANSWER,
                             v1::SENTIMENT_UNSPECIFIED, "", "");
  ASSERT_THAT(ListIds(customer.id), ElementsAre(a, b, c, d));

  v1::TouchpointFilter f;
  f.add_channels(v1::CHANNEL_PHONE);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(a, d));
  f.add_channels(v1::CHANNEL_WECOM);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(a, c, d));

  f.Clear();
  f.add_categories(v1::CATEGORY_SERVICE);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(c, d));
  f.add_channels(v1::CHANNEL_PHONE);  // Filters combine.
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(d));

  f.Clear();
  f.add_outcomes(v1::OUTCOME_NO_REPLY);
  f.add_outcomes(v1::OUTCOME_NO_ANSWER);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(b, d));

  f.Clear();
  f.add_sentiments(v1::SENTIMENT_NEGATIVE);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(c));

  f.Clear();
  f.set_tag("投诉");
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(c));
  f.set_tag("没有");
  EXPECT_THAT(ListIds(customer.id, f), IsEmpty());

  f.Clear();
  f.set_participant_id("u-1");
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(a, c));

  f.Clear();
  *f.mutable_occur_time_start() = Ts(now - absl::Hours(3));  // Inclusive.
  *f.mutable_occur_time_end() = Ts(now - absl::Hours(1));    // Exclusive.
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(b, c));
  f.clear_occur_time_end();
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(a, b, c));
  f.clear_occur_time_start();
  *f.mutable_occur_time_end() = Ts(now - absl::Hours(2));
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(c, d));
}

TEST_F(TouchpointsServiceTest, OnlineMeetingsAreToldFromMeetingsInPerson) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::Touchpoint t = Basic(customer.id, now - absl::Hours(1), "线上演示");
  t.set_channel(v1::CHANNEL_ONLINE_MEETING);
  const std::string online = MustRecord(t).touchpoint_id();
  t = Basic(customer.id, now - absl::Hours(2), "上门拜访前的会议");
  t.set_channel(v1::CHANNEL_MEETING);
  const std::string in_person = MustRecord(t).touchpoint_id();
  v1::Touchpoint got;
  ASSERT_TRUE(Get(online, &got).ok());
  EXPECT_EQ(got.channel(), v1::CHANNEL_ONLINE_MEETING);

  v1::TouchpointFilter f;
  f.add_channels(v1::CHANNEL_ONLINE_MEETING);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(online));
  f.set_channels(0, v1::CHANNEL_MEETING);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(in_person));

  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(now - absl::Hours(24));
  *request.mutable_end_time() = Ts(now + absl::Hours(1));
  v1::GetTouchpointStatsResponse stats;
  ASSERT_TRUE(Stats(request, &stats).ok());
  std::vector<std::pair<v1::Channel, int64_t>> by_channel;
  for (const auto& c : stats.by_channel()) by_channel.emplace_back(c.channel(), c.count());
  EXPECT_THAT(by_channel, UnorderedElementsAre(Pair(v1::CHANNEL_ONLINE_MEETING, 1),
                                               Pair(v1::CHANNEL_MEETING, 1)));

  // The next number is not a channel (yet).
  t.set_channel(static_cast<v1::Channel>(v1::CHANNEL_ONLINE_MEETING + 1));
  const grpc::Status status = Record(t, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("touchpoint.channel"));
}

TEST_F(TouchpointsServiceTest, ListRejectsForeignTokensAndHugePages) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  for (int i = 0; i < 3; ++i) MustRecord(Basic(customer.id, now - absl::Hours(i + 1)));
  v1::ListTouchpointsRequest request;
  request.set_customer_id(customer.id);
  request.set_page_size(1);
  v1::ListTouchpointsResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());

  v1::ListTouchpointsRequest other = request;
  other.set_page_token(response.next_page_token());
  other.mutable_filter()->add_channels(v1::CHANNEL_EMAIL);
  grpc::Status status = List(other, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("page_token"));

  other = request;
  other.set_page_token(response.next_page_token());
  other.set_customer_id(SeedCustomer().id);
  status = List(other, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("page_token"));

  other = request;
  other.set_page_token("garbage");
  EXPECT_EQ(List(other, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  other = request;
  other.set_page_size(1001);
  status = List(other, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("page_size"));
  other.set_page_size(1000);
  v1::ListTouchpointsResponse all;
  ASSERT_TRUE(List(other, &all).ok());
  EXPECT_THAT(all.touchpoints(), SizeIs(3));
  EXPECT_TRUE(all.next_page_token().empty());
}

TEST_F(TouchpointsServiceTest, TenantsNeverSeeEachOther) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint t = MustRecord(Basic(customer.id, NowMicros() - absl::Hours(1), "投诉"));
  v1::ListTouchpointsRequest request;
  request.set_customer_id(customer.id);
  v1::ListTouchpointsResponse response;
  EXPECT_EQ(List(request, &response, "tenant-b").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(t.touchpoint_id(), nullptr, "tenant-b").error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    SetTenant(context, "tenant-b");
    v1::SearchTouchpointsRequest search;
    search.set_query("投诉");
    v1::SearchTouchpointsResponse hits;
    ASSERT_TRUE(stub_->SearchTouchpoints(&context, search, &hits).ok());
    EXPECT_THAT(hits.hits(), IsEmpty());
  }
  {
    grpc::ClientContext context;
    SetTenant(context, "tenant-b");
    v1::DeleteTouchpointRequest del;
    del.set_touchpoint_id(t.touchpoint_id());
    v1::DeleteTouchpointResponse deleted;
    EXPECT_EQ(stub_->DeleteTouchpoint(&context, del, &deleted).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  v1::Touchpoint fetched;
  ASSERT_TRUE(Get(t.touchpoint_id(), &fetched).ok());
  EXPECT_EQ(fetched.state(), v1::TOUCHPOINT_STATE_ACTIVE);
}

// --- 9. Search --------------------------------------------------------------------------------

class SearchTest : public TouchpointsServiceTest {
 protected:
  void SetUp() override {
    TouchpointsServiceTest::SetUp();
    if (HasFatalFailure()) return;
    c1_ = SeedCustomer();
    c2_ = SeedCustomer();
    now_ = NowMicros();
    auto make = [&](const SeededCustomer& c, int hours_ago, const std::string& subject,
                    const std::string& summary, const std::string& content,
                    v1::Channel channel = v1::CHANNEL_PHONE) {
      v1::Touchpoint t = Basic(c.id, now_ - absl::Hours(hours_ago), subject);
      t.set_summary(summary);
      t.set_content(content);
      t.set_channel(channel);
      return MustRecord(t).touchpoint_id();
    };
    t1_ = make(c1_, 5, "客户投诉物流延迟", "客户反映订单晚到三天", "");
    t2_ = make(c1_, 4, "报价沟通", "【异议】价格太高", "Customer asked about pricing for 2025.",
               v1::CHANNEL_EMAIL);
    t3_ = make(c1_, 3, "Pricing review", "", "nothing else");
    t4_ = make(c1_, 2, "回访", "", "上次的投诉已经处理完毕");
    t5_ = make(c1_, 1, "客户投诉", "", "客户投诉物流");
    t6_ = make(c1_, 6, "售后", "", "客户的投诉很多");
    t7_ = make(c2_, 1, "另一个客户的投诉", "", "");
    const grpc::Status deleted = Delete(t5_, "", nullptr);
    ASSERT_TRUE(deleted.ok()) << deleted.error_message();
  }

  SeededCustomer c1_, c2_;
  absl::Time now_;
  std::string t1_, t2_, t3_, t4_, t5_, t6_, t7_;
};

TEST_F(SearchTest, FindsChineseWordsAndEnglishWordsCaseInsensitively) {
  EXPECT_THAT(SearchIds("投诉", c1_.id), UnorderedElementsAre(t1_, t4_, t6_));
  EXPECT_THAT(SearchIds("投诉"), UnorderedElementsAre(t1_, t4_, t6_, t7_));
  EXPECT_THAT(SearchIds("异议"), ElementsAre(t2_));
  EXPECT_THAT(SearchIds("Pricing"), UnorderedElementsAre(t2_, t3_));
  EXPECT_THAT(SearchIds("PRICING review"), ElementsAre(t3_));
  EXPECT_THAT(SearchIds("price"), IsEmpty());
  // A phrase only where it occurs as written.
  EXPECT_THAT(SearchIds("客户投诉"), ElementsAre(t1_));
  EXPECT_THAT(SearchIds("物流延迟"), ElementsAre(t1_));
  EXPECT_THAT(SearchIds("投诉物流"), ElementsAre(t1_));  // t5 (deleted) has it too.
  EXPECT_THAT(SearchIds("延迟物流"), IsEmpty());
}

TEST_F(SearchTest, RespectsFilters) {
  v1::SearchTouchpointsRequest request;
  request.set_query("pricing");
  request.mutable_filter()->add_channels(v1::CHANNEL_EMAIL);
  EXPECT_THAT(SearchIds(request), ElementsAre(t2_));
  request.mutable_filter()->Clear();
  *request.mutable_filter()->mutable_occur_time_start() = Ts(now_ - absl::Hours(3));
  EXPECT_THAT(SearchIds(request), ElementsAre(t3_));
  request.set_query("投诉");
  request.mutable_filter()->Clear();
  request.set_customer_id(c2_.id);
  EXPECT_THAT(SearchIds(request), ElementsAre(t7_));
}

TEST_F(SearchTest, RelevanceRanksSubjectMatchesFirstAndTimeOrderIsNewestFirst) {
  v1::SearchTouchpointsRequest request;
  request.set_query("投诉");
  request.set_customer_id(c1_.id);
  request.set_order(v1::SEARCH_ORDER_RELEVANCE);
  v1::SearchTouchpointsResponse response;
  ASSERT_TRUE(Search(request, &response).ok());
  ASSERT_THAT(response.hits(), SizeIs(3));
  EXPECT_EQ(response.hits(0).touchpoint().touchpoint_id(), t1_);  // Subject beats content.
  EXPECT_GT(response.hits(0).score(), response.hits(1).score());
  EXPECT_GE(response.hits(1).score(), response.hits(2).score());
  EXPECT_GT(response.hits(2).score(), 0);

  request.set_order(v1::SEARCH_ORDER_OCCUR_TIME_DESC);
  ASSERT_TRUE(Search(request, &response).ok());
  std::vector<std::string> ids;
  for (const auto& hit : response.hits()) {
    ids.push_back(hit.touchpoint().touchpoint_id());
    EXPECT_EQ(hit.score(), 0);
  }
  EXPECT_THAT(ids, ElementsAre(t4_, t1_, t6_));  // 2, 5 and 6 hours ago.
}

TEST_F(SearchTest, PagesInBothOrders) {
  for (const v1::SearchOrder order :
       {v1::SEARCH_ORDER_RELEVANCE, v1::SEARCH_ORDER_OCCUR_TIME_DESC}) {
    v1::SearchTouchpointsRequest request;
    request.set_query("投诉");
    request.set_order(order);
    const std::vector<std::string> whole = SearchIds(request);
    ASSERT_THAT(whole, SizeIs(4)) << order;
    request.set_page_size(1);
    const std::vector<std::string> paged = SearchAllIds(request);
    EXPECT_THAT(paged, ElementsAreArray(whole)) << order;
    request.set_page_size(3);
    EXPECT_THAT(SearchAllIds(request), ElementsAreArray(whole)) << order;

    // A token is bound to its query.
    request.set_page_size(1);
    v1::SearchTouchpointsResponse first;
    ASSERT_TRUE(Search(request, &first).ok());
    ASSERT_FALSE(first.next_page_token().empty());
    v1::SearchTouchpointsRequest other = request;
    other.set_query("异议");
    other.set_page_token(first.next_page_token());
    const grpc::Status status = Search(other, nullptr);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(FieldsOf(status), ElementsAre("page_token"));
  }
}

TEST_F(SearchTest, SnippetsHighlightChineseMatchesInCodePoints) {
  v1::SearchTouchpointsRequest request;
  request.set_query("投诉");
  request.set_customer_id(c1_.id);
  v1::SearchTouchpointsResponse response;
  ASSERT_TRUE(Search(request, &response).ok());
  ASSERT_THAT(response.hits(), SizeIs(3));
  const v1::SearchHit& hit = response.hits(0);
  ASSERT_EQ(hit.touchpoint().touchpoint_id(), t1_);
  ASSERT_THAT(hit.snippets(), SizeIs(1));
  EXPECT_EQ(hit.snippets(0).field(), "subject");
  EXPECT_EQ(hit.snippets(0).text(), "客户投诉物流延迟");
  ASSERT_THAT(hit.snippets(0).highlights(), SizeIs(1));
  EXPECT_EQ(hit.snippets(0).highlights(0).start(), 2);
  EXPECT_EQ(hit.snippets(0).highlights(0).end(), 4);
  EXPECT_EQ(hit.touchpoint().subject(), "客户投诉物流延迟");

  request.set_query("异议");
  request.set_customer_id("");
  ASSERT_TRUE(Search(request, &response).ok());
  ASSERT_THAT(response.hits(), SizeIs(1));
  ASSERT_THAT(response.hits(0).snippets(), SizeIs(1));
  const v1::Snippet& s = response.hits(0).snippets(0);
  EXPECT_EQ(s.field(), "summary");
  EXPECT_EQ(s.text(), "【异议】价格太高");
  ASSERT_THAT(s.highlights(), SizeIs(1));
  EXPECT_EQ(s.highlights(0).start(), 1);
  EXPECT_EQ(s.highlights(0).end(), 3);

  request.set_query("pricing");
  ASSERT_TRUE(Search(request, &response).ok());
  int found = 0;
  for (const v1::SearchHit& h : response.hits()) {
    if (h.touchpoint().touchpoint_id() != t3_) continue;
    ++found;
    ASSERT_THAT(h.snippets(), SizeIs(1));
    EXPECT_EQ(h.snippets(0).field(), "subject");
    EXPECT_EQ(h.snippets(0).text(), "Pricing review");
    ASSERT_THAT(h.snippets(0).highlights(), SizeIs(1));
    EXPECT_EQ(h.snippets(0).highlights(0).start(), 0);
    EXPECT_EQ(h.snippets(0).highlights(0).end(), 7);
  }
  EXPECT_EQ(found, 1);
}

TEST_F(SearchTest, EmptyOrPunctuationOnlyQueryIsInvalidArgument) {
  for (const std::string query : {"", "   ", "，。！【】", "..."}) {
    v1::SearchTouchpointsRequest request;
    request.set_query(query);
    const grpc::Status status = Search(request, nullptr);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << query;
    EXPECT_THAT(FieldsOf(status), ElementsAre("query")) << query;
  }
}

TEST_F(TouchpointsServiceTest, ObjectionsAreSearchedAndFiltered) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  v1::Touchpoint objected = Basic(customer.id, now - absl::Hours(1), "报价沟通");
  objected.add_needs("希望分期付款");
  objected.add_concerns("交付周期太长");
  objected.add_interests("Annual maintenance contract");
  const std::string with_concerns = MustRecord(objected).touchpoint_id();
  v1::Touchpoint needs_only = Basic(customer.id, now - absl::Hours(2), "需求调研");
  needs_only.add_needs("交付周期要短");
  const std::string without_concerns = MustRecord(needs_only).touchpoint_id();

  // Each list is searched, an item at a time, with a snippet naming it.
  EXPECT_THAT(SearchIds("交付周期太长"), ElementsAre(with_concerns));
  EXPECT_THAT(SearchIds("交付周期"), UnorderedElementsAre(with_concerns, without_concerns));
  EXPECT_THAT(SearchIds("分期付款"), ElementsAre(with_concerns));
  EXPECT_THAT(SearchIds("maintenance"), ElementsAre(with_concerns));
  EXPECT_THAT(SearchIds("太长 分期"), ElementsAre(with_concerns));
  v1::SearchTouchpointsRequest search;
  search.set_query("太长");
  v1::SearchTouchpointsResponse found;
  ASSERT_TRUE(Search(search, &found).ok());
  ASSERT_THAT(found.hits(), SizeIs(1));
  ASSERT_THAT(found.hits(0).snippets(), SizeIs(1));
  EXPECT_EQ(found.hits(0).snippets(0).field(), "concerns[0]");
  EXPECT_EQ(found.hits(0).snippets(0).text(), "交付周期太长");

  // has_concerns selects the touchpoints with objections, in the timeline, search and stats.
  v1::TouchpointFilter f;
  f.set_has_concerns(true);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(with_concerns));
  search.set_query("交付周期");
  *search.mutable_filter() = f;
  EXPECT_THAT(SearchIds(search), ElementsAre(with_concerns));
  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(now - absl::Hours(24));
  *request.mutable_end_time() = Ts(now);
  *request.mutable_filter() = f;
  v1::GetTouchpointStatsResponse stats;
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.total_count(), 1);

  // Taking the concerns away takes the touchpoint out of the filter.
  v1::Touchpoint patch;
  patch.set_touchpoint_id(with_concerns);
  ASSERT_TRUE(Update(patch, {"concerns"}, nullptr).ok());
  EXPECT_THAT(ListIds(customer.id, f), IsEmpty());
  EXPECT_THAT(SearchIds("交付周期太长"), IsEmpty());
}

TEST_F(TouchpointsServiceTest, RowsFromBeforeListsWereIndexedAreIndexedInTheBackground) {
  const SeededCustomer customer = SeedCustomer();
  v1::Touchpoint t = Basic(customer.id, NowMicros() - absl::Hours(1), "回访");
  t.add_concerns("价格太高");
  const std::string id = MustRecord(t).touchpoint_id();
  // As migration 0003 found it: the vector of subject, summary and content only.
  ASSERT_TRUE(pool_
                  ->Transact([&](pqxx::work& txn) {
                    txn.exec_params(
                        "UPDATE touchpoints SET search = $1::tsvector, lists_indexed = false",
                        BuildSearchVector(t.subject(), t.summary(), t.content()));
                    return absl::OkStatus();
                  })
                  .ok());
  v1::TouchpointFilter f;
  f.set_has_concerns(true);
  ASSERT_THAT(ListIds(customer.id, f), IsEmpty());

  const absl::StatusOr<int64_t> indexed =
      store_->IndexListsOfOlderRows(100, [] { return false; });
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(*indexed, 1);
  EXPECT_THAT(ListIds(customer.id, f), ElementsAre(id));
  EXPECT_THAT(SearchIds("价格太高"), ElementsAre(id));
  EXPECT_EQ(*store_->IndexListsOfOlderRows(100, [] { return false; }), 0);
}

// --- 10. Stats --------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, StatsOverAKnownWeek) {
  const SeededCustomer c1 = SeedCustomer();
  const SeededCustomer c2 = SeedCustomer();
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  // Monday 00:00 in Shanghai, three to four weeks ago.
  absl::CivilDay day = absl::ToCivilDay(absl::Now() - absl::Hours(24 * 21), shanghai);
  while (absl::GetWeekday(day) != absl::Weekday::monday) --day;
  const absl::Time monday = absl::FromCivil(day, shanghai);
  auto at = [&](int day_offset, int hour, int minute) {
    return monday + absl::Hours(24 * day_offset + hour) + absl::Minutes(minute);
  };
  struct Spec {
    const SeededCustomer* customer;
    absl::Time occur;
    v1::Channel channel;
    v1::Category category;
    v1::Outcome outcome;
    std::string subject;
    bool next_action;
    absl::Duration delay;
  };
  const std::vector<Spec> specs = {
      // Monday 07:xx in Shanghai is Sunday 23:xx in UTC.
      {&c1, at(0, 7, 15), v1::CHANNEL_PHONE, v1::CATEGORY_SALES, v1::OUTCOME_CONNECTED, "a", true,
       absl::Seconds(60)},
      {&c1, at(0, 7, 45), v1::CHANNEL_PHONE, v1::CATEGORY_SALES, v1::OUTCOME_CONNECTED, "", false,
       absl::Seconds(120)},
      {&c1, at(1, 14, 5), v1::CHANNEL_EMAIL, v1::CATEGORY_MARKETING, v1::OUTCOME_REPLIED, "c",
       true, absl::Seconds(180)},
      {&c2, at(2, 20, 30), v1::CHANNEL_MEETING, v1::CATEGORY_SALES, v1::OUTCOME_NO_ANSWER, "d",
       false, absl::Seconds(300)},
      {&c2, at(6, 23, 10), v1::CHANNEL_PHONE, v1::CATEGORY_SERVICE, v1::OUTCOME_RESOLVED, "",
       true, absl::Seconds(600)},
      {&c1, at(6, 23, 50), v1::CHANNEL_WECOM, v1::CATEGORY_SERVICE, v1::OUTCOME_UNSPECIFIED, "f",
       false, absl::Hours(1)},
  };
  for (const Spec& s : specs) {
    v1::Touchpoint t = Basic(s.customer->id, s.occur, s.subject);
    *t.mutable_record_time() = Ts(s.occur + s.delay);
    t.set_channel(s.channel);
    t.set_category(s.category);
    t.set_outcome(s.outcome);
    if (s.next_action) t.mutable_next_action()->set_description("回访");
    MustRecord(t);
  }
  // Left out: deleted, and outside the range (a minute before and at its end).
  v1::Touchpoint deleted = Basic(c1.id, at(0, 8, 0), "deleted");
  deleted.set_outcome(v1::OUTCOME_CONNECTED);
  ASSERT_TRUE(Delete(MustRecord(deleted).touchpoint_id(), "", nullptr).ok());
  v1::Touchpoint before = Basic(c1.id, monday - absl::Minutes(1), "before");
  before.set_outcome(v1::OUTCOME_CONNECTED);
  MustRecord(before);
  v1::Touchpoint at_end = Basic(c1.id, monday + absl::Hours(24 * 7), "end");
  at_end.set_outcome(v1::OUTCOME_CONNECTED);
  MustRecord(at_end);

  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(monday);
  *request.mutable_end_time() = Ts(monday + absl::Hours(24 * 7));
  v1::GetTouchpointStatsResponse stats;
  const grpc::Status status = Stats(request, &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(stats.total_count(), 6);
  EXPECT_EQ(stats.customer_count(), 2);
  std::map<int, int64_t> channels, outcomes;
  for (const auto& c : stats.by_channel()) channels[c.channel()] = c.count();
  for (const auto& o : stats.by_outcome()) outcomes[o.outcome()] = o.count();
  EXPECT_THAT(channels, UnorderedElementsAre(Pair(v1::CHANNEL_PHONE, 3), Pair(v1::CHANNEL_EMAIL, 1),
                                             Pair(v1::CHANNEL_MEETING, 1),
                                             Pair(v1::CHANNEL_WECOM, 1)));
  ASSERT_THAT(stats.by_channel(), SizeIs(4));
  EXPECT_EQ(stats.by_channel(0).channel(), v1::CHANNEL_PHONE);  // Largest first.
  EXPECT_THAT(outcomes,
              UnorderedElementsAre(Pair(v1::OUTCOME_CONNECTED, 2), Pair(v1::OUTCOME_REPLIED, 1),
                                   Pair(v1::OUTCOME_NO_ANSWER, 1), Pair(v1::OUTCOME_RESOLVED, 1),
                                   Pair(v1::OUTCOME_UNSPECIFIED, 1)));
  ASSERT_THAT(stats.by_outcome(), SizeIs(5));
  EXPECT_EQ(stats.by_outcome(0).outcome(), v1::OUTCOME_CONNECTED);
  ASSERT_THAT(stats.by_category(), SizeIs(3));
  EXPECT_EQ(stats.by_category(0).category(), v1::CATEGORY_SALES);
  EXPECT_EQ(stats.by_category(0).count(), 3);
  EXPECT_EQ(stats.by_category(1).category(), v1::CATEGORY_SERVICE);
  EXPECT_EQ(stats.by_category(1).count(), 2);
  EXPECT_EQ(stats.by_category(2).category(), v1::CATEGORY_MARKETING);
  EXPECT_EQ(stats.by_category(2).count(), 1);

  std::vector<std::tuple<int, int, int64_t>> cells;
  for (const auto& c : stats.heat_map()) cells.emplace_back(c.day_of_week(), c.hour(), c.count());
  EXPECT_THAT(cells, UnorderedElementsAre(std::tuple(1, 7, 2), std::tuple(2, 14, 1),
                                          std::tuple(7, 23, 1)));

  std::map<std::string, std::pair<int64_t, double>> completeness;
  for (const auto& c : stats.completeness()) completeness[c.field()] = {c.filled(), c.ratio()};
  EXPECT_THAT(completeness,
              UnorderedElementsAre(Pair("subject", Pair(4, 4.0 / 6)),
                                   Pair("summary", Pair(0, 0.0)),
                                   Pair("outcome", Pair(5, 5.0 / 6)),
                                   Pair("sentiment", Pair(0, 0.0)),
                                   Pair("next_action", Pair(3, 0.5)),
                                   Pair("contact_person_ids", Pair(0, 0.0)),
                                   Pair("participants", Pair(0, 0.0)),
                                   Pair("duration", Pair(0, 0.0))));
  // Delays 1, 2, 3, 5, 10, 60 minutes: the median is (3 + 5) / 2 = 4 minutes.
  EXPECT_EQ(stats.median_entry_delay().seconds(), 240);
  EXPECT_EQ(stats.median_entry_delay().nanos(), 0);

  // The same week in UTC: Monday 07:xx in Shanghai is Sunday 23:xx.
  request.set_time_zone("UTC");
  ASSERT_TRUE(Stats(request, &stats).ok());
  cells.clear();
  for (const auto& c : stats.heat_map()) cells.emplace_back(c.day_of_week(), c.hour(), c.count());
  EXPECT_THAT(cells, UnorderedElementsAre(std::tuple(7, 23, 2), std::tuple(2, 6, 1),
                                          std::tuple(7, 15, 1)));

  // One customer, one filter.
  request.clear_time_zone();
  request.set_customer_id(c1.id);
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.total_count(), 4);
  EXPECT_EQ(stats.customer_count(), 1);
  request.clear_customer_id();
  request.mutable_filter()->add_channels(v1::CHANNEL_PHONE);
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.total_count(), 3);
  // The filter's own time range is ignored.
  *request.mutable_filter()->mutable_occur_time_start() = Ts(monday + absl::Hours(24 * 5));
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.total_count(), 3);
}

TEST_F(TouchpointsServiceTest, StatsRejectsBadRangesAndTimeZones) {
  const absl::Time now = NowMicros();
  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(now);
  *request.mutable_end_time() = Ts(now - absl::Hours(1));
  v1::GetTouchpointStatsResponse stats;
  grpc::Status status = Stats(request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("end_time"));

  *request.mutable_end_time() = Ts(now + absl::Hours(24 * 367));
  status = Stats(request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("end_time"));

  *request.mutable_end_time() = Ts(now + absl::Hours(1));
  request.set_time_zone("Mars/Olympus_Mons");
  status = Stats(request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("time_zone"));

  request.clear_start_time();
  request.clear_time_zone();
  status = Stats(request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("start_time"));

  // An empty range is fine: zeros.
  *request.mutable_start_time() = Ts(now - absl::Hours(1));
  ASSERT_TRUE(Stats(request, &stats).ok());
  EXPECT_EQ(stats.total_count(), 0);
  EXPECT_EQ(stats.customer_count(), 0);
  EXPECT_THAT(stats.by_channel(), IsEmpty());
  EXPECT_EQ(stats.median_entry_delay().seconds(), 0);
  ASSERT_THAT(stats.completeness(), SizeIs(8));
  EXPECT_EQ(stats.completeness(0).ratio(), 0);
}

TEST_F(TouchpointsServiceTest, StatsTimeZoneIsAnIanaNameNotAFile) {
  const absl::Time now = NowMicros();
  v1::GetTouchpointStatsRequest request;
  *request.mutable_start_time() = Ts(now - absl::Hours(1));
  *request.mutable_end_time() = Ts(now);
  v1::GetTouchpointStatsResponse stats;
  // Abseil reads each of these from disk; PostgreSQL knows none of them as a zone.
  for (const char* zone : {"file:/etc/localtime", "/etc/localtime", "/usr/share/zoneinfo/UTC",
                           "../zoneinfo/UTC", "Asia/../UTC", "localtime", "posixrules",
                           "Asia//Shanghai", "Asia/Shanghai/"}) {
    request.set_time_zone(zone);
    const grpc::Status status = Stats(request, &stats);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << zone;
    EXPECT_THAT(FieldsOf(status), ElementsAre("time_zone")) << zone;
  }
  for (const char* zone : {"Asia/Shanghai", "UTC", "Etc/GMT+8", "America/Argentina/Buenos_Aires",
                           "America/Port-au-Prince", "EST5EDT"}) {
    request.set_time_zone(zone);
    const grpc::Status status = Stats(request, &stats);
    EXPECT_TRUE(status.ok()) << zone << ": " << status.error_message();
  }
}

// --- 11. Change feed --------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, ChangeFeedReturnsEveryChangeInCommitOrder) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  const v1::Touchpoint a = MustRecord(Basic(customer.id, now - absl::Hours(1), "A"));
  const v1::Touchpoint b = MustRecord(Basic(customer.id, now - absl::Hours(2), "B"));
  const v1::Touchpoint c = MustRecord(Basic(customer.id, now - absl::Hours(3), "C"));
  v1::Touchpoint patch;
  patch.set_touchpoint_id(a.touchpoint_id());
  patch.set_summary("改过了");
  v1::Touchpoint a2;
  ASSERT_TRUE(Update(patch, {"summary"}, &a2).ok());
  v1::Touchpoint b_deleted;
  ASSERT_TRUE(Delete(b.touchpoint_id(), "", &b_deleted).ok());

  // Changes show once every older transaction has ended (other tests share the server).
  v1::ListTouchpointChangesRequest request;
  v1::ListTouchpointChangesResponse response;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  do {
    response.Clear();
    const grpc::Status status = Changes(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (response.touchpoints_size() >= 3) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_THAT(IdsOf(response.touchpoints()),
              ElementsAre(c.touchpoint_id(), a.touchpoint_id(), b.touchpoint_id()));
  EXPECT_TRUE(response.caught_up());
  EXPECT_FALSE(response.next_cursor().empty());
  EXPECT_TRUE(MessageDifferencer::Equals(response.touchpoints(0), c));
  EXPECT_TRUE(MessageDifferencer::Equals(response.touchpoints(1), a2))
      << response.touchpoints(1).DebugString() << "\nvs\n"
      << a2.DebugString();
  EXPECT_EQ(response.touchpoints(1).summary(), "改过了");
  EXPECT_EQ(response.touchpoints(1).etag(), "2");
  EXPECT_EQ(response.touchpoints(2).state(), v1::TOUCHPOINT_STATE_DELETED);
  EXPECT_TRUE(MessageDifferencer::Equals(response.touchpoints(2), b_deleted));

  // Nothing new.
  request.set_cursor(response.next_cursor());
  v1::ListTouchpointChangesResponse again;
  ASSERT_TRUE(Changes(request, &again).ok());
  EXPECT_THAT(again.touchpoints(), IsEmpty());
  EXPECT_TRUE(again.caught_up());
  ASSERT_FALSE(again.next_cursor().empty());

  // A new change shows up on the next call.
  const v1::Touchpoint d = MustRecord(Basic(customer.id, now - absl::Hours(4), "D"));
  request.set_cursor(again.next_cursor());
  v1::ListTouchpointChangesResponse later;
  const absl::Time later_deadline = absl::Now() + absl::Seconds(30);
  do {
    later.Clear();
    ASSERT_TRUE(Changes(request, &later).ok());
    if (later.touchpoints_size() > 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < later_deadline);
  EXPECT_THAT(IdsOf(later.touchpoints()), ElementsAre(d.touchpoint_id()));
  EXPECT_TRUE(later.caught_up());

  // One at a time.
  v1::ListTouchpointChangesRequest paged;
  paged.set_page_size(1);
  std::vector<std::string> ids;
  std::vector<bool> caught_up;
  for (int i = 0; i < 10; ++i) {
    v1::ListTouchpointChangesResponse page;
    ASSERT_TRUE(Changes(paged, &page).ok());
    EXPECT_LE(page.touchpoints_size(), 1);
    for (const std::string& id : IdsOf(page.touchpoints())) ids.push_back(id);
    caught_up.push_back(page.caught_up());
    paged.set_cursor(page.next_cursor());
    if (page.touchpoints().empty()) break;
  }
  EXPECT_THAT(ids, ElementsAre(c.touchpoint_id(), a.touchpoint_id(), b.touchpoint_id(),
                               d.touchpoint_id()));
  EXPECT_THAT(caught_up, ElementsAre(false, false, false, true, true));

  // By customer: a cursor is bound to it.
  v1::ListTouchpointChangesRequest by_customer;
  by_customer.set_customer_id(SeedCustomer().id);
  v1::ListTouchpointChangesResponse none;
  ASSERT_TRUE(Changes(by_customer, &none).ok());
  EXPECT_THAT(none.touchpoints(), IsEmpty());
  by_customer.set_cursor(again.next_cursor());
  grpc::Status status = Changes(by_customer, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("cursor"));
  by_customer.set_customer_id(customer.id);
  by_customer.clear_cursor();
  v1::ListTouchpointChangesResponse mine;
  ASSERT_TRUE(Changes(by_customer, &mine).ok());
  EXPECT_THAT(IdsOf(mine.touchpoints()), ElementsAre(c.touchpoint_id(), a.touchpoint_id(),
                                                     b.touchpoint_id(), d.touchpoint_id()));
}

// The feed's order is the transactions' numbers, not their text: transactions 999 and 1000
// (what a fresh cluster's xid counter passes while a test suite records) come as 999, 1000,
// and a cursor after 1000 has passed 999 too. Ordered as text ("1000" < "999"), 1000 came
// first and the cursor then passed over 999 for good: the CI failure of the authorisation
// matrix, whose first touchpoints (three-digit xids) never came while the later ones did.
TEST_F(TouchpointsServiceTest, ChangeFeedOrdersTransactionsAsNumbersNotAsText) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  std::vector<std::string> recorded;
  for (const char* subject : {"A", "B", "C", "D"}) {
    recorded.push_back(MustRecord(Basic(customer.id, now - absl::Hours(1), subject)).touchpoint_id());
  }
  // As if written by transactions 98, 99, 100 and 1000: numbers of every length below any
  // transaction still running, so the feed's end does not hold them back.
  const std::vector<std::string> xids = {"98", "99", "100", "1000"};
  ASSERT_TRUE(pool_
                  ->Query([&](pqxx::nontransaction& txn) {
                    for (size_t i = 0; i < recorded.size(); ++i) {
                      txn.exec_params(
                          "UPDATE touchpoints SET change_xid = $1::xid8 WHERE touchpoint_id = $2",
                          xids[i], recorded[i]);
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  for (const int page_size : {1, 2, 100}) {
    v1::ListTouchpointChangesRequest request;
    request.set_page_size(page_size);
    std::vector<std::string> ids;
    for (int page = 0; page < 10; ++page) {
      v1::ListTouchpointChangesResponse response;
      ASSERT_TRUE(Changes(request, &response).ok());
      for (const std::string& id : IdsOf(response.touchpoints())) ids.push_back(id);
      request.set_cursor(response.next_cursor());
      if (response.caught_up()) break;
    }
    EXPECT_THAT(ids, ElementsAreArray(recorded)) << "page size " << page_size;
  }
}

TEST_F(TouchpointsServiceTest, ChangeFeedRejectsABadCursor) {
  v1::ListTouchpointChangesRequest request;
  request.set_cursor("not-a-cursor");
  v1::ListTouchpointChangesResponse response;
  grpc::Status status = Changes(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("cursor"));

  request.clear_cursor();
  request.set_page_size(1001);
  status = Changes(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(FieldsOf(status), ElementsAre("page_size"));
}

TEST_F(TouchpointsServiceTest, EditedCursorsAndPageTokensAreInvalidArgument) {
  const SeededCustomer customer = SeedCustomer();
  const absl::Time now = NowMicros();
  MustRecord(Basic(customer.id, now - absl::Hours(1), "A"));
  MustRecord(Basic(customer.id, now - absl::Hours(2), "B"));
  v1::ListTouchpointChangesRequest changes;
  v1::ListTouchpointChangesResponse changed;
  ASSERT_TRUE(Changes(changes, &changed).ok());
  v1::ListTouchpointsRequest list;
  list.set_customer_id(customer.id);
  list.set_page_size(1);
  v1::ListTouchpointsResponse listed;
  ASSERT_TRUE(List(list, &listed).ok());
  for (const auto& [token, field] : {std::pair{changed.next_cursor(), "cursor"},
                                     std::pair{listed.next_page_token(), "page_token"}}) {
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &bytes));
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string edited = bytes;
      edited[i] = static_cast<char>(edited[i] ^ 0x01);
      changes.set_cursor(absl::WebSafeBase64Escape(edited));
      list.set_page_token(changes.cursor());
      const grpc::Status status = std::string(field) == "cursor" ? Changes(changes, &changed)
                                                                 : List(list, &listed);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << field << " byte " << i << ": " << status.error_message();
      EXPECT_THAT(FieldsOf(status), ElementsAre(field));
    }
  }
}

// --- 12. Events -------------------------------------------------------------------------------

TEST_F(TouchpointsServiceTest, EveryChangeReachesTheTouchpointsStream) {
  const SeededCustomer customer = SeedCustomer();
  const v1::Touchpoint recorded = MustRecord(Full(customer, NowMicros()));
  v1::Touchpoint patch;
  patch.set_touchpoint_id(recorded.touchpoint_id());
  patch.set_summary("已回访");
  patch.set_sentiment(v1::SENTIMENT_POSITIVE);
  v1::Touchpoint updated;
  ASSERT_TRUE(Update(patch, {"summary", "sentiment"}, &updated).ok());
  v1::Touchpoint deleted;
  ASSERT_TRUE(Delete(recorded.touchpoint_id(), "2", &deleted).ok());

  const std::vector<ev::EventEnvelope> envelopes = PublishedEvents(3);
  ASSERT_THAT(envelopes, SizeIs(3));
  std::vector<std::string> types;
  for (const ev::EventEnvelope& e : envelopes) {
    types.push_back(e.event_type());
    EXPECT_EQ(e.tenant_id(), kTenant);
    EXPECT_EQ(e.aggregate_type(), "touchpoint");
    EXPECT_EQ(e.aggregate_id(), recorded.touchpoint_id());
    EXPECT_EQ(e.actor_id(), kCaller);
  }
  EXPECT_THAT(types, ElementsAre("touchline.events.v1.TouchpointRecorded",
                                 "touchline.events.v1.TouchpointUpdated",
                                 "touchline.events.v1.TouchpointDeleted"));
  ev::TouchpointRecorded r;
  ASSERT_TRUE(envelopes[0].payload().UnpackTo(&r));
  EXPECT_TRUE(MessageDifferencer::Equals(r.touchpoint(), recorded))
      << r.touchpoint().DebugString() << "\nvs\n"
      << recorded.DebugString();
  ev::TouchpointUpdated u;
  ASSERT_TRUE(envelopes[1].payload().UnpackTo(&u));
  EXPECT_TRUE(MessageDifferencer::Equals(u.touchpoint(), updated));
  EXPECT_THAT(u.changed_fields().paths(), ElementsAre("summary", "sentiment"));
  ev::TouchpointDeleted d;
  ASSERT_TRUE(envelopes[2].payload().UnpackTo(&d));
  EXPECT_TRUE(MessageDifferencer::Equals(d.touchpoint(), deleted));
  EXPECT_EQ(d.touchpoint().state(), v1::TOUCHPOINT_STATE_DELETED);
  EXPECT_EQ(CountRows("outbox"), 0);
}

}  // namespace
}  // namespace touchline::touchpoints
