// The gateway's HTTP front on an event loop: Boost.Beast (Asio) against GNU libmicrohttpd
// (epoll, thread pool), serving the same work on loopback so bench/run_http_front_compare.sh
// can measure both (issue 12 item 1). Each serves GET /v1/customers/<id>/360 with the same
// fixed ~4 KB UTF-8 JSON body, HTTP/1.1 keep-alive, on --threads threads, with a request
// deadline for new connections (--head_timeout_s) and an idle keep-alive timeout between
// requests (--idle_timeout_s), so a slow client costs a socket and never a thread.
//   http_front_compare --server=beast|mhd --port=PORT [--threads=2]
//     [--beast_loops=shared|per_thread]
#include <microhttpd.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "boost/asio.hpp"
#include "boost/beast.hpp"

ABSL_FLAG(std::string, server, "beast", "beast or mhd");
ABSL_FLAG(std::string, beast_loops, "shared",
          "shared: one io_context run by all threads; per_thread: one per thread");
ABSL_FLAG(int, port, 8080, "port on 127.0.0.1");
ABSL_FLAG(int, threads, 2, "threads serving connections (fixed)");
ABSL_FLAG(int, head_timeout_s, 10, "a new connection must deliver its request by then");
ABSL_FLAG(int, idle_timeout_s, 60, "a keep-alive connection may stay silent this long");

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::string_view kJson = "application/json; charset=utf-8";
constexpr std::string_view kNotFound = R"({"error":"not found"})";
constexpr std::string_view kBadMethod = R"({"error":"method not allowed"})";

// A customer 360 view of about 4 KB, Chinese text inside.
std::string MakeBody() {
  std::string body = absl::StrCat(
      R"({"customer":{"id":"c-000123","name":"张伟","company":"上海星辰贸易有限公司",)",
      R"("email":"zhang.wei@example.cn","owner":"rep-7","tags":["重点客户","华东区"]},)",
      R"("touchpoints":[)");
  for (int i = 0; body.size() < 3900; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", R"({"id":"tp-)", 1000 + i,
                    R"(","kind":"call","at":"2026-11-)", 10 + i % 18,
                    R"(T09:30:00Z","note":"电话回访：客户对新报价表示满意，希望下周安排演示。"})");
  }
  absl::StrAppend(&body, R"(],"open_deals":2,"lifetime_value":"¥1,280,000"})");
  return body;
}
const std::string& Body() {
  static const std::string* body = new std::string(MakeBody());
  return *body;
}

bool Is360(std::string_view target) {
  constexpr std::string_view kPrefix = "/v1/customers/", kSuffix = "/360";
  if (!target.starts_with(kPrefix) || !target.ends_with(kSuffix)) return false;
  std::string_view id = target.substr(kPrefix.size());
  id.remove_suffix(kSuffix.size());
  return !id.empty() && id.find('/') == std::string_view::npos;
}

// ---- Beast: a connection's handlers run on its strand of the shared io_context, or on the
// io_context of the thread that accepted it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::chrono::seconds head, std::chrono::seconds idle)
      : stream_(std::move(socket)), head_(head), idle_(idle) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

 private:
  // The whole request must arrive within head_ of its first byte (of the accept, at first).
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(1024 * 1024);
    stream_.expires_after(head_);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  // Between requests the connection may stay silent for idle_.
  void AwaitNext() {
    if (buffer_.size() > 0) return ReadRequest();  // pipelined
    stream_.expires_after(idle_);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return;  // idle timeout or closed: the socket goes
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec) return;  // deadline, limit or reset: the connection closes
    const auto& req = parser_->get();
    std::string_view body = Body();
    res_.result(http::status::ok);
    if (req.method() != http::verb::get) {
      res_.result(http::status::method_not_allowed);
      body = kBadMethod;
    } else if (!Is360(std::string_view(req.target().data(), req.target().size()))) {
      res_.result(http::status::not_found);
      body = kNotFound;
    }
    res_.version(req.version());
    res_.set(http::field::content_type, beast::string_view(kJson.data(), kJson.size()));
    res_.keep_alive(req.keep_alive());
    res_.body() = http::span_body<const char>::value_type(body.data(), body.size());
    res_.prepare_payload();
    stream_.expires_after(head_);  // a client that will not read its answer is cut as well
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (!self->res_.keep_alive()) {
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                          return;
                        }
                        self->AwaitNext();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::span_body<const char>> res_;
  std::chrono::seconds head_, idle_;
};

// Accepts on ioc; a connection runs on a strand of it if several threads run ioc, else on
// ioc's own executor.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, bool strands, tcp::endpoint at, std::chrono::seconds head,
           std::chrono::seconds idle)
      : ioc_(ioc), strands_(strands), acceptor_(ioc), head_(head), idle_(idle) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor_.bind(at);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  void Accept() {
    auto on_accept = [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<Session>(std::move(s), self->head_, self->idle_)->Start();
      self->Accept();
    };
    if (strands_) return acceptor_.async_accept(net::make_strand(ioc_), std::move(on_accept));
    acceptor_.async_accept(ioc_, std::move(on_accept));
  }

 private:
  net::io_context& ioc_;
  bool strands_;
  tcp::acceptor acceptor_;
  std::chrono::seconds head_, idle_;
};

// shared: one io_context run by all threads, one acceptor, a strand per connection.
// per_thread: an io_context and an acceptor (SO_REUSEPORT) per thread, no strands.
int RunBeast(int port, int threads, bool per_thread, int head_s, int idle_s) {
  const tcp::endpoint at(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  std::vector<std::unique_ptr<net::io_context>> loops;
  for (int i = 0; i < (per_thread ? threads : 1); ++i) {
    loops.push_back(std::make_unique<net::io_context>(per_thread ? 1 : threads));
    std::make_shared<Listener>(*loops.back(), !per_thread, at, std::chrono::seconds(head_s),
                               std::chrono::seconds(idle_s))
        ->Accept();
  }
  net::signal_set signals(*loops[0], SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    for (auto& loop : loops) loop->stop();
  });
  std::fprintf(stderr, "beast: listening on 127.0.0.1:%d, %d threads, %s\n", port, threads,
               per_thread ? "an io_context per thread" : "one io_context");
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) {
    pool.emplace_back([&loops, i] { loops[loops.size() == 1 ? 0 : i]->run(); });
  }
  loops[0]->run();
  for (auto& t : pool) t.join();
  return 0;
}

// ---- libmicrohttpd: epoll, a pool of N threads each polling its own share of connections.
struct MhdState {
  MHD_Response* ok;
  MHD_Response* not_found;
  MHD_Response* bad_method;
  unsigned idle_s;
};

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                     const char*, const char*, size_t* upload_size, void** request) {
  const auto* state = static_cast<const MhdState*>(cls);
  // The first call comes with the head. A response queued then marks the request to be
  // discarded and closes the connection, so answer on the call after the (empty) body.
  static int head_seen;
  if (*request == nullptr) {
    *request = &head_seen;
    return MHD_YES;
  }
  if (*upload_size != 0) {
    *upload_size = 0;  // a body is read and ignored, up to the connection's memory limit
    return MHD_YES;
  }
  // The daemon's timeout (the request deadline) holds until a request has come; the
  // connection then keeps the idle timeout. MHD_set_connection_option takes a lock, so
  // only once per connection.
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
  if (info != nullptr && info->connection_timeout != state->idle_s) {
    MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, state->idle_s);
  }
  if (std::string_view(method) != MHD_HTTP_METHOD_GET) {
    return MHD_queue_response(connection, MHD_HTTP_METHOD_NOT_ALLOWED, state->bad_method);
  }
  if (!Is360(url)) return MHD_queue_response(connection, MHD_HTTP_NOT_FOUND, state->not_found);
  return MHD_queue_response(connection, MHD_HTTP_OK, state->ok);
}

MHD_Response* MhdResponse(std::string_view body) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, std::string(kJson).c_str());
  return r;
}

int RunMhd(int port, int threads, int head_s, int idle_s) {
  // Wait for the stop signal in this thread; MHD's threads must not take it.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  MhdState state{MhdResponse(Body()), MhdResponse(kNotFound), MhdResponse(kBadMethod),
                 static_cast<unsigned>(idle_s)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  MHD_Daemon* daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, static_cast<uint16_t>(port), nullptr,
      nullptr, &OnRequest, &state, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned>(threads), MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(head_s),
      MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
  if (daemon == nullptr) {
    std::fprintf(stderr, "mhd: MHD_start_daemon failed on port %d\n", port);
    return 1;
  }
  std::fprintf(stderr, "mhd: listening on 127.0.0.1:%d, %d threads\n", port, threads);
  int sig = 0;
  sigwait(&stop, &sig);
  MHD_stop_daemon(daemon);
  for (MHD_Response* r : {state.ok, state.not_found, state.bad_method}) MHD_destroy_response(r);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string server = absl::GetFlag(FLAGS_server);
  const int port = absl::GetFlag(FLAGS_port), threads = absl::GetFlag(FLAGS_threads);
  const int head = absl::GetFlag(FLAGS_head_timeout_s), idle = absl::GetFlag(FLAGS_idle_timeout_s);
  std::fprintf(stderr, "body: %zu bytes\n", Body().size());
  if (server == "beast") {
    const bool per_thread = absl::GetFlag(FLAGS_beast_loops) == "per_thread";
    return RunBeast(port, threads, per_thread, head, idle);
  }
  if (server == "mhd") return RunMhd(port, threads, head, idle);
  std::fprintf(stderr, "--server must be beast or mhd\n");
  return 2;
}
