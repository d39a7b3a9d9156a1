// The fixture of the touchpoints service's in-process tests: the service on
// testing::InProcessService (real gRPC, PostgreSQL and Redis; callers trusted, an
// administrator unless a test gives a caller a scope), with the outbox relay running, the
// service's store (partitions for the last 13 and the next 3 months) and manager, and typed
// calls.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_FIXTURE_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_FIXTURE_H_

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/status/grpc_status.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "services/touchpoints/customer_events.h"
#include "services/touchpoints/migrations.h"
#include "services/touchpoints/pg_touchpoint_store.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "services/touchpoints/touchpoints_service.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/in_process_service.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline::touchpoints {

namespace ev = ::touchline::events::v1;
namespace cv1 = ::touchline::contacts::v1;

inline constexpr char kTenant[] = "tenant-a";
inline constexpr char kCaller[] = "user-1";

inline google::protobuf::Timestamp Ts(absl::Time t) {
  return ::google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
inline absl::Time FromTs(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(::google::protobuf::util::TimeUtil::TimestampToMicroseconds(t));
}
// Now, to the microsecond (what PostgreSQL keeps).
inline absl::Time NowMicros() { return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now())); }

inline std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

inline std::vector<std::string> IdsOf(
    const google::protobuf::RepeatedPtrField<v1::Touchpoint>& tps) {
  std::vector<std::string> ids;
  for (const v1::Touchpoint& t : tps) ids.push_back(t.touchpoint_id());
  return ids;
}

inline std::vector<std::string> IdsOf(const std::vector<v1::Touchpoint>& tps) {
  std::vector<std::string> ids;
  for (const v1::Touchpoint& t : tps) ids.push_back(t.touchpoint_id());
  return ids;
}

inline std::vector<std::pair<std::string, std::string>> ViolationsOf(const google::rpc::Status& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const google::protobuf::Any& any : s.details()) {
    google::rpc::BadRequest bad;
    if (!any.Is<google::rpc::BadRequest>() || !any.UnpackTo(&bad)) continue;
    for (const auto& v : bad.field_violations()) out.emplace_back(v.field(), v.description());
  }
  return out;
}

inline std::vector<std::string> FieldsOf(const grpc::Status& status) {
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    fields.push_back(field);
  }
  return fields;
}

struct SeededCustomer {
  std::string id;
  std::vector<std::string> person_ids;
  cv1::Customer customer;
};

class TouchpointsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<PgTouchpointStore>(pool_.get(), [this] { env_.relay()->Wake(); });
    const absl::Time now = absl::Now();
    const absl::Status partitions =
        store_->EnsurePartitions(now - absl::Hours(24 * 31 * 13), now + absl::Hours(24 * 31 * 3));
    ASSERT_TRUE(partitions.ok()) << partitions;
    auto page_tokens = paging::PageTokens::Load(*pool_);
    ASSERT_TRUE(page_tokens.ok()) << page_tokens.status();
    manager_ = std::make_unique<TouchpointManager>(
        store_.get(), env_.audit().get(), ValidationOptions{}, *std::move(page_tokens),
        [] { return absl::Now(); }, BatchOptions{}, customer_directory_);
    service_ = std::make_unique<TouchpointsService>(manager_.get(), env_.runner());
    env_.Serve(service_.get());
    if (HasFatalFailure()) return;
    stub_ = v1::TouchpointsService::NewStub(env_.channel());
  }

  void TearDown() override { env_.Shutdown(); }

  // Calls act as caller_ of `tenant`.
  void SetTenant(grpc::ClientContext& context, const std::string& tenant) const {
    testing::Authorize(context, {tenant, caller_});
  }

  // --- The customer read model -------------------------------------------------------------

  void ApplyCustomerEvent(const google::protobuf::Message& payload, const std::string& tenant,
                          const std::string& customer_id) {
    const ev::EventEnvelope envelope =
        events::MakeEnvelope(payload, tenant, "customer", customer_id, "", "");
    const absl::Status applied = pool_->Transact(
        [&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, envelope); });
    ASSERT_TRUE(applied.ok()) << applied;
  }

  SeededCustomer SeedCustomer(const std::string& tenant = kTenant, int persons = 2) {
    return SeedCustomerOf("rep-7", "", cv1::CUSTOMER_LEVEL_UNSPECIFIED, tenant, persons);
  }

  // A customer with the visibility attributes `owner_id`, `region` and `level`.
  SeededCustomer SeedCustomerOf(const std::string& owner_id, const std::string& region,
                                cv1::CustomerLevel level, const std::string& tenant = kTenant,
                                int persons = 2) {
    SeededCustomer seeded;
    cv1::Customer& c = seeded.customer;
    c.set_customer_id(ids::NewUuid());
    c.set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
    c.set_display_name("深圳市腾飞科技有限公司");
    c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    c.set_owner_id(owner_id);
    c.set_region(region);
    c.set_level(level);
    c.set_etag("1");
    for (int i = 0; i < persons; ++i) {
      cv1::ContactPerson* p = c.add_contact_persons();
      p->set_person_id(ids::NewUuid());
      seeded.person_ids.push_back(p->person_id());
    }
    seeded.id = c.customer_id();
    ev::CustomerCreated created;
    *created.mutable_customer() = c;
    ApplyCustomerEvent(created, tenant, c.customer_id());
    return seeded;
  }

  // --- Touchpoints ---------------------------------------------------------------------------

  // A minimal valid touchpoint.
  static v1::Touchpoint Basic(const std::string& customer_id, absl::Time occur,
                              const std::string& subject = "电话回访") {
    v1::Touchpoint t;
    t.set_customer_id(customer_id);
    *t.mutable_occur_time() = Ts(occur);
    t.set_channel(v1::CHANNEL_PHONE);
    t.set_category(v1::CATEGORY_SALES);
    t.set_subject(subject);
    return t;
  }

  // Every client-settable field filled in.
  static v1::Touchpoint Full(const SeededCustomer& c, absl::Time now) {
    v1::Touchpoint t;
    t.set_customer_id(c.id);
    t.add_contact_person_ids(c.person_ids[0]);
    t.add_contact_person_ids(c.person_ids[1]);
    v1::Participant* p = t.add_participants();
    p->set_user_id("u-sales-7");
    p->set_kind(v1::PARTICIPANT_KIND_EMPLOYEE);
    p->set_role("主讲");
    p = t.add_participants();
    p->set_user_id("partner-3");
    p->set_kind(v1::PARTICIPANT_KIND_PARTNER_USER);
    p->set_role("presales");
    *t.mutable_occur_time() = Ts(now - absl::Hours(2) + absl::Microseconds(123457));
    t.set_channel(v1::CHANNEL_PHONE);
    t.set_direction(v1::DIRECTION_INBOUND);
    t.set_category(v1::CATEGORY_SERVICE);
    t.set_subject("客户投诉物流延迟");
    t.set_summary("客户反映上周的订单物流延迟了三天，要求补偿运费。");
    t.set_content(
        "客户：你们的物流太慢了！\n客服：非常抱歉，我们马上核实。【异议】运费太贵。\n"
        "We also discussed Pricing for the 2025 framework agreement.");
    t.add_needs("尽快发货");
    t.add_concerns("运费太贵");
    t.add_interests("年度框架协议");
    t.set_outcome(v1::OUTCOME_RESOLVED);
    t.set_sentiment(v1::SENTIMENT_NEGATIVE);
    t.add_emotion_labels(v1::EMOTION_LABEL_COMPLAINT);
    t.add_emotion_labels(v1::EMOTION_LABEL_ANGER);
    t.mutable_duration()->set_seconds(754);
    t.mutable_duration()->set_nanos(500000000);
    (*t.mutable_behavior_metrics())["page_dwell_seconds"] = 42.5;
    (*t.mutable_behavior_metrics())["clicks"] = 3;
    v1::NextAction* next = t.mutable_next_action();
    next->set_description("三天内回访确认收货");
    next->set_owner_id("u-sales-7");
    *next->mutable_due_time() = Ts(now + absl::Hours(72));
    t.set_customer_status_after(cv1::LIFECYCLE_STATUS_CUSTOMER);
    t.add_tags("物流");
    t.add_tags("投诉");
    (*t.mutable_custom_attributes())["order_no"].set_string_value("SO-2024-0001");
    (*t.mutable_custom_attributes())["refund_amount"].set_double_value(99.5);
    (*t.mutable_custom_attributes())["vip"].set_bool_value(true);
    (*t.mutable_custom_attributes())["items"].set_int_value(3);
    v1::Attachment* a = t.add_attachments();
    a->set_uri("s3://touchline-recordings/calls/2024/abc.mp3");
    a->set_media_type("audio/mpeg");
    a->set_size_bytes(1234567);
    a->set_sha256(Repeat("0123456789abcdef", 4));
    a->set_file_name("通话录音.mp3");
    t.set_source_system("call-center");
    t.set_external_id("CC-0001");
    return t;
  }

  grpc::Status Record(const v1::Touchpoint& t, v1::RecordTouchpointResponse* out,
                      const std::string& request_id = "", const std::string& tenant = kTenant) {
    grpc::ClientContext context;
    SetTenant(context, tenant);
    v1::RecordTouchpointRequest request;
    *request.mutable_touchpoint() = t;
    request.set_request_id(request_id);
    v1::RecordTouchpointResponse response;
    grpc::Status status = stub_->RecordTouchpoint(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  v1::Touchpoint MustRecord(const v1::Touchpoint& t) {
    v1::RecordTouchpointResponse response;
    const grpc::Status status = Record(t, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.replayed());
    return response.touchpoint();
  }

  grpc::Status Get(const std::string& id, v1::Touchpoint* out,
                   const std::string& tenant = kTenant) {
    grpc::ClientContext context;
    SetTenant(context, tenant);
    v1::GetTouchpointRequest request;
    request.set_touchpoint_id(id);
    v1::GetTouchpointResponse response;
    grpc::Status status = stub_->GetTouchpoint(&context, request, &response);
    if (out != nullptr) *out = response.touchpoint();
    return status;
  }

  grpc::Status Update(const v1::Touchpoint& t, const std::vector<std::string>& paths,
                      v1::Touchpoint* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    v1::UpdateTouchpointRequest request;
    *request.mutable_touchpoint() = t;
    for (const std::string& p : paths) request.mutable_update_mask()->add_paths(p);
    v1::UpdateTouchpointResponse response;
    grpc::Status status = stub_->UpdateTouchpoint(&context, request, &response);
    if (out != nullptr) *out = response.touchpoint();
    return status;
  }

  grpc::Status Delete(const std::string& id, const std::string& etag, v1::Touchpoint* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    v1::DeleteTouchpointRequest request;
    request.set_touchpoint_id(id);
    request.set_etag(etag);
    v1::DeleteTouchpointResponse response;
    grpc::Status status = stub_->DeleteTouchpoint(&context, request, &response);
    if (out != nullptr) *out = response.touchpoint();
    return status;
  }

  grpc::Status List(const v1::ListTouchpointsRequest& request, v1::ListTouchpointsResponse* out,
                    const std::string& tenant = kTenant) {
    grpc::ClientContext context;
    SetTenant(context, tenant);
    return stub_->ListTouchpoints(&context, request, out);
  }

  // Every page of the customer's timeline, in order.
  std::vector<v1::Touchpoint> ListAll(const std::string& customer_id,
                                      const v1::TouchpointFilter& filter = {}, int page_size = 0) {
    std::vector<v1::Touchpoint> all;
    v1::ListTouchpointsRequest request;
    request.set_customer_id(customer_id);
    *request.mutable_filter() = filter;
    request.set_page_size(page_size);
    for (int page = 0; page < 1000; ++page) {
      v1::ListTouchpointsResponse response;
      const grpc::Status status = List(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      all.insert(all.end(), response.touchpoints().begin(), response.touchpoints().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return all;
  }

  std::vector<std::string> ListIds(const std::string& customer_id,
                                   const v1::TouchpointFilter& filter = {}) {
    std::vector<std::string> ids;
    for (const v1::Touchpoint& t : ListAll(customer_id, filter)) ids.push_back(t.touchpoint_id());
    return ids;
  }

  grpc::Status Search(const v1::SearchTouchpointsRequest& request,
                      v1::SearchTouchpointsResponse* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    return stub_->SearchTouchpoints(&context, request, out);
  }

  std::vector<std::string> SearchIds(const v1::SearchTouchpointsRequest& request) {
    v1::SearchTouchpointsResponse response;
    const grpc::Status status = Search(request, &response);
    EXPECT_TRUE(status.ok()) << request.query() << ": " << status.error_message();
    std::vector<std::string> ids;
    for (const v1::SearchHit& hit : response.hits())
      ids.push_back(hit.touchpoint().touchpoint_id());
    return ids;
  }

  std::vector<std::string> SearchIds(const std::string& query, const std::string& customer_id = "",
                                     v1::SearchOrder order = v1::SEARCH_ORDER_UNSPECIFIED) {
    v1::SearchTouchpointsRequest request;
    request.set_query(query);
    request.set_customer_id(customer_id);
    request.set_order(order);
    return SearchIds(request);
  }

  // Every page of a search, in order.
  std::vector<std::string> SearchAllIds(v1::SearchTouchpointsRequest request) {
    std::vector<std::string> ids;
    for (int page = 0; page < 1000; ++page) {
      v1::SearchTouchpointsResponse response;
      const grpc::Status status = Search(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::SearchHit& hit : response.hits()) {
        ids.push_back(hit.touchpoint().touchpoint_id());
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  grpc::Status Stats(const v1::GetTouchpointStatsRequest& request,
                     v1::GetTouchpointStatsResponse* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    return stub_->GetTouchpointStats(&context, request, out);
  }

  grpc::Status Changes(const v1::ListTouchpointChangesRequest& request,
                       v1::ListTouchpointChangesResponse* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    return stub_->ListTouchpointChanges(&context, request, out);
  }

  // Reads the change feed as caller_ on from `cursor` (which it moves on), as a client does,
  // until the touchpoint `marker` has come (or 30 s have passed: a failure). The feed ends at
  // the oldest transaction still open on the server, which other tests share, so a change
  // shows once every transaction older than it has ended; everything committed before the
  // marker's transaction is final once the marker has come. Returns what it read, marker
  // included.
  std::vector<v1::Touchpoint> ReadChangesThrough(std::string& cursor, const std::string& marker) {
    std::vector<v1::Touchpoint> read;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    bool found = false;
    while (!found && absl::Now() < deadline) {
      v1::ListTouchpointChangesRequest request;
      request.set_cursor(cursor);
      v1::ListTouchpointChangesResponse response;
      const grpc::Status status = Changes(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::Touchpoint& t : response.touchpoints()) {
        read.push_back(t);
        found = found || t.touchpoint_id() == marker;
      }
      cursor = response.next_cursor();
      if (!found && response.caught_up()) absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_TRUE(found) << caller_ << " never got the marker " << marker;
    return read;
  }

  grpc::Status BatchRecord(const v1::BatchRecordTouchpointsRequest& request,
                           v1::BatchRecordTouchpointsResponse* out) {
    grpc::ClientContext context;
    SetTenant(context, kTenant);
    return stub_->BatchRecordTouchpoints(&context, request, out);
  }

  int CountRows(const std::string& table) { return env_.CountRows(table); }

  // The envelopes of the stream of `topic` once the relay has published everything (the
  // outbox is empty) and at least `at_least` arrived.
  std::vector<ev::EventEnvelope> PublishedEvents(size_t at_least,
                                                 const std::string& topic = kTouchpointsTopic) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    std::vector<ev::EventEnvelope> envelopes;
    while (true) {
      env_.relay()->Wake();
      auto read = testing::ReadEnvelopes(*env_.redis(), events::StreamKey(env_.prefix(), topic));
      EXPECT_TRUE(read.ok()) << read.status();
      if (read.ok()) envelopes = *std::move(read);
      if ((envelopes.size() >= at_least && CountRows("outbox") == 0) || absl::Now() > deadline) {
        return envelopes;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  static testing::InProcessService::Options EnvOptions() {
    testing::InProcessService::Options options;
    options.name = "touchpoints";
    options.grpc_service = v1::TouchpointsService::service_full_name();
    options.migrations = &pg::touchpoints_migrations();
    options.request_ids = true;
    options.customer_read_model = true;
    options.prepared = PgTouchpointStore::PreparedStatements();
    options.settings = PgTouchpointStore::ConnectionSettings();
    options.run_relay = true;
    return options;
  }

  testing::InProcessService env_{EnvOptions()};
  // The environment's parts under the names the tests use.
  const testing::ScopedSchema& schema_ = env_.schema();
  const std::unique_ptr<pg::Pool>& pool_ = env_.pool();
  auth::testing::TrustedAuthenticator& authenticator_ = env_.authenticator();
  std::unique_ptr<PgTouchpointStore> store_;
  // Asked for customers the read model does not know; a test may set it before SetUp.
  CustomerDirectory* customer_directory_ = nullptr;
  std::unique_ptr<TouchpointManager> manager_;
  std::string caller_ = kCaller;
  std::unique_ptr<TouchpointsService> service_;
  std::unique_ptr<v1::TouchpointsService::Stub> stub_;
};

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_FIXTURE_H_
