#include "common/enforcement/scope_invalidation.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/log/log.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::enforcement {

ScopeInvalidationListener::ScopeInvalidationListener(redis::Pool* redis, std::string stream_prefix,
                                                     InvalidateFn invalidate, absl::Duration block)
    : redis_(redis),
      stream_key_(events::StreamKey(stream_prefix, kPermissionsTopic)),
      invalidate_(std::move(invalidate)),
      block_(block) {}

ScopeInvalidationListener::ScopeInvalidationListener(redis::Pool* redis, std::string stream_prefix,
                                                     auth::ScopeAuthenticator* authenticator,
                                                     absl::Duration block)
    : ScopeInvalidationListener(
          redis, std::move(stream_prefix),
          [authenticator](const std::string& tenant_id, const std::vector<std::string>& sessions) {
            authenticator->Invalidate(tenant_id, sessions);
          },
          block) {}

ScopeInvalidationListener::~ScopeInvalidationListener() { Stop(); }

void ScopeInvalidationListener::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void ScopeInvalidationListener::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::string> ScopeInvalidationListener::PollOnce(const std::string& last_id) {
  absl::StatusOr<redis::Reply> reply = redis_->Command(
      {"XREAD", "COUNT", "100", "BLOCK", absl::StrCat(absl::ToInt64Milliseconds(block_)), "STREAMS",
       stream_key_, last_id});
  if (!reply.ok()) return reply.status();
  const redis::ReplyView streams = reply->view();
  if (streams.is_error()) return absl::UnavailableError(std::string(streams.str()));
  std::string next = last_id;
  if (!streams.is_array()) return next;  // Nil: nothing new within `block`.
  for (size_t s = 0; s < streams.size(); ++s) {
    const redis::ReplyView entries = streams[s][1];
    for (size_t e = 0; e < entries.size(); ++e) {
      const redis::ReplyView entry = entries[e];
      next = std::string(entry[0].str());
      const redis::ReplyView fields = entry[1];
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        if (fields[f].str() != "event") continue;
        events::v1::EventEnvelope event;
        events::v1::ScopesInvalidated invalidated;
        if (!event.ParseFromString(std::string(fields[f + 1].str())) ||
            !event.payload().UnpackTo(&invalidated)) {
          continue;  // Other event types (shares) or foreign entries: nothing to drop.
        }
        invalidate_(event.tenant_id(), std::vector<std::string>(invalidated.session_ids().begin(),
                                                                invalidated.session_ids().end()));
      }
    }
  }
  return next;
}

absl::StatusOr<std::string> ScopeInvalidationListener::LastId() {
  absl::StatusOr<redis::Reply> reply =
      redis_->Command({"XREVRANGE", stream_key_, "+", "-", "COUNT", "1"});
  if (!reply.ok()) return reply.status();
  const redis::ReplyView entries = reply->view();
  if (entries.is_error()) return absl::UnavailableError(std::string(entries.str()));
  // An empty (or missing) stream: every entry it will ever get comes after 0-0.
  if (entries.size() == 0) return std::string("0-0");
  return std::string(entries[0][0].str());
}

void ScopeInvalidationListener::Run() {
  // Reads on from the newest entry at start, by id: XREAD's "$" would skip whatever is added
  // between two reads.
  std::string last_id;
  absl::Duration backoff = absl::Milliseconds(10);
  while (!stop_) {
    absl::StatusOr<std::string> next = last_id.empty() ? LastId() : PollOnce(last_id);
    if (next.ok()) {
      last_id = *std::move(next);
      backoff = absl::Milliseconds(10);
      continue;
    }
    log::Warning("scope invalidation: reading the permissions stream failed",
                 {{"stream", stream_key_}, {"error", next.status().ToString()}});
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

}  // namespace touchline::enforcement
