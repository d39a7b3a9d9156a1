// Test environment for tests that need PostgreSQL or Redis: the developer servers' addresses
// from the environment (scripts/dev-servers.sh), a fresh schema per test, a key prefix per
// test, and a private redis-server a test may stop and restart.
#ifndef TOUCHLINE_TESTS_TESTING_PG_TEST_ENV_H_
#define TOUCHLINE_TESTS_TESTING_PG_TEST_ENV_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace touchline::testing {

// TOUCHLINE_PG_DSN. When it is unset the current test fails (never skips) and "" is returned.
std::string TestPgDsn();

// TOUCHLINE_REDIS_ADDR ("host:port"). When it is unset the current test fails and "" is
// returned.
std::string TestRedisAddr();

// A key prefix no other test uses ("test:<uuid>"), so tests can share one Redis.
std::string UniqueRedisPrefix();

// A new, empty schema in the test database, named "<prefix>_<32 hex digits>", dropped with
// everything in it (CASCADE) when the object goes out of scope. A failure to create or drop it
// fails the current test.
class ScopedSchema {
 public:
  explicit ScopedSchema(std::string prefix = "t");
  ScopedSchema(const ScopedSchema&) = delete;
  ScopedSchema& operator=(const ScopedSchema&) = delete;
  ~ScopedSchema();

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool created_ = false;
};

// A redis-server of the test's own, as a child process on 127.0.0.1 at a port that was free
// when the object was made, with its files in a new temporary directory. Never the shared
// server: tests use it to see Redis go away and come back. Start() and Stop() may alternate;
// the port stays the same, so clients configured once reconnect to the restarted server. With
// `append_only` its data survives a restart (appendonly yes); without, it lives in memory
// only. The server is stopped and its directory removed on destruction; the server is also
// killed if the thread that started it exits (PR_SET_PDEATHSIG), so a crashed test leaves no
// server behind.
class ThrowawayRedis {
 public:
  explicit ThrowawayRedis(bool append_only = false);
  ThrowawayRedis(const ThrowawayRedis&) = delete;
  ThrowawayRedis& operator=(const ThrowawayRedis&) = delete;
  ~ThrowawayRedis();

  // Starts the server and waits until it answers PING. INTERNAL if it does not start or
  // does not answer within 10 s.
  absl::Status Start();
  // Stops the server (SIGTERM, which also flushes the append-only file) and waits for it.
  void Stop();
  // Kills the server (SIGKILL: no flush, connections cut) and waits for it.
  void Kill();

  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const;

 private:
  // Sends `signal` to the server and waits for it to exit.
  void Signal(int signal);

  bool append_only_;
  int port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_PG_TEST_ENV_H_
