#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/auth/testing/test_keys.h"
#include "common/config/common_flags.h"
#include "common/enforcement/enforcement.h"
#include "common/enforcement/scope_invalidation.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::enforcement {
namespace {

using permissions::v1::CustomerShare;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kCustomer[] = "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b";

CustomerShare TeamShare(const std::string& team, bool edit) {
  CustomerShare share;
  share.set_customer_id(kCustomer);
  share.set_team_id(team);
  share.set_access(edit ? permissions::v1::SHARE_ACCESS_EDIT : permissions::v1::SHARE_ACCESS_READ);
  return share;
}

CustomerShare PartnerShare(const std::string& org) {
  CustomerShare share;
  share.set_customer_id(kCustomer);
  share.set_partner_org_id(org);
  share.set_access(permissions::v1::SHARE_ACCESS_READ);
  return share;
}

events::v1::EventEnvelope SharesChanged(const std::string& tenant, int64_t version,
                                        std::vector<CustomerShare> shares,
                                        const std::string& customer = kCustomer) {
  events::v1::CustomerSharesChanged changed;
  changed.set_customer_id(customer);
  changed.set_version(version);
  for (auto& share : shares) *changed.add_shares() = std::move(share);
  return events::MakeEnvelope(changed, tenant, "customer_shares", customer, "req", "admin");
}

std::vector<std::pair<std::string, bool>> Flatten(
    const std::vector<auth::CustomerAttributes::Share>& shares) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& share : shares) out.emplace_back(share.grantee, share.edit);
  std::sort(out.begin(), out.end());
  return out;
}

class SharesReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "shares", SharesMigrations()));
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create(options));
  }

  absl::Status Apply(const events::v1::EventEnvelope& event) {
    return pool_->Transact([&](pqxx::work& txn) { return ApplyPermissionEvent(txn, event); });
  }

  std::vector<std::pair<std::string, bool>> Shares(const std::string& tenant,
                                                   const std::string& customer = kCustomer) {
    std::vector<auth::CustomerAttributes::Share> shares;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      shares = LoadShares(txn, tenant, customer);
      return absl::OkStatus();
    }));
    return Flatten(shares);
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"shares"};
  std::unique_ptr<pg::Pool> pool_;
};

TEST_F(SharesReadModelTest, EventReplacesTheCustomersSharesWithItsCompleteSet) {
  TL_ASSERT_OK(Apply(SharesChanged("acme", 1, {TeamShare("east", false), PartnerShare("p1")})));
  EXPECT_THAT(Shares("acme"), ElementsAre(Pair("partner:p1", false), Pair("team:east", false)));

  TL_ASSERT_OK(Apply(SharesChanged("acme", 2, {TeamShare("east", true)})));
  EXPECT_THAT(Shares("acme"), ElementsAre(Pair("team:east", true)));

  TL_ASSERT_OK(Apply(SharesChanged("acme", 3, {})));
  EXPECT_THAT(Shares("acme"), IsEmpty());
}

TEST_F(SharesReadModelTest, OlderOrRepeatedVersionsChangeNothing) {
  TL_ASSERT_OK(Apply(SharesChanged("acme", 5, {TeamShare("east", true)})));
  TL_ASSERT_OK(Apply(SharesChanged("acme", 4, {PartnerShare("p1")})));
  TL_ASSERT_OK(Apply(SharesChanged("acme", 5, {})));
  EXPECT_THAT(Shares("acme"), ElementsAre(Pair("team:east", true)));
}

TEST_F(SharesReadModelTest, TenantsAndCustomersAreApart) {
  TL_ASSERT_OK(Apply(SharesChanged("acme", 1, {TeamShare("east", false)})));
  EXPECT_THAT(Shares("globex"), IsEmpty());
  EXPECT_THAT(Shares("acme", "0190a4b2-7c3d-7e8f-9a0b-000000000000"), IsEmpty());
  // Upper-case spelling of the same UUID is the same customer.
  EXPECT_THAT(Shares("acme", "0190A4B2-7C3D-7E8F-9A0B-1C2D3E4F5A6B"),
              ElementsAre(Pair("team:east", false)));
}

TEST_F(SharesReadModelTest, OtherEventsAreIgnoredAndBadOnesRefused) {
  events::v1::ScopesInvalidated invalidated;
  TL_EXPECT_OK(Apply(events::MakeEnvelope(invalidated, "acme", "role", "rep", "req", "admin")));
  EXPECT_THAT(Shares("acme"), IsEmpty());

  const absl::Status bad = Apply(SharesChanged("acme", 1, {}, "not-a-uuid"));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), ::testing::HasSubstr("not-a-uuid"));
}

class ScopeInvalidationListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(options));
  }

  // What the outbox relay writes: the serialized envelope in field "event".
  void Publish(const google::protobuf::Message& payload, const std::string& tenant) {
    const events::v1::EventEnvelope envelope =
        events::MakeEnvelope(payload, tenant, "role", "rep", "req", "admin");
    TL_ASSERT_OK(redis_
                     ->Command({"XADD", events::StreamKey(prefix_, kPermissionsTopic), "*", "event",
                                envelope.SerializeAsString()})
                     .status());
  }

  void Record(const std::string& tenant, const std::vector<std::string>& sessions) {
    absl::MutexLock lock(&mu_);
    calls_.emplace_back(tenant, sessions);
  }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  std::unique_ptr<redis::Pool> redis_;
  absl::Mutex mu_;
  std::vector<std::pair<std::string, std::vector<std::string>>> calls_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ScopeInvalidationListenerTest, PollAppliesInvalidationsAndSkipsOtherEvents) {
  ScopeInvalidationListener listener(
      redis_.get(), prefix_,
      [this](const std::string& tenant, const std::vector<std::string>& sessions) {
        Record(tenant, sessions);
      },
      absl::Milliseconds(50));
  events::v1::ScopesInvalidated one;
  one.add_session_ids("s-1");
  one.add_session_ids("s-2");
  Publish(one, "acme");
  events::v1::CustomerSharesChanged shares;
  shares.set_customer_id(kCustomer);
  Publish(shares, "acme");
  Publish(events::v1::ScopesInvalidated(), "globex");

  TL_ASSERT_OK_AND_ASSIGN(const std::string last, listener.PollOnce("0"));
  {
    absl::MutexLock lock(&mu_);
    EXPECT_THAT(calls_,
                ElementsAre(Pair("acme", ElementsAre("s-1", "s-2")), Pair("globex", IsEmpty())));
    calls_.clear();
  }
  // Reading on from the returned id finds nothing new.
  TL_ASSERT_OK_AND_ASSIGN(const std::string again, listener.PollOnce(last));
  EXPECT_EQ(again, last);
  absl::MutexLock lock(&mu_);
  EXPECT_THAT(calls_, IsEmpty());
}

TEST_F(ScopeInvalidationListenerTest, BackgroundThreadSeesEventsPublishedAfterStart) {
  Publish(events::v1::ScopesInvalidated(), "before");
  ScopeInvalidationListener listener(
      redis_.get(), prefix_,
      [this](const std::string& tenant, const std::vector<std::string>& sessions) {
        Record(tenant, sessions);
      },
      absl::Milliseconds(50));
  listener.Start();
  // Let the thread find where the stream ends, then publish while it is between reads too.
  absl::SleepFor(absl::Milliseconds(200));
  events::v1::ScopesInvalidated invalidated;
  invalidated.add_session_ids("s-9");
  Publish(invalidated, "acme");
  absl::SleepFor(absl::Milliseconds(120));
  invalidated.set_session_ids(0, "s-10");
  Publish(invalidated, "acme");
  {
    absl::MutexLock lock(&mu_);
    auto seen = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.size() >= 2; };
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&seen), absl::Seconds(5)));
    EXPECT_THAT(calls_,
                ElementsAre(Pair("acme", ElementsAre("s-9")), Pair("acme", ElementsAre("s-10"))));
  }
  listener.Stop();
}

// The shares consumer keeps the inbox rows of its events as long as every other consumer of
// the service: the schema's one inbox purge (--inbox_retention) must not delete rows it still
// needs, or a redelivered event would apply twice.
TEST(EnforcementConfigTest, TheSharesConsumerTakesTheServicesInboxRetentionAndDeadLetterCap) {
  absl::FlagSaver saver;
  const std::string key_file =
      ::testing::TempDir() + "/enforcement_config_test_" + std::to_string(::getpid()) + ".pem";
  std::ofstream(key_file) << auth::testing::NewTestKeyPair().public_key_pem;
  absl::SetFlag(&FLAGS_jwt_public_key_file, key_file);
  absl::SetFlag(&FLAGS_permissions_addr, "127.0.0.1:1");
  absl::SetFlag(&FLAGS_inbox_retention, absl::Hours(30));
  absl::SetFlag(&FLAGS_events_dead_letter_max_len, 77);
  const EnforcementConfig config = EnforcementConfigFromFlags("contacts");
  std::remove(key_file.c_str());
  EXPECT_EQ(config.options.inbox_retention, absl::Hours(30));
  EXPECT_EQ(config.options.dead_letter_max_len, 77);
  EXPECT_EQ(config.options.consumer_group, "contacts");
}

}  // namespace
}  // namespace touchline::enforcement
