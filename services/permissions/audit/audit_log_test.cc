// AuditLog's rules on the in-memory store (hermetic): chain links, verification, listing and
// paging, the PERMISSION_AUDIT_READ check. audit_log_pgtest.cc covers the same log on
// PostgreSQL, the consumers and concurrency.
#include "services/permissions/audit/audit_log.h"

#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/audit/testing/in_memory_audit_store.h"
#include "tests/testing/status_matchers.h"

namespace touchline::permissions {
namespace {

namespace v1 = ::touchline::permissions::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchline::testing::IsOk;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";

v1::AuditEvent Event(std::string action, std::string actor_id = "user-1",
                     std::string resource_id = "c-1") {
  v1::AuditEvent event;
  event.set_action(std::move(action));
  event.set_actor_id(std::move(actor_id));
  event.set_resource_type("customer");
  event.set_resource_id(std::move(resource_id));
  event.add_fields("display_name");
  return event;
}

std::vector<int64_t> Sequences(const v1::ListAuditEventsResponse& response) {
  std::vector<int64_t> sequences;
  for (const v1::AuditEvent& event : response.events()) sequences.push_back(event.sequence());
  return sequences;
}

// A caller of kTenant whose scope holds every permission but, when `audit_read` is false,
// PERMISSION_AUDIT_READ.
auth::RequestContext Caller(bool audit_read) {
  const v1::EffectiveScope all = auth::testing::AdminScope(kTenant, "user-1");
  v1::EffectiveScope proto = all;
  proto.clear_permissions();
  for (const int p : all.permissions()) {
    if (audit_read || p != v1::PERMISSION_AUDIT_READ) {
      proto.add_permissions(static_cast<v1::Permission>(p));
    }
  }
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = auth::Scope::Compile(proto);
  EXPECT_THAT(scope, IsOk());
  return auth::RequestContext{.tenant_id = kTenant,
                              .caller_id = "user-1",
                              .request_id = "req-1",
                              .scope = scope.ok() ? *std::move(scope) : nullptr,
                              .client = "ipv4:10.0.0.1"};
}

class AuditLogTest : public ::testing::Test {
 protected:
  absl::Status Append(std::vector<TenantAuditEvent> events) {
    return store_.Transact([&](AuditTransaction& txn) { return AuditLog::Append(txn, events); });
  }
  void AppendMany(int count, const std::string& tenant = kTenant) {
    for (int i = 0; i < count; ++i) {
      ASSERT_THAT(Append({{tenant, Event(absl::StrCat("a", i))}}), IsOk());
    }
  }
  v1::VerifyAuditChainResponse Verify(const std::string& tenant = kTenant) {
    absl::StatusOr<v1::VerifyAuditChainResponse> verified = log_.Verify(tenant);
    EXPECT_THAT(verified, IsOk());
    return verified.ok() ? *verified : v1::VerifyAuditChainResponse();
  }
  v1::ListAuditEventsResponse List(const v1::ListAuditEventsRequest& request) {
    absl::StatusOr<v1::ListAuditEventsResponse> listed = log_.List(kTenant, request);
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? *listed : v1::ListAuditEventsResponse();
  }

  testing::InMemoryAuditStore store_;
  AuditLog log_{&store_, paging::PageTokens(std::string(32, 'k')), /*verify_chunk_size=*/3};
};

TEST_F(AuditLogTest, EntriesLinkByHashFromTheGenesis) {
  AppendMany(4);
  const testing::InMemoryAuditStore::Data data = store_.Snapshot();
  std::string previous = kAuditGenesisHash;
  int64_t sequence = 0;
  for (const auto& [key, entry] : data.entries) {
    EXPECT_EQ(entry.sequence(), ++sequence);
    EXPECT_EQ(entry.previous_hash(), previous);
    EXPECT_EQ(entry.hash(), AuditLog::ChainHash(previous, entry));
    previous = entry.hash();
  }
  EXPECT_EQ(sequence, 4);
  EXPECT_EQ(data.heads.at(kTenant).last_sequence, 4);
  EXPECT_EQ(data.heads.at(kTenant).last_hash, previous);
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.entries_checked(), 4);
}

TEST_F(AuditLogTest, OneBatchChainsEachTenantOnItsOwnInTheOrderGiven) {
  AppendMany(2, "globex");
  ASSERT_THAT(Append({{kTenant, Event("x")}, {"globex", Event("y")}, {kTenant, Event("z")}}),
              IsOk());
  const testing::InMemoryAuditStore::Data data = store_.Snapshot();
  EXPECT_EQ(data.entries.at({kTenant, 1}).action(), "x");
  EXPECT_EQ(data.entries.at({kTenant, 2}).action(), "z");
  EXPECT_EQ(data.entries.at({"globex", 3}).action(), "y");
  EXPECT_TRUE(Verify(kTenant).intact());
  EXPECT_TRUE(Verify("globex").intact());
}

TEST_F(AuditLogTest, InvalidOccurTimeWritesNothing) {
  v1::AuditEvent bad = Event("a");
  bad.mutable_occur_time()->set_nanos(-1);
  EXPECT_THAT(Append({{kTenant, Event("fine")}, {kTenant, bad}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("occur_time")));
  EXPECT_TRUE(store_.Snapshot().entries.empty());
}

TEST_F(AuditLogTest, OccurTimeIsKeptToTheMicrosecond) {
  v1::AuditEvent event = Event("a");
  *event.mutable_occur_time() = TimeUtil::NanosecondsToTimestamp(1'700'000'000'123'456'789);
  ASSERT_THAT(Append({{kTenant, event}}), IsOk());
  EXPECT_EQ(store_.Snapshot().entries.at({kTenant, 1}).occur_time().nanos(), 123'456'000);
}

TEST_F(AuditLogTest, ChangedEntryIsReportedAtItsSequence) {
  AppendMany(5);
  store_.Change([](auto& data) { data.entries.at({kTenant, 4}).set_detail("rewritten"); });
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_FALSE(verified.intact());
  EXPECT_EQ(verified.first_broken_sequence(), 4);
  EXPECT_EQ(verified.entries_checked(), 4);
}

TEST_F(AuditLogTest, DeletedEntryIsReportedAsAGap) {
  AppendMany(5);
  store_.Change([](auto& data) { data.entries.erase({kTenant, 2}); });
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_FALSE(verified.intact());
  EXPECT_EQ(verified.first_broken_sequence(), 2);
  EXPECT_THAT(verified.detail(), HasSubstr("entry 2 is missing"));
}

TEST_F(AuditLogTest, EntriesCutOffTheEndAreReported) {
  AppendMany(5);
  store_.Change([](auto& data) { data.entries.erase({kTenant, 5}); });
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_FALSE(verified.intact());
  EXPECT_EQ(verified.first_broken_sequence(), 5);
}

TEST_F(AuditLogTest, EmptyChainIsIntact) {
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.entries_checked(), 0);
}

TEST_F(AuditLogTest, ListIsNewestFirstAndPagesWalkEveryEntryOnce) {
  AppendMany(7);
  v1::ListAuditEventsRequest request;
  request.set_page_size(3);
  std::vector<int64_t> sequences;
  for (int page = 0; page < 10; ++page) {
    const v1::ListAuditEventsResponse response = List(request);
    for (const int64_t sequence : Sequences(response)) sequences.push_back(sequence);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(sequences, ElementsAre(7, 6, 5, 4, 3, 2, 1));
}

TEST_F(AuditLogTest, ListFiltersSelectExactly) {
  ASSERT_THAT(Append({{kTenant, Event("customer.update", "ann", "c-1")},
                      {kTenant, Event("customer.read", "bob", "c-2")},
                      {kTenant, Event("login", "ann", "c-2")}}),
              IsOk());
  v1::ListAuditEventsRequest by_actor;
  by_actor.set_actor_id("ann");
  EXPECT_THAT(Sequences(List(by_actor)), ElementsAre(3, 1));
  v1::ListAuditEventsRequest by_prefix;
  by_prefix.set_action_prefix("customer.");
  EXPECT_THAT(Sequences(List(by_prefix)), ElementsAre(2, 1));
  v1::ListAuditEventsRequest by_resource;
  by_resource.set_resource_type("customer");
  by_resource.set_resource_id("c-2");
  EXPECT_THAT(Sequences(List(by_resource)), ElementsAre(3, 2));
}

TEST_F(AuditLogTest, ListTimeRangeIncludesTheStartAndExcludesTheEnd) {
  for (int second = 10; second <= 13; ++second) {
    v1::AuditEvent event = Event(absl::StrCat("at", second));
    event.mutable_occur_time()->set_seconds(second);
    ASSERT_THAT(Append({{kTenant, event}}), IsOk());
  }
  v1::ListAuditEventsRequest request;
  request.mutable_start_time()->set_seconds(11);
  request.mutable_end_time()->set_seconds(13);
  EXPECT_THAT(Sequences(List(request)), ElementsAre(3, 2));
}

TEST_F(AuditLogTest, PageTokenOfAnotherQueryIsRefused) {
  AppendMany(3);
  v1::ListAuditEventsRequest request;
  request.set_page_size(1);
  const std::string token = List(request).next_page_token();
  ASSERT_FALSE(token.empty());
  request.set_actor_id("someone-else");
  request.set_page_token(token);
  EXPECT_THAT(log_.List(kTenant, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST_F(AuditLogTest, ReadingNeedsPermissionAuditRead) {
  AppendMany(2);
  EXPECT_THAT(log_.List(Caller(/*audit_read=*/false), v1::ListAuditEventsRequest()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(log_.Verify(Caller(/*audit_read=*/false)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<v1::ListAuditEventsResponse> listed =
      log_.List(Caller(/*audit_read=*/true), v1::ListAuditEventsRequest());
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(Sequences(*listed), ElementsAre(2, 1));
  absl::StatusOr<v1::VerifyAuditChainResponse> verified = log_.Verify(Caller(true));
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->intact());
}

}  // namespace
}  // namespace touchline::permissions
