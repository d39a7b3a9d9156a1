#include "common/log/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace touchline::log {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;

// Captures lines through the test sink for the duration of a test.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetMinLevel(Level::kInfo);
    SetSinkForTest([this](std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    SetSinkForTest(nullptr);
    SetMinLevel(Level::kInfo);
  }

  nlohmann::ordered_json Line(size_t i) const {
    return nlohmann::ordered_json::parse(lines_.at(i));
  }

  std::vector<std::string> KeysOf(size_t i) const {
    const nlohmann::ordered_json line = Line(i);
    std::vector<std::string> keys;
    for (const auto& item : line.items()) keys.push_back(item.key());
    return keys;
  }

  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithKeysInOrder) {
  Warning("cache miss", {{"key", "customer:c-1"}, {"attempt", "2"}});

  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_EQ(lines_[0].back(), '\n');
  EXPECT_EQ(lines_[0].find('\n'), lines_[0].size() - 1);
  EXPECT_THAT(KeysOf(0), ElementsAre("ts", "level", "msg", "key", "attempt"));
  EXPECT_EQ(Line(0)["level"], "warning");
  EXPECT_EQ(Line(0)["msg"], "cache miss");
  EXPECT_EQ(Line(0)["key"], "customer:c-1");
}

TEST_F(LogTest, TimestampIsRfc3339UtcWithMilliseconds) {
  Info("started");
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_THAT(Line(0)["ts"].get<std::string>(),
              MatchesRegex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"));
}

TEST_F(LogTest, KeepsChineseTextUnescaped) {
  Info("客户投诉", {{"note", "异议处理"}});
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_THAT(lines_[0], HasSubstr("\"msg\":\"客户投诉\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"note\":\"异议处理\""));
  EXPECT_THAT(lines_[0], Not(HasSubstr("\\u")));
}

TEST_F(LogTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  Error("bad \xff\xfe bytes", {{"raw", "\xc3"}});
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_EQ(Line(0)["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  EXPECT_EQ(Line(0)["raw"], "\xEF\xBF\xBD");
}

TEST_F(LogTest, DropsLinesBelowMinimumLevel) {
  Debug("hidden");
  SetMinLevel(Level::kError);
  Warning("hidden too");
  EXPECT_FALSE(Enabled(Level::kWarning));
  Error("shown");
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_EQ(Line(0)["msg"], "shown");
}

TEST(ParseLevelTest, AcceptsTheFourNamesOnly) {
  Level level = Level::kInfo;
  EXPECT_TRUE(ParseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_TRUE(ParseLevel("warning", &level));
  EXPECT_EQ(level, Level::kWarning);
  EXPECT_TRUE(ParseLevel("error", &level));
  EXPECT_EQ(level, Level::kError);
  EXPECT_TRUE(ParseLevel("info", &level));
  EXPECT_EQ(level, Level::kInfo);
  EXPECT_FALSE(ParseLevel("verbose", &level));
  EXPECT_FALSE(ParseLevel("INFO", &level));
  EXPECT_FALSE(ParseLevel("", &level));
  EXPECT_EQ(level, Level::kInfo);
}

TEST_F(LogTest, ScopedRequestFieldsComeAfterMsgAndNest) {
  {
    ScopedRequestFields outer("req-1", "acme", "GetCustomer");
    Info("outer");
    {
      ScopedRequestFields inner("req-2", "globex", "ListCustomers");
      Info("inner", {{"page_size", "50"}});
    }
    Info("outer again");
  }
  Info("no request");

  ASSERT_THAT(lines_, SizeIs(4));
  EXPECT_THAT(KeysOf(0), ElementsAre("ts", "level", "msg", "request_id", "tenant", "method"));
  EXPECT_EQ(Line(0)["request_id"], "req-1");
  EXPECT_EQ(Line(0)["tenant"], "acme");
  EXPECT_EQ(Line(0)["method"], "GetCustomer");
  EXPECT_THAT(KeysOf(1),
              ElementsAre("ts", "level", "msg", "request_id", "tenant", "method", "page_size"));
  EXPECT_EQ(Line(1)["request_id"], "req-2");
  EXPECT_EQ(Line(2)["request_id"], "req-1");
  EXPECT_THAT(KeysOf(3), ElementsAre("ts", "level", "msg"));
}

TEST_F(LogTest, ScopedRequestFieldsAreThreadLocal) {
  ScopedRequestFields fields("req-1", "acme", "GetCustomer");
  std::thread([] { Info("other thread"); }).join();
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_FALSE(Line(0).contains("request_id"));
}

// Points file descriptor 2 at a pipe and collects what reaches it, so the real stderr path
// (not the test sink) is exercised.
class StderrCapture {
 public:
  StderrCapture() {
    EXPECT_EQ(::pipe(pipe_), 0);
    saved_stderr_ = ::dup(STDERR_FILENO);
    ::dup2(pipe_[1], STDERR_FILENO);
    ::close(pipe_[1]);
    reader_ = std::thread([this] {
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(pipe_[0], buffer, sizeof(buffer))) > 0) captured_.append(buffer, n);
    });
  }

  // Restores stderr and returns everything written to it meanwhile.
  std::string Finish() {
    ::dup2(saved_stderr_, STDERR_FILENO);  // Closes the last write end: the reader sees EOF.
    ::close(saved_stderr_);
    reader_.join();
    ::close(pipe_[0]);
    return captured_;
  }

 private:
  int pipe_[2];
  int saved_stderr_;
  std::thread reader_;
  std::string captured_;
};

TEST(LogStderrTest, LinesFromManyThreadsNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 300;
  StderrCapture capture;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const std::string payload(200, static_cast<char>('a' + t));
      for (int i = 0; i < kLinesPerThread; ++i) Info("line", {{"payload", payload}});
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string output = capture.Finish();

  int lines = 0;
  size_t start = 0;
  for (size_t end; (end = output.find('\n', start)) != std::string::npos; start = end + 1) {
    auto line = nlohmann::json::parse(output.substr(start, end - start));
    const std::string payload = line["payload"];
    ASSERT_EQ(payload, std::string(200, payload[0]));
    ++lines;
  }
  EXPECT_EQ(start, output.size());
  EXPECT_EQ(lines, kThreads * kLinesPerThread);
}

}  // namespace
}  // namespace touchline::log
