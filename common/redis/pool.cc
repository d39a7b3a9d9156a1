#include "common/redis/pool.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <charconv>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace touchline::redis {
namespace {

// One command's arguments as hiredis takes them: pointers and lengths, so any bytes pass.
class ArgvRefs {
 public:
  explicit ArgvRefs(const std::vector<std::string>& argv) {
    pointers_.reserve(argv.size());
    lengths_.reserve(argv.size());
    for (const std::string& arg : argv) {
      pointers_.push_back(arg.data());
      lengths_.push_back(arg.size());
    }
  }
  int argc() const { return static_cast<int>(pointers_.size()); }
  const char** argv() { return pointers_.data(); }
  const size_t* lengths() const { return lengths_.data(); }

 private:
  std::vector<const char*> pointers_;
  std::vector<size_t> lengths_;
};

// Whether an idle connection can still be used. Nothing is sent on an idle connection, so it
// has nothing to read unless Redis closed it meanwhile (restart, timeout, CLIENT KILL); such a
// connection is replaced now rather than failing the caller. One non-blocking poll().
bool StillOpen(const redisContext& context) {
  if (context.err != 0) return false;
  pollfd socket{context.fd, POLLIN, 0};
  return poll(&socket, 1, /*timeout=*/0) == 0;
}

void IgnoreSigpipeIfDefault() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

absl::Status InvalidAddress(std::string_view host_port) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis: address \"", std::string(host_port), "\" is not host:port"));
}

}  // namespace

void Pool::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

absl::StatusOr<RedisOptions> ParseRedisAddress(std::string_view host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return InvalidAddress(host_port);
  std::string_view host = host_port.substr(0, colon);
  const std::string_view port_text = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || port_text.empty() || error != std::errc() ||
      end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return InvalidAddress(host_port);
  }
  RedisOptions options;
  options.host = std::string(host);
  options.port = port;
  return options;
}

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(RedisOptions options) {
  if (options.host.empty() || options.port < 1 || options.port > 65535) {
    return absl::InvalidArgumentError("redis: host must be set and port in 1..65535");
  }
  if (options.pool_size < 1 || options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis: pool_size must be >= 1 and timeout > 0");
  }
  IgnoreSigpipeIfDefault();
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::Pool(RedisOptions options) : options_(std::move(options)) {}

Pool::~Pool() = default;

absl::StatusOr<Pool::Context> Pool::Connect() const {
  const timeval timeout = absl::ToTimeval(options_.timeout);
  Context context(redisConnectWithTimeout(options_.host.c_str(), options_.port, timeout));
  if (context == nullptr) return absl::UnavailableError("redis: cannot allocate a connection");
  if (context->err == 0 && redisSetTimeout(context.get(), timeout) == REDIS_OK) {
    redisEnableKeepAlive(context.get());  // Best effort: finds dead peers of idle connections.
    return context;
  }
  return absl::UnavailableError(absl::StrCat("redis: cannot connect to ", options_.host, ":",
                                             options_.port, ": ", context->errstr));
}

absl::StatusOr<Pool::Context> Pool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.timeout;
  std::vector<Context> dead;  // Closed after the lock is released.
  {
    absl::MutexLock lock(&mu_);
    const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    while (true) {
      if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
        return absl::UnavailableError(absl::StrCat("redis: no connection free within ",
                                                   absl::FormatDuration(options_.timeout)));
      }
      if (idle_.empty()) break;
      Context context = std::move(idle_.back());
      idle_.pop_back();
      if (StillOpen(*context)) return context;
      dead.push_back(std::move(context));
      --open_;
    }
    ++open_;
  }
  absl::StatusOr<Context> made = Connect();
  if (!made.ok()) Release(nullptr);
  return made;
}

void Pool::Release(Context context) {
  if (context != nullptr && context->err == 0) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(context));
    return;
  }
  context.reset();
  absl::MutexLock lock(&mu_);
  --open_;
}

absl::Status Pool::Run(const std::function<void(redisContext*)>& exchange) {
  TL_ASSIGN_OR_RETURN(Context context, Acquire());
  exchange(context.get());
  absl::Status status = context->err == 0
                            ? absl::OkStatus()
                            : absl::UnavailableError(absl::StrCat("redis: ", context->errstr));
  Release(std::move(context));
  return status;
}

absl::StatusOr<Reply> Pool::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("redis: empty command");
  Reply reply(nullptr);
  TL_RETURN_IF_ERROR(Run([&](redisContext* context) {
    ArgvRefs refs(argv);
    reply = Reply(static_cast<redisReply*>(
        redisCommandArgv(context, refs.argc(), refs.argv(), refs.lengths())));
  }));
  return reply;
}

absl::StatusOr<std::vector<Reply>> Pool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<Reply> replies;
  if (commands.empty()) return replies;
  for (const std::vector<std::string>& argv : commands) {
    if (argv.empty()) return absl::InvalidArgumentError("redis: empty command in pipeline");
  }
  replies.reserve(commands.size());
  TL_RETURN_IF_ERROR(Run([&](redisContext* context) {
    for (const std::vector<std::string>& argv : commands) {
      ArgvRefs refs(argv);
      // Buffers the command; only running out of memory fails here.
      if (redisAppendCommandArgv(context, refs.argc(), refs.argv(), refs.lengths()) != REDIS_OK) {
        return;
      }
    }
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context, &raw) != REDIS_OK) return;
      replies.emplace_back(static_cast<redisReply*>(raw));
    }
  }));
  return replies;
}

}  // namespace touchline::redis
