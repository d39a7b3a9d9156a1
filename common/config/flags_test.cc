#include "common/config/flags.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"
#include "common/config/common_flags.h"
#include "common/log/log.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

extern char** environ;

namespace touchline::config {
namespace {

using ::testing::ExitedWithCode;
using ::touchline::testing::IsOk;
using ::touchline::testing::StatusIs;

// Restores every flag and the environment. TOUCHLINE_* variables the test command exports
// (TOUCHLINE_PG_DSN, ...) are set aside while a test runs, so it sees only its own.
class FlagsTest : public ::testing::Test {
 protected:
  FlagsTest() {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text = *entry;
      const size_t equals = text.find('=');
      if (text.rfind("TOUCHLINE_", 0) == 0 && equals != std::string::npos) {
        saved_env_.emplace_back(text.substr(0, equals), text.substr(equals + 1));
      }
    }
    for (const auto& [name, value] : saved_env_) ::unsetenv(name.c_str());
  }

  ~FlagsTest() override {
    for (const std::string& name : env_names_) ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_env_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  void SetEnv(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), /*overwrite=*/1);
    env_names_.push_back(name);
  }

  // Runs ParseFlags over "service" followed by `args`.
  static void Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "service");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ParseFlags(static_cast<int>(args.size()), argv.data(), "a test service");
  }

 private:
  absl::FlagSaver flag_saver_;
  std::vector<std::string> env_names_;
  std::vector<std::pair<std::string, std::string>> saved_env_;
};

TEST_F(FlagsTest, DefaultsAreAsDocumented) {
  Parse({});
  EXPECT_EQ(absl::GetFlag(FLAGS_listen_address), "127.0.0.1:0");
  EXPECT_EQ(absl::GetFlag(FLAGS_metrics_address), "127.0.0.1:0");
  EXPECT_EQ(absl::GetFlag(FLAGS_pg_dsn), "");
  EXPECT_EQ(absl::GetFlag(FLAGS_pg_pool_size), 16);
  EXPECT_EQ(absl::GetFlag(FLAGS_redis_addr), "127.0.0.1:6379");
  EXPECT_EQ(absl::GetFlag(FLAGS_worker_threads), 32);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_queued_calls), 4096);
  EXPECT_EQ(absl::GetFlag(FLAGS_drain_timeout), absl::Seconds(10));
  EXPECT_EQ(absl::GetFlag(FLAGS_log_level), "info");
  EXPECT_FALSE(absl::GetFlag(FLAGS_access_log));
}

TEST_F(FlagsTest, EnvironmentSetsFlags) {
  SetEnv("TOUCHLINE_PG_POOL_SIZE", "7");
  SetEnv("TOUCHLINE_PG_DSN", "host=db dbname=contacts");
  SetEnv("TOUCHLINE_DRAIN_TIMEOUT", "3s");
  SetEnv("TOUCHLINE_ACCESS_LOG", "true");

  Parse({});

  EXPECT_EQ(absl::GetFlag(FLAGS_pg_pool_size), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_pg_dsn), "host=db dbname=contacts");
  EXPECT_EQ(absl::GetFlag(FLAGS_drain_timeout), absl::Seconds(3));
  EXPECT_TRUE(absl::GetFlag(FLAGS_access_log));
}

TEST_F(FlagsTest, CommandLineOverridesEnvironment) {
  SetEnv("TOUCHLINE_PG_POOL_SIZE", "7");
  SetEnv("TOUCHLINE_REDIS_ADDR", "redis:6379");
  SetEnv("TOUCHLINE_ACCESS_LOG", "true");

  Parse({"--pg_pool_size=9", "--redis_addr", "127.0.0.1:7000", "--noaccess_log"});

  EXPECT_EQ(absl::GetFlag(FLAGS_pg_pool_size), 9);
  EXPECT_EQ(absl::GetFlag(FLAGS_redis_addr), "127.0.0.1:7000");
  EXPECT_FALSE(absl::GetFlag(FLAGS_access_log));
}

TEST_F(FlagsTest, BareBoolFlagMeansTrue) {
  Parse({"-access_log"});
  EXPECT_TRUE(absl::GetFlag(FLAGS_access_log));
}

TEST_F(FlagsTest, BadEnvironmentValueExitsWithOneLine) {
  SetEnv("TOUCHLINE_PG_POOL_SIZE", "many");
  EXPECT_EXIT(Parse({}), ExitedWithCode(2),
              "^touchline: configuration error: TOUCHLINE_PG_POOL_SIZE: [^\n]*'many'[^\n]*\n$");
}

TEST_F(FlagsTest, BadEnvironmentValueFailsEvenWhenCommandLineSetsTheFlag) {
  SetEnv("TOUCHLINE_DRAIN_TIMEOUT", "ten seconds");
  EXPECT_EXIT(Parse({"--drain_timeout=10s"}), ExitedWithCode(2),
              "^touchline: configuration error: TOUCHLINE_DRAIN_TIMEOUT: [^\n]+\n$");
}

TEST_F(FlagsTest, ApplyCommonFlagsRejectsAnUnknownLogLevelWithOneLine) {
  Parse({"--log_level=chatty"});
  EXPECT_EXIT(ApplyCommonFlags(), ExitedWithCode(2),
              "^touchline: configuration error: --log_level: [^\n]*'chatty'[^\n]*\n$");
}

TEST_F(FlagsTest, ApplyCommonFlagsSetsTheLogLevel) {
  Parse({"--log_level=error"});
  ApplyCommonFlags();
  EXPECT_FALSE(log::Enabled(log::Level::kWarning));
  EXPECT_TRUE(log::Enabled(log::Level::kError));
  log::SetMinLevel(log::Level::kInfo);
}

TEST_F(FlagsTest, BadCommandLineValueExitsWithOneLine) {
  EXPECT_EXIT(Parse({"--worker_threads=lots"}), ExitedWithCode(2),
              "^touchline: configuration error: --worker_threads: [^\n]+\n$");
}

TEST_F(FlagsTest, UnknownFlagExitsWithOneLine) {
  EXPECT_EXIT(Parse({"--pg_dns=host=db"}), ExitedWithCode(2),
              "^touchline: configuration error: unknown flag --pg_dns\n$");
}

TEST_F(FlagsTest, MissingValueExitsWithOneLine) {
  EXPECT_EXIT(Parse({"--pg_dsn"}), ExitedWithCode(2),
              "^touchline: configuration error: --pg_dsn: missing value\n$");
}

TEST_F(FlagsTest, PositionalArgumentExitsWithOneLine) {
  EXPECT_EXIT(Parse({"pg_pool_size=3"}), ExitedWithCode(2),
              "^touchline: configuration error: unexpected argument 'pg_pool_size=3'\n$");
}

TEST(FatalTest, PrintsOneLineAndExitsWithCodeTwo) {
  EXPECT_EXIT(Fatal("--pg_dsn: must not be empty"), ExitedWithCode(2),
              "^touchline: configuration error: --pg_dsn: must not be empty\n$");
}

TEST(OrDieTest, PassesValuesAndStopsOnErrorsNamingTheStep) {
  EXPECT_EQ(OrDie(absl::StatusOr<int>(7), "counting"), 7);
  OkOrDie(absl::OkStatus(), "nothing to do");
  EXPECT_EXIT(OkOrDie(absl::UnavailableError("connection refused"), "connecting to PostgreSQL"),
              ExitedWithCode(2),
              "^touchline: configuration error: connecting to PostgreSQL: UNAVAILABLE: "
              "connection refused\n$");
  EXPECT_EXIT(OrDie(absl::StatusOr<int>(absl::NotFoundError("gone")), "loading"),
              ExitedWithCode(2), "loading: NOT_FOUND: gone");
}

TEST_F(FlagsTest, ValidateCommonFlagsAcceptsDefaults) {
  EXPECT_THAT(ValidateCommonFlags(), IsOk());
}

TEST_F(FlagsTest, ValidateCommonFlagsNamesTheBadFlag) {
  absl::SetFlag(&FLAGS_worker_threads, 0);
  EXPECT_THAT(ValidateCommonFlags(), StatusIs(absl::StatusCode::kInvalidArgument,
                                              "--worker_threads: must be at least 1, not 0"));
  absl::SetFlag(&FLAGS_worker_threads, 4);
  absl::SetFlag(&FLAGS_log_level, "loud");
  EXPECT_THAT(ValidateCommonFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--log_level: must be debug, info, warning or error, not 'loud'"));
  absl::SetFlag(&FLAGS_log_level, "debug");
  absl::SetFlag(&FLAGS_drain_timeout, absl::Seconds(-1));
  EXPECT_THAT(ValidateCommonFlags(), StatusIs(absl::StatusCode::kInvalidArgument,
                                              "--drain_timeout: must not be negative"));
  absl::SetFlag(&FLAGS_drain_timeout, absl::ZeroDuration());
  absl::SetFlag(&FLAGS_listen_address, "");
  EXPECT_THAT(ValidateCommonFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument, "--listen_address: must not be empty"));
}

// The limits of the event plumbing and of the retention purges: each bad value is refused,
// naming its flag, and the value before it is accepted again.
TEST_F(FlagsTest, ValidateCommonFlagsChecksTheRetentionAndStreamLimits) {
  absl::SetFlag(&FLAGS_events_stream_max_len, -1);
  EXPECT_THAT(ValidateCommonFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--events_stream_max_len: must not be negative (0 = none)"));
  absl::SetFlag(&FLAGS_events_stream_max_len, 0);
  EXPECT_THAT(ValidateCommonFlags(), IsOk());
  absl::SetFlag(&FLAGS_events_dead_letter_max_len, 0);
  EXPECT_THAT(ValidateCommonFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--events_dead_letter_max_len: must be at least 1, not 0"));
  absl::SetFlag(&FLAGS_events_dead_letter_max_len, 1);
  for (const auto& [flag, message] :
       {std::pair{&FLAGS_events_trim_interval, "--events_trim_interval: must be positive"},
        std::pair{&FLAGS_purge_interval, "--purge_interval: must be positive"},
        std::pair{&FLAGS_inbox_retention, "--inbox_retention: must be positive"}}) {
    const absl::Duration before = absl::GetFlag(*flag);
    absl::SetFlag(flag, absl::ZeroDuration());
    EXPECT_THAT(ValidateCommonFlags(), StatusIs(absl::StatusCode::kInvalidArgument, message));
    absl::SetFlag(flag, before);
  }
  absl::SetFlag(&FLAGS_idempotency_retention, absl::Minutes(59));
  EXPECT_THAT(ValidateCommonFlags(), StatusIs(absl::StatusCode::kInvalidArgument,
                                              "--idempotency_retention: must be at least 1h"));
  absl::SetFlag(&FLAGS_idempotency_retention, absl::Hours(1));
  EXPECT_THAT(ValidateCommonFlags(), IsOk());
}

}  // namespace
}  // namespace touchline::config
