#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include <utility>

namespace touchline::redis {

bool ReplyView::is_nil() const { return reply_ == nullptr || reply_->type == REDIS_REPLY_NIL; }

bool ReplyView::is_error() const { return reply_ != nullptr && reply_->type == REDIS_REPLY_ERROR; }

bool ReplyView::is_integer() const {
  return reply_ != nullptr && reply_->type == REDIS_REPLY_INTEGER;
}

bool ReplyView::is_string() const {
  return reply_ != nullptr &&
         (reply_->type == REDIS_REPLY_STRING || reply_->type == REDIS_REPLY_STATUS);
}

bool ReplyView::is_array() const { return reply_ != nullptr && reply_->type == REDIS_REPLY_ARRAY; }

std::string_view ReplyView::str() const {
  if (!is_string() && !is_error()) return {};
  return std::string_view(reply_->str, reply_->len);
}

long long ReplyView::integer() const { return is_integer() ? reply_->integer : 0; }

size_t ReplyView::size() const { return is_array() ? reply_->elements : 0; }

ReplyView ReplyView::operator[](size_t i) const { return ReplyView(reply_->element[i]); }

Reply& Reply::operator=(Reply&& other) noexcept {
  std::swap(reply_, other.reply_);
  return *this;
}

Reply::~Reply() {
  if (reply_ != nullptr) freeReplyObject(reply_);
}

}  // namespace touchline::redis
