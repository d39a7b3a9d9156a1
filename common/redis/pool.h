// A bounded, thread-safe pool of synchronous hiredis 0.14 connections.
#ifndef TOUCHLINE_COMMON_REDIS_POOL_H_
#define TOUCHLINE_COMMON_REDIS_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/reply.h"

struct redisContext;

namespace touchline::redis {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Most connections open at once. Must be >= 1.
  int pool_size = 4;
  // Limit for connecting, for each read and write of a command, and for waiting for a free
  // connection.
  absl::Duration timeout = absl::Seconds(1);
};

// Parses "host:port" (an IPv6 host in brackets: "[::1]:6379") into options with the other
// fields at their defaults. INVALID_ARGUMENT if there is no host or the port is not a number
// in 1..65535.
absl::StatusOr<RedisOptions> ParseRedisAddress(std::string_view host_port);

class Pool {
 public:
  // Validates `options` (INVALID_ARGUMENT for an empty host, a port outside 1..65535, a pool
  // size < 1 or a timeout <= 0) but does not connect: a service starts while Redis is down
  // and its calls succeed once Redis is back. hiredis writes with write(2), so the first Pool
  // made sets SIGPIPE to SIG_IGN if it is at its default (which would kill the process when
  // Redis closes a connection); errors then arrive as EPIPE.
  static absl::StatusOr<std::unique_ptr<Pool>> Create(RedisOptions options);

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Sends one command, binary-safe (each element of `argv` is one argument, any bytes) and
  // waits for its reply. An error reply from Redis is returned as a Reply with is_error(), not
  // as a Status. Errors: INVALID_ARGUMENT for an empty `argv`; UNAVAILABLE if Redis cannot be
  // reached, no connection is free within the timeout, or the connection fails or times out
  // during the call, in which case the command may or may not have run. A failed connection is
  // dropped; a connection that Redis closed while it was idle is replaced before use, and each
  // call opens at most one new connection.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv);

  // Sends several commands in one round trip and returns their replies in order (each may be
  // an error reply). Errors as Command; on UNAVAILABLE any prefix of the commands may have
  // run. An empty `commands` returns no replies without touching Redis.
  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using Context = std::unique_ptr<redisContext, ContextDeleter>;

  explicit Pool(RedisOptions options);

  absl::StatusOr<Context> Connect() const;
  // A live connection: an idle one, or a new one while fewer than pool_size exist.
  absl::StatusOr<Context> Acquire();
  // Hands `context` back, or drops it (and frees its slot) after an I/O error.
  void Release(Context context);
  // Runs `exchange` on a connection; an I/O error it leaves on the context becomes UNAVAILABLE.
  absl::Status Run(const std::function<void(redisContext*)>& exchange);

  const RedisOptions options_;
  absl::Mutex mu_;
  std::vector<Context> idle_ ABSL_GUARDED_BY(mu_);
  // Connections in existence: idle, in use or being opened.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace touchline::redis

#endif  // TOUCHLINE_COMMON_REDIS_POOL_H_
