// Redis replies (RESP2, hiredis 0.14) without hiredis types in the interface.
#ifndef TOUCHLINE_COMMON_REDIS_REPLY_H_
#define TOUCHLINE_COMMON_REDIS_REPLY_H_

#include <cstddef>
#include <string_view>

struct redisReply;

namespace touchline::redis {

// A non-owning view of one reply or of an element of an array reply. Valid while the Reply it
// came from lives. Copyable and cheap.
class ReplyView {
 public:
  // `reply` may be null, which reads as nil.
  explicit ReplyView(const redisReply* reply) : reply_(reply) {}

  bool is_nil() const;
  // An error reply ("-ERR ..."): the command failed in Redis; str() says why.
  bool is_error() const;
  bool is_integer() const;
  // A bulk string or a status reply ("+OK").
  bool is_string() const;
  bool is_array() const;

  // The bytes of a string, status or error reply (binary-safe); empty for other types.
  std::string_view str() const;
  // The value of an integer reply; 0 for other types.
  long long integer() const;
  // The number of elements of an array reply; 0 for other types.
  size_t size() const;
  // Element `i` of an array reply. Precondition: i < size().
  ReplyView operator[](size_t i) const;

 private:
  const redisReply* reply_;
};

// Owns one reply from Redis. Move-only.
class Reply {
 public:
  // Takes ownership of `reply` (may be null: a nil reply).
  explicit Reply(redisReply* reply) : reply_(reply) {}
  Reply(Reply&& other) noexcept : reply_(other.reply_) { other.reply_ = nullptr; }
  Reply& operator=(Reply&& other) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  ReplyView view() const { return ReplyView(reply_); }

  // As ReplyView.
  bool is_nil() const { return view().is_nil(); }
  bool is_error() const { return view().is_error(); }
  bool is_integer() const { return view().is_integer(); }
  bool is_string() const { return view().is_string(); }
  bool is_array() const { return view().is_array(); }
  std::string_view str() const { return view().str(); }
  long long integer() const { return view().integer(); }
  size_t size() const { return view().size(); }
  ReplyView operator[](size_t i) const { return view()[i]; }

 private:
  redisReply* reply_;
};

}  // namespace touchline::redis

#endif  // TOUCHLINE_COMMON_REDIS_REPLY_H_
