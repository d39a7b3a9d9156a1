#include "tests/testing/pg_test_env.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/ids/ids.h"
#include "gtest/gtest.h"

namespace touchline::testing {
namespace {

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: start the developer servers first with\n"
                  << "  eval \"$(scripts/dev-servers.sh)\"";
    return "";
  }
  return value;
}

// 32 lower-case hex digits, unique across processes.
std::string UniqueSuffix() { return absl::StrReplaceAll(ids::NewUuid(), {{"-", ""}}); }

// Runs one statement on a connection of its own, failing the current test on error.
bool ExecOnTestDatabase(const std::string& sql) {
  const std::string dsn = TestPgDsn();
  if (dsn.empty()) return false;
  try {
    pqxx::connection conn(dsn);
    pqxx::nontransaction txn(conn);
    txn.exec(sql);
    return true;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "test database: " << e.what();
    return false;
  }
}

// A TCP port on 127.0.0.1 that nothing listens on: the kernel's pick for a socket bound to
// port 0, released again.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool AnswersPing(int port) {
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port, timeval{0, 200000});
  bool pong = false;
  if (ctx != nullptr && ctx->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "PING"));
    pong = reply != nullptr && reply->type == REDIS_REPLY_STATUS &&
           std::string_view(reply->str, reply->len) == "PONG";
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (ctx != nullptr) redisFree(ctx);
  return pong;
}

}  // namespace

std::string TestPgDsn() { return RequiredEnv("TOUCHLINE_PG_DSN"); }

std::string TestRedisAddr() { return RequiredEnv("TOUCHLINE_REDIS_ADDR"); }

std::string UniqueRedisPrefix() { return absl::StrCat("test:", UniqueSuffix()); }

ScopedSchema::ScopedSchema(std::string prefix) : name_(absl::StrCat(prefix, "_", UniqueSuffix())) {
  created_ = ExecOnTestDatabase(absl::StrCat("CREATE SCHEMA \"", name_, "\""));
}

ScopedSchema::~ScopedSchema() {
  if (created_) ExecOnTestDatabase(absl::StrCat("DROP SCHEMA \"", name_, "\" CASCADE"));
}

ThrowawayRedis::ThrowawayRedis(bool append_only) : append_only_(append_only) {
  port_ = FreePort();
  if (port_ == 0) ADD_FAILURE() << "no free TCP port for a test redis-server";
  std::string dir_template = (std::filesystem::temp_directory_path() / "tl-redis-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    ADD_FAILURE() << "cannot make a directory for a test redis-server";
  } else {
    dir_ = dir_template;
  }
}

ThrowawayRedis::~ThrowawayRedis() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string ThrowawayRedis::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status ThrowawayRedis::Start() {
  if (pid_ > 0) return absl::OkStatus();
  if (port_ == 0 || dir_.empty()) return absl::InternalError("test redis-server: no port or dir");
  // Built before fork(): the child of a threaded process may only make system calls.
  std::vector<std::string> args = {
      "redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_),
      "--dir",        dir_,     "--save",    ""};
  args.insert(args.end(), {"--appendonly", append_only_ ? "yes" : "no", "--daemonize", "no",
                           "--logfile", dir_ + "/redis.log"});
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("test redis-server: fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (AnswersPing(port_)) return absl::OkStatus();
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("test redis-server exited at start; see ", dir_, "/redis.log"));
    }
    // Polling for readiness: redis-server has no way to signal it other than answering.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Stop();
  return absl::InternalError("test redis-server did not answer PING within 10 s");
}

void ThrowawayRedis::Stop() { Signal(SIGTERM); }

void ThrowawayRedis::Kill() { Signal(SIGKILL); }

void ThrowawayRedis::Signal(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

}  // namespace touchline::testing
