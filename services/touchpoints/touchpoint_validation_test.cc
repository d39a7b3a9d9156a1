#include "services/touchpoints/touchpoint_validation.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using Violations = std::vector<std::pair<std::string, std::string>>;

constexpr char kCustomerId[] = "0190f8a2-7c3e-7b1a-9f2d-3c4b5a6d7e8f";
constexpr char kPersonA[] = "0190f8a2-7c3e-7b1a-9f2d-000000000001";
constexpr char kPersonB[] = "0190f8a2-7c3e-7b1a-9f2d-000000000002";
constexpr char kSha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kIdeographicSpace[] = "\u3000";

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 3, 15, 10, 0, 0), absl::UTCTimeZone());

std::string Repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

void SetTime(google::protobuf::Timestamp* timestamp, absl::Time time) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

// The fewest fields a valid touchpoint has.
v1::Touchpoint MinimalTouchpoint() {
  v1::Touchpoint touchpoint;
  touchpoint.set_customer_id(kCustomerId);
  SetTime(touchpoint.mutable_occur_time(), kNow - absl::Hours(2));
  touchpoint.set_channel(v1::CHANNEL_PHONE);
  touchpoint.set_category(v1::CATEGORY_SALES);
  return touchpoint;
}

// Every client-settable field, as a sloppy client sends it: padded with ASCII and
// ideographic spaces, blank list items, an upper-case hash and media type.
v1::Touchpoint FullTouchpoint() {
  const std::string pad = std::string(" ") + kIdeographicSpace;
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  touchpoint.set_customer_id(pad + kCustomerId + pad);
  touchpoint.add_contact_person_ids(kPersonA);
  touchpoint.add_contact_person_ids(pad + kPersonB);
  v1::Participant* owner = touchpoint.add_participants();
  owner->set_user_id(pad + "u-1001" + pad);
  owner->set_kind(v1::PARTICIPANT_KIND_EMPLOYEE);
  owner->set_role(pad + "主讲" + pad);
  v1::Participant* partner = touchpoint.add_participants();
  partner->set_user_id("partner:42");
  partner->set_kind(v1::PARTICIPANT_KIND_PARTNER_USER);
  SetTime(touchpoint.mutable_record_time(), kNow - absl::Hours(1));
  touchpoint.set_channel(v1::CHANNEL_ONSITE_VISIT);
  touchpoint.set_direction(v1::DIRECTION_OUTBOUND);
  touchpoint.set_category(v1::CATEGORY_SALES);
  touchpoint.set_subject(pad + "拜访深圳腾飞科技，讨论年度采购" + pad);
  touchpoint.set_summary(pad + "客户对价格有顾虑。\n希望下周给出正式报价。" + pad);
  touchpoint.set_content(std::string("  ") + kIdeographicSpace +
                         "张总：价格能否再优惠？\r\n\t我们：可以申请。  ");
  touchpoint.add_needs(pad + "年度框架协议" + pad);
  touchpoint.add_needs(pad);
  touchpoint.add_needs("本地化部署");
  touchpoint.add_concerns("【异议】价格偏高");
  touchpoint.add_interests(kIdeographicSpace);
  touchpoint.add_interests("数据看板");
  touchpoint.set_outcome(v1::OUTCOME_QUOTED);
  touchpoint.set_sentiment(v1::SENTIMENT_POSITIVE);
  touchpoint.add_emotion_labels(v1::EMOTION_LABEL_ANXIETY);
  touchpoint.add_emotion_labels(v1::EMOTION_LABEL_PRAISE);
  touchpoint.mutable_duration()->set_seconds(5400);
  (*touchpoint.mutable_behavior_metrics())["page_dwell_seconds"] = 42.5;
  (*touchpoint.mutable_behavior_metrics())["页面停留秒数"] = 0;
  v1::NextAction* next = touchpoint.mutable_next_action();
  next->set_description(pad + "发送正式报价单" + pad);
  next->set_owner_id(pad + "u-1001" + pad);
  SetTime(next->mutable_due_time(), kNow + absl::Hours(24 * 7));
  touchpoint.set_customer_status_after(contacts::v1::LIFECYCLE_STATUS_HIGH_INTENT);
  touchpoint.add_tags(pad + "展会线索" + pad);
  touchpoint.add_tags("VIP");
  (*touchpoint.mutable_custom_attributes())["region"].set_string_value(" 华南 ");
  (*touchpoint.mutable_custom_attributes())["Budget_2026"].set_double_value(1.5e6);
  (*touchpoint.mutable_custom_attributes())["visits"].set_int_value(3);
  (*touchpoint.mutable_custom_attributes())["signed"].set_bool_value(false);
  SetTime((*touchpoint.mutable_custom_attributes())["met_at"].mutable_timestamp_value(), kNow);
  v1::Attachment* recording = touchpoint.add_attachments();
  recording->set_uri(pad + "s3://touchline-files/recordings/abc.mp3" + pad);
  recording->set_media_type(" Audio/MPEG ");
  recording->set_size_bytes(1048576);
  recording->set_sha256(std::string(" ") +
                        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
  recording->set_file_name(pad + "通话录音.mp3" + pad);
  touchpoint.set_source_system(pad + "wecom" + pad);
  touchpoint.set_external_id(pad + "msg-8812" + pad);
  return touchpoint;
}

Violations Validate(v1::Touchpoint& touchpoint, std::string_view prefix = "touchpoint",
                    const ValidationOptions& options = ValidationOptions{}) {
  status::FieldViolations violations;
  NormalizeAndValidate(touchpoint, kNow, options, prefix, violations);
  const Violations result = status::FieldViolationsOf(violations.ToStatus());
  EXPECT_EQ(result.size(), violations.size());
  return result;
}

// The violations of FullTouchpoint() after `change`.
template <typename Change>
Violations ViolationsAfter(Change change) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  change(touchpoint);
  return Validate(touchpoint);
}

// --- Valid input and normalisation ---

TEST(TouchpointValidationTest, MinimalTouchpointIsValid) {
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  EXPECT_THAT(Validate(touchpoint), IsEmpty());
}

TEST(TouchpointValidationTest, FullChineseTouchpointIsValidAndNormalised) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  const std::string content = touchpoint.content();
  EXPECT_THAT(Validate(touchpoint), IsEmpty());

  EXPECT_EQ(touchpoint.customer_id(), kCustomerId);
  EXPECT_THAT(touchpoint.contact_person_ids(), ElementsAre(kPersonA, kPersonB));
  EXPECT_EQ(touchpoint.participants(0).user_id(), "u-1001");
  EXPECT_EQ(touchpoint.participants(0).role(), "主讲");
  EXPECT_EQ(touchpoint.subject(), "拜访深圳腾飞科技，讨论年度采购");
  EXPECT_EQ(touchpoint.summary(), "客户对价格有顾虑。\n希望下周给出正式报价。");
  EXPECT_EQ(touchpoint.content(), content);  // a transcript is kept exactly
  EXPECT_THAT(touchpoint.needs(), ElementsAre("年度框架协议", "本地化部署"));
  EXPECT_THAT(touchpoint.concerns(), ElementsAre("【异议】价格偏高"));
  EXPECT_THAT(touchpoint.interests(), ElementsAre("数据看板"));
  EXPECT_EQ(touchpoint.next_action().description(), "发送正式报价单");
  EXPECT_EQ(touchpoint.next_action().owner_id(), "u-1001");
  EXPECT_THAT(touchpoint.tags(), ElementsAre("展会线索", "VIP"));
  EXPECT_EQ(touchpoint.custom_attributes().at("region").string_value(), " 华南 ");
  EXPECT_EQ(touchpoint.attachments(0).uri(), "s3://touchline-files/recordings/abc.mp3");
  EXPECT_EQ(touchpoint.attachments(0).media_type(), "audio/mpeg");
  EXPECT_EQ(touchpoint.attachments(0).sha256(), kSha256);
  EXPECT_EQ(touchpoint.attachments(0).file_name(), "通话录音.mp3");
  EXPECT_EQ(touchpoint.source_system(), "wecom");
  EXPECT_EQ(touchpoint.external_id(), "msg-8812");
}

TEST(TouchpointValidationTest, NormalisingTwiceChangesNothing) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  ASSERT_THAT(Validate(touchpoint), IsEmpty());
  const std::string once = touchpoint.SerializeAsString();
  ASSERT_THAT(Validate(touchpoint), IsEmpty());
  EXPECT_EQ(touchpoint.SerializeAsString(), once);
}

TEST(TouchpointValidationTest, UnsetRecordTimeStaysUnset) {
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  EXPECT_THAT(Validate(touchpoint), IsEmpty());
  EXPECT_FALSE(touchpoint.has_record_time());
}

TEST(TouchpointValidationTest, OutputOnlyFieldsAreIgnored) {
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  touchpoint.set_touchpoint_id("not a uuid\x01");
  touchpoint.set_state(static_cast<v1::TouchpointState>(99));
  touchpoint.set_recorded_by("\xff");
  touchpoint.mutable_update_time()->set_nanos(-1);
  touchpoint.mutable_delete_time()->set_seconds(std::numeric_limits<int64_t>::max());
  touchpoint.set_etag("\xff");
  EXPECT_THAT(Validate(touchpoint), IsEmpty());
}

// --- Prefixes and ordering ---

TEST(TouchpointValidationTest, EmptyPrefixGivesBarePaths) {
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  touchpoint.clear_customer_id();
  touchpoint.add_tags("");
  EXPECT_THAT(Validate(touchpoint, ""),
              ElementsAre(Pair("customer_id", "is required"), Pair("tags[0]", "is required")));
}

TEST(TouchpointValidationTest, PrefixStartsEveryPath) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  touchpoint.set_channel(v1::CHANNEL_UNSPECIFIED);
  touchpoint.mutable_attachments(0)->set_sha256("abc");
  (*touchpoint.mutable_custom_attributes())["region"].Clear();
  EXPECT_THAT(
      Validate(touchpoint, "requests[2].touchpoint"),
      ElementsAre(
          Pair("requests[2].touchpoint.channel", "is required"),
          Pair("requests[2].touchpoint.custom_attributes[\"region\"]", "must have a value"),
          Pair("requests[2].touchpoint.attachments[0].sha256", "must be 64 hexadecimal digits")));
}

TEST(TouchpointValidationTest, ReportsEveryProblemInFieldOrder) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  touchpoint.set_external_id("");
  touchpoint.mutable_attachments(0)->set_size_bytes(0);
  touchpoint.add_tags("VIP");
  (*touchpoint.mutable_behavior_metrics())["page_dwell_seconds"] =
      std::numeric_limits<double>::quiet_NaN();
  touchpoint.add_emotion_labels(v1::EMOTION_LABEL_UNSPECIFIED);
  touchpoint.set_subject(Repeat("长", 257));
  touchpoint.set_category(static_cast<v1::Category>(99));
  touchpoint.clear_occur_time();
  touchpoint.mutable_participants(1)->set_kind(v1::PARTICIPANT_KIND_UNSPECIFIED);
  touchpoint.add_contact_person_ids("x");
  touchpoint.set_customer_id("");
  EXPECT_THAT(
      Validate(touchpoint),
      ElementsAre(
          Pair("touchpoint.customer_id", "is required"),
          Pair("touchpoint.contact_person_ids[2]", "must be a UUID"),
          Pair("touchpoint.participants[1].kind", "is required"),
          Pair("touchpoint.occur_time", "is required"),
          Pair("touchpoint.category", "must be a known value"),
          Pair("touchpoint.subject", "must be at most 256 characters"),
          Pair("touchpoint.emotion_labels[2]", "must not be EMOTION_LABEL_UNSPECIFIED"),
          Pair("touchpoint.behavior_metrics[\"page_dwell_seconds\"]", "must be a finite number"),
          Pair("touchpoint.tags[2]", "duplicates tags[1]"),
          Pair("touchpoint.attachments[0].size_bytes", "must be positive"),
          Pair("touchpoint.external_id", "is required when source_system is set")));
}

// --- Ids ---

TEST(TouchpointValidationTest, CustomerIdMustBeAUuid) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_customer_id(kIdeographicSpace); }),
              ElementsAre(Pair("touchpoint.customer_id", "is required")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_customer_id("cust-1"); }),
              ElementsAre(Pair("touchpoint.customer_id", "must be a UUID")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_customer_id("\xc3\x28"); }),
              ElementsAre(Pair("touchpoint.customer_id", "must be valid UTF-8")));
}

TEST(TouchpointValidationTest, ContactPersonIds) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_contact_person_ids("张三"); }),
              ElementsAre(Pair("touchpoint.contact_person_ids[2]", "must be a UUID")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_contact_person_ids(" "); }),
              ElementsAre(Pair("touchpoint.contact_person_ids[2]", "is required")));
  // UUIDs are case-insensitive, so an upper-case repeat is a duplicate too.
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        t.add_contact_person_ids("0190F8A2-7C3E-7B1A-9F2D-000000000001");
      }),
      ElementsAre(Pair("touchpoint.contact_person_ids[2]", "duplicates contact_person_ids[0]")));
}

TEST(TouchpointValidationTest, ContactPersonIdsAtMost20) {
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_contact_person_ids();
      for (int i = 0; i < count; ++i) {
        const std::string n = std::to_string(i);
        t.add_contact_person_ids("0190f8a2-7c3e-7b1a-9f2d-" + std::string(12 - n.size(), '0') + n);
      }
    };
  };
  EXPECT_THAT(ViolationsAfter(with(20)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(21)),
              ElementsAre(Pair("touchpoint.contact_person_ids", "must have at most 20 entries")));
}

TEST(TouchpointValidationTest, ParticipantUserIds) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_participants(1)->set_user_id(kIdeographicSpace);
              }),
              ElementsAre(Pair("touchpoint.participants[1].user_id", "is required")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        t.mutable_participants(1)->set_user_id(std::string("u") + kIdeographicSpace + "2");
      }),
      ElementsAre(Pair("touchpoint.participants[1].user_id", "must not contain white space")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_participants(1)->set_user_id(
                    "u\x1f"
                    "2");
              }),
              ElementsAre(Pair("touchpoint.participants[1].user_id",
                               "must not contain control characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_participants(1)->set_user_id(Repeat("员", 128));
              }),
              IsEmpty());
  EXPECT_THAT(
      ViolationsAfter(
          [](v1::Touchpoint& t) { t.mutable_participants(1)->set_user_id(Repeat("员", 129)); }),
      ElementsAre(Pair("touchpoint.participants[1].user_id", "must be at most 128 characters")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) { t.mutable_participants(1)->set_user_id(" u-1001"); }),
      ElementsAre(
          Pair("touchpoint.participants[1].user_id", "duplicates participants[0].user_id")));
}

TEST(TouchpointValidationTest, ParticipantKindAndRole) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_participants(0)->set_kind(static_cast<v1::ParticipantKind>(7));
              }),
              ElementsAre(Pair("touchpoint.participants[0].kind", "must be a known value")));
  EXPECT_THAT(ViolationsAfter(
                  [](v1::Touchpoint& t) { t.mutable_participants(0)->set_role(Repeat("讲", 64)); }),
              IsEmpty());
  EXPECT_THAT(
      ViolationsAfter(
          [](v1::Touchpoint& t) { t.mutable_participants(0)->set_role(Repeat("讲", 65)); }),
      ElementsAre(Pair("touchpoint.participants[0].role", "must be at most 64 characters")));
}

TEST(TouchpointValidationTest, ParticipantsAtMost20) {
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_participants();
      for (int i = 0; i < count; ++i) {
        v1::Participant* participant = t.add_participants();
        participant->set_user_id("u-" + std::to_string(i));
        participant->set_kind(v1::PARTICIPANT_KIND_EMPLOYEE);
      }
    };
  };
  EXPECT_THAT(ViolationsAfter(with(20)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(21)),
              ElementsAre(Pair("touchpoint.participants", "must have at most 20 entries")));
}

// --- Times ---

TEST(TouchpointValidationTest, OccurTimeMayBeAtMostTheClockSkewAhead) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.clear_record_time();
                SetTime(t.mutable_occur_time(), kNow + absl::Minutes(5));
              }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.clear_record_time();
                SetTime(t.mutable_occur_time(), kNow + absl::Minutes(5) + absl::Seconds(1));
              }),
              ElementsAre(Pair("touchpoint.occur_time", "must not be more than 5m in the future")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.clear_record_time();
                SetTime(t.mutable_occur_time(), kNow + absl::Minutes(5) + absl::Nanoseconds(1));
              }),
              ElementsAre(Pair("touchpoint.occur_time", "must not be more than 5m in the future")));
}

TEST(TouchpointValidationTest, ClockSkewIsAnOption) {
  ValidationOptions options;
  options.max_clock_skew = absl::ZeroDuration();
  v1::Touchpoint at_now = MinimalTouchpoint();
  SetTime(at_now.mutable_occur_time(), kNow);
  EXPECT_THAT(Validate(at_now, "touchpoint", options), IsEmpty());
  v1::Touchpoint ahead = MinimalTouchpoint();
  SetTime(ahead.mutable_occur_time(), kNow + absl::Seconds(1));
  EXPECT_THAT(Validate(ahead, "touchpoint", options),
              ElementsAre(Pair("touchpoint.occur_time", "must not be in the future")));
}

TEST(TouchpointValidationTest, OccurTimeNotBefore2000) {
  EXPECT_THAT(ViolationsAfter(
                  [](v1::Touchpoint& t) { SetTime(t.mutable_occur_time(), kEarliestOccurTime); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                SetTime(t.mutable_occur_time(), kEarliestOccurTime - absl::Seconds(1));
              }),
              ElementsAre(Pair("touchpoint.occur_time", "must not be before 2000-01-01")));
  // An epoch timestamp from a client that forgot to set the seconds.
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.mutable_occur_time()->Clear(); }),
              ElementsAre(Pair("touchpoint.occur_time", "must not be before 2000-01-01")));
}

TEST(TouchpointValidationTest, InvalidTimestamps) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.mutable_occur_time()->set_nanos(-1); }),
              ElementsAre(Pair("touchpoint.occur_time", "nanos must be between 0 and 999999999")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) { t.mutable_record_time()->set_nanos(1000000000); }),
      ElementsAre(Pair("touchpoint.record_time", "nanos must be between 0 and 999999999")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        t.mutable_occur_time()->set_seconds(253402300800);  // 10000-01-01
      }),
      ElementsAre(Pair("touchpoint.occur_time", "must be a time between the years 1 and 9999")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_next_action()->mutable_due_time()->set_seconds(-62135596801);
              }),
              ElementsAre(Pair("touchpoint.next_action.due_time",
                               "must be a time between the years 1 and 9999")));
}

TEST(TouchpointValidationTest, RecordTime) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { *t.mutable_record_time() = t.occur_time(); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                SetTime(t.mutable_record_time(), kNow - absl::Hours(2) - absl::Nanoseconds(1));
              }),
              ElementsAre(Pair("touchpoint.record_time", "must not be before occur_time")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                SetTime(t.mutable_record_time(), kNow + absl::Minutes(5));
              }),
              IsEmpty());
  EXPECT_THAT(
      ViolationsAfter(
          [](v1::Touchpoint& t) { SetTime(t.mutable_record_time(), kNow + absl::Minutes(6)); }),
      ElementsAre(Pair("touchpoint.record_time", "must not be more than 5m in the future")));
}

TEST(TouchpointValidationTest, Duration) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.mutable_duration()->Clear(); }), IsEmpty());
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) { t.mutable_duration()->set_seconds(7 * 24 * 3600); }),
      IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_duration()->set_seconds(7 * 24 * 3600);
                t.mutable_duration()->set_nanos(1);
              }),
              ElementsAre(Pair("touchpoint.duration", "must be at most 168h")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_duration()->set_seconds(0);
                t.mutable_duration()->set_nanos(-1);
              }),
              ElementsAre(Pair("touchpoint.duration", "must not be negative")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_duration()->set_seconds(1);
                t.mutable_duration()->set_nanos(-1);
              }),
              ElementsAre(Pair("touchpoint.duration", "must be a valid duration")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_duration()->set_seconds(1);
                t.mutable_duration()->set_nanos(1000000000);
              }),
              ElementsAre(Pair("touchpoint.duration", "must be a valid duration")));
}

// --- Enums ---

TEST(TouchpointValidationTest, RequiredEnums) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_channel(v1::CHANNEL_UNSPECIFIED);
                t.set_category(v1::CATEGORY_UNSPECIFIED);
                t.set_direction(v1::DIRECTION_UNSPECIFIED);
                t.set_outcome(v1::OUTCOME_UNSPECIFIED);
                t.set_sentiment(v1::SENTIMENT_UNSPECIFIED);
                t.set_customer_status_after(contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED);
              }),
              ElementsAre(Pair("touchpoint.channel", "is required"),
                          Pair("touchpoint.category", "is required")));
}

TEST(TouchpointValidationTest, UnknownEnumNumbers) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_channel(static_cast<v1::Channel>(99));
                t.set_direction(static_cast<v1::Direction>(3));
                t.set_category(static_cast<v1::Category>(-1));
                t.set_outcome(static_cast<v1::Outcome>(15));
                t.set_sentiment(static_cast<v1::Sentiment>(4));
                t.add_emotion_labels(static_cast<v1::EmotionLabel>(7));
                t.set_customer_status_after(static_cast<contacts::v1::LifecycleStatus>(99));
              }),
              ElementsAre(Pair("touchpoint.channel", "must be a known value"),
                          Pair("touchpoint.direction", "must be a known value"),
                          Pair("touchpoint.category", "must be a known value"),
                          Pair("touchpoint.outcome", "must be a known value"),
                          Pair("touchpoint.sentiment", "must be a known value"),
                          Pair("touchpoint.emotion_labels[2]", "must be a known value"),
                          Pair("touchpoint.customer_status_after", "must be a known value")));
}

TEST(TouchpointValidationTest, UnknownEnumNumberFromTheWire) {
  // What a newer client sends: channel (field 7) = 99, kept by proto3 as an unknown value.
  v1::Touchpoint touchpoint = MinimalTouchpoint();
  std::string wire = touchpoint.SerializeAsString();
  wire.append("\x38\x63", 2);
  ASSERT_TRUE(touchpoint.ParseFromString(wire));
  ASSERT_EQ(static_cast<int>(touchpoint.channel()), 99);
  EXPECT_THAT(Validate(touchpoint),
              ElementsAre(Pair("touchpoint.channel", "must be a known value")));
}

TEST(TouchpointValidationTest, EmotionLabels) {
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) { t.add_emotion_labels(v1::EMOTION_LABEL_ANXIETY); }),
      ElementsAre(Pair("touchpoint.emotion_labels[2]", "duplicates emotion_labels[0]")));
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_emotion_labels();
      for (int i = 0; i < count; ++i) {
        t.add_emotion_labels(static_cast<v1::EmotionLabel>(1 + i % 6));
      }
    };
  };
  EXPECT_THAT(ViolationsAfter(with(6)), IsEmpty());
  // 11 labels: one over the limit, and necessarily with duplicates.
  const Violations over = ViolationsAfter(with(11));
  ASSERT_FALSE(over.empty());
  EXPECT_THAT(over.front(), Pair("touchpoint.emotion_labels", "must have at most 10 entries"));
}

// --- Texts ---

TEST(TouchpointValidationTest, SubjectCountsChineseCharactersAsOne) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_subject(Repeat("访", 256)); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_subject(Repeat("访", 257)); }),
              ElementsAre(Pair("touchpoint.subject", "must be at most 256 characters")));
  // Trimmed before it is measured.
  EXPECT_THAT(ViolationsAfter(
                  [](v1::Touchpoint& t) { t.set_subject(Repeat("访", 256) + kIdeographicSpace); }),
              IsEmpty());
}

TEST(TouchpointValidationTest, InvalidUtf8IsReportedInsteadOfLength) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_subject(Repeat("\xe8\xae", 300)); }),
              ElementsAre(Pair("touchpoint.subject", "must be valid UTF-8")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary("\xed\xa0\x80"); }),
              ElementsAre(Pair("touchpoint.summary", "must be valid UTF-8")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_content("ok\xff"); }),
              ElementsAre(Pair("touchpoint.content", "must be valid UTF-8")));
}

TEST(TouchpointValidationTest, SubjectHasNoControlCharacters) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_subject("第一行\n第二行"); }),
              ElementsAre(Pair("touchpoint.subject", "must not contain control characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_subject(
                    "a\x7f"
                    "b");
              }),
              ElementsAre(Pair("touchpoint.subject", "must not contain control characters")));
}

TEST(TouchpointValidationTest, Summary) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary(Repeat("要", 4000)); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary(Repeat("要", 4001)); }),
              ElementsAre(Pair("touchpoint.summary", "must be at most 4000 characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary("一\t二\r\n三"); }), IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary(std::string("a\0b", 3)); }),
              ElementsAre(Pair("touchpoint.summary", "must not contain NUL characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_summary("a\x01b"); }),
              ElementsAre(Pair("touchpoint.summary",
                               "must not contain control characters other than tab and line "
                               "breaks")));
}

TEST(TouchpointValidationTest, ContentIsKeptExactly) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_content(Repeat("话", 65536)); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_content(Repeat("话", 65537)); }),
              ElementsAre(Pair("touchpoint.content", "must be at most 65536 characters")));
  // Not trimmed, so white space counts towards the limit.
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_content(Repeat("话", 65536) + " "); }),
              ElementsAre(Pair("touchpoint.content", "must be at most 65536 characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_content("响铃\a"); }),
              ElementsAre(Pair("touchpoint.content",
                               "must not contain control characters other than tab and line "
                               "breaks")));
  v1::Touchpoint touchpoint = FullTouchpoint();
  touchpoint.set_content(std::string(kIdeographicSpace) + "\n");
  EXPECT_THAT(Validate(touchpoint), IsEmpty());
  EXPECT_EQ(touchpoint.content(), std::string(kIdeographicSpace) + "\n");
}

TEST(TouchpointValidationTest, ListItemsAreTrimmedAndBlankOnesDropped) {
  v1::Touchpoint touchpoint = FullTouchpoint();
  touchpoint.clear_concerns();
  touchpoint.add_concerns(" ");
  touchpoint.add_concerns(Repeat("贵", 501));
  touchpoint.add_concerns(std::string(kIdeographicSpace) + Repeat("贵", 500) + kIdeographicSpace);
  touchpoint.add_concerns("\xff");
  // Paths name the index the client sent, not the index after blanks were dropped.
  EXPECT_THAT(Validate(touchpoint),
              ElementsAre(Pair("touchpoint.concerns[1]", "must be at most 500 characters"),
                          Pair("touchpoint.concerns[3]", "must be valid UTF-8")));
  EXPECT_EQ(touchpoint.concerns_size(), 3);
  EXPECT_EQ(touchpoint.concerns(1), Repeat("贵", 500));
}

TEST(TouchpointValidationTest, ListsAtMost20ItemsAfterBlanksAreDropped) {
  auto with = [](int count, bool blank) {
    return [count, blank](v1::Touchpoint& t) {
      t.clear_interests();
      for (int i = 0; i < count; ++i) t.add_interests("兴趣" + std::to_string(i));
      if (blank) t.add_interests(kIdeographicSpace);
    };
  };
  EXPECT_THAT(ViolationsAfter(with(20, true)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(21, false)),
              ElementsAre(Pair("touchpoint.interests", "must have at most 20 entries")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                for (int i = 0; i < 20; ++i) t.add_needs("需求");
              }),
              ElementsAre(Pair("touchpoint.needs", "must have at most 20 entries")));
}

// --- Behaviour metrics ---

TEST(TouchpointValidationTest, BehaviorMetricValuesAreFinite) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                (*t.mutable_behavior_metrics())["page_dwell_seconds"] =
                    std::numeric_limits<double>::infinity();
                (*t.mutable_behavior_metrics())["scroll_depth"] = -1.5;
              }),
              ElementsAre(Pair("touchpoint.behavior_metrics[\"page_dwell_seconds\"]",
                               "must be a finite number")));
}

TEST(TouchpointValidationTest, BehaviorMetricKeys) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                (*t.mutable_behavior_metrics())[""] = 1;
                (*t.mutable_behavior_metrics())[" padded"] = 1;
                (*t.mutable_behavior_metrics())[Repeat("键", 64)] = 1;
                (*t.mutable_behavior_metrics())[Repeat("长", 65)] = 1;
                (*t.mutable_behavior_metrics())["tab\there"] = 1;
                (*t.mutable_behavior_metrics())["say \"hi\"\xff"] = 1;
              }),
              ElementsAre(Pair("touchpoint.behavior_metrics[\"\"]", "key is required"),
                          Pair("touchpoint.behavior_metrics[\" padded\"]",
                               "key must not start or end with white space"),
                          Pair("touchpoint.behavior_metrics[\"say \\\"hi\\\"\\xFF\"]",
                               "must be valid UTF-8"),
                          Pair("touchpoint.behavior_metrics[\"tab\\x09here\"]",
                               "key must not contain control characters"),
                          Pair("touchpoint.behavior_metrics[\"" + Repeat("长", 65) + "\"]",
                               "key must be at most 64 characters")));
}

TEST(TouchpointValidationTest, BehaviorMetricKeyWithNulIsAnEncodingProblem) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                (*t.mutable_behavior_metrics())[std::string("a\0b", 3)] = 1;
              }),
              ElementsAre(Pair("touchpoint.behavior_metrics[\"a\\x00b\"]",
                               "must not contain NUL characters")));
}

TEST(TouchpointValidationTest, BehaviorMetricsAtMost50) {
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_behavior_metrics();
      for (int i = 0; i < count; ++i) (*t.mutable_behavior_metrics())["m" + std::to_string(i)] = i;
    };
  };
  EXPECT_THAT(ViolationsAfter(with(50)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(51)),
              ElementsAre(Pair("touchpoint.behavior_metrics", "must have at most 50 entries")));
}

// --- Next action ---

TEST(TouchpointValidationTest, NextActionNeedsADescription) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_next_action()->set_description(kIdeographicSpace);
              }),
              ElementsAre(Pair("touchpoint.next_action.description", "is required")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_next_action()->clear_description();
                t.mutable_next_action()->clear_owner_id();
              }),
              ElementsAre(Pair("touchpoint.next_action.description", "is required")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_next_action()->clear_description();
                t.mutable_next_action()->clear_due_time();
              }),
              ElementsAre(Pair("touchpoint.next_action.description", "is required")));
  // An empty next_action is the same as none.
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.mutable_next_action()->Clear(); }),
              IsEmpty());
}

TEST(TouchpointValidationTest, NextActionLimits) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_next_action()->set_description(Repeat("做", 1000));
              }),
              IsEmpty());
  EXPECT_THAT(
      ViolationsAfter(
          [](v1::Touchpoint& t) { t.mutable_next_action()->set_description(Repeat("做", 1001)); }),
      ElementsAre(Pair("touchpoint.next_action.description", "must be at most 1000 characters")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) { t.mutable_next_action()->set_owner_id("王 经理"); }),
      ElementsAre(Pair("touchpoint.next_action.owner_id", "must not contain white space")));
  EXPECT_THAT(
      ViolationsAfter(
          [](v1::Touchpoint& t) { t.mutable_next_action()->set_owner_id(Repeat("x", 129)); }),
      ElementsAre(Pair("touchpoint.next_action.owner_id", "must be at most 128 characters")));
}

// --- Tags ---

TEST(TouchpointValidationTest, Tags) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.add_tags(kIdeographicSpace);
                t.add_tags(" 展会线索");
                t.add_tags("VIP");
              }),
              ElementsAre(Pair("touchpoint.tags[2]", "is required"),
                          Pair("touchpoint.tags[3]", "duplicates tags[0]"),
                          Pair("touchpoint.tags[4]", "duplicates tags[1]")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_tags(Repeat("标", 64)); }), IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_tags(Repeat("标", 65)); }),
              ElementsAre(Pair("touchpoint.tags[2]", "must be at most 64 characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_tags("a\tb"); }),
              ElementsAre(Pair("touchpoint.tags[2]", "must not contain control characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_tags("\xc0\xaf"); }),
              ElementsAre(Pair("touchpoint.tags[2]", "must be valid UTF-8")));
}

TEST(TouchpointValidationTest, TagsAtMost50) {
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_tags();
      for (int i = 0; i < count; ++i) t.add_tags("标签" + std::to_string(i));
    };
  };
  EXPECT_THAT(ViolationsAfter(with(50)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(51)),
              ElementsAre(Pair("touchpoint.tags", "must have at most 50 entries")));
}

// --- Custom attributes ---

TEST(TouchpointValidationTest, CustomAttributeKeys) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                auto& attributes = *t.mutable_custom_attributes();
                attributes[Repeat("K", 64)].set_int_value(1);
                attributes[Repeat("k", 65)].set_int_value(1);
                attributes[""].set_int_value(1);
                attributes["sales-region"].set_int_value(1);
                attributes["区域"].set_int_value(1);
                attributes["bad\xff"].set_int_value(1);
              }),
              ElementsAre(Pair("touchpoint.custom_attributes[\"\"]",
                               "key must be 1 to 64 characters of A-Z, a-z, 0-9 and _"),
                          Pair("touchpoint.custom_attributes[\"bad\\xFF\"]", "must be valid UTF-8"),
                          Pair("touchpoint.custom_attributes[\"" + Repeat("k", 65) + "\"]",
                               "key must be 1 to 64 characters of A-Z, a-z, 0-9 and _"),
                          Pair("touchpoint.custom_attributes[\"sales-region\"]",
                               "key must be 1 to 64 characters of A-Z, a-z, 0-9 and _"),
                          Pair("touchpoint.custom_attributes[\"区域\"]",
                               "key must be 1 to 64 characters of A-Z, a-z, 0-9 and _")));
}

TEST(TouchpointValidationTest, CustomAttributeValues) {
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        auto& attributes = *t.mutable_custom_attributes();
        attributes["a_unset"];
        attributes["b_nan"].set_double_value(std::numeric_limits<double>::quiet_NaN());
        attributes["c_long"].set_string_value(Repeat("值", 4097));
        attributes["d_max"].set_string_value(Repeat("值", 4096));
        attributes["e_bad"].set_string_value("\xff");
        attributes["f_time"].mutable_timestamp_value()->set_nanos(-5);
        attributes["g_neg_inf"].set_double_value(-std::numeric_limits<double>::infinity());
      }),
      ElementsAre(
          Pair("touchpoint.custom_attributes[\"a_unset\"]", "must have a value"),
          Pair("touchpoint.custom_attributes[\"b_nan\"]", "must be a finite number"),
          Pair("touchpoint.custom_attributes[\"c_long\"]", "must be at most 4096 characters"),
          Pair("touchpoint.custom_attributes[\"e_bad\"]", "must be valid UTF-8"),
          Pair("touchpoint.custom_attributes[\"f_time\"]", "nanos must be between 0 and 999999999"),
          Pair("touchpoint.custom_attributes[\"g_neg_inf\"]", "must be a finite number")));
}

TEST(TouchpointValidationTest, CustomAttributesAtMost100) {
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      t.clear_custom_attributes();
      for (int i = 0; i < count; ++i) {
        (*t.mutable_custom_attributes())["attr_" + std::to_string(i)].set_bool_value(true);
      }
    };
  };
  EXPECT_THAT(ViolationsAfter(with(100)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(101)),
              ElementsAre(Pair("touchpoint.custom_attributes", "must have at most 100 entries")));
}

// --- Attachments ---

TEST(TouchpointValidationTest, AttachmentRequiredFields) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.add_attachments(); }),
              ElementsAre(Pair("touchpoint.attachments[1].uri", "is required"),
                          Pair("touchpoint.attachments[1].media_type", "is required"),
                          Pair("touchpoint.attachments[1].size_bytes", "must be positive"),
                          Pair("touchpoint.attachments[1].sha256", "is required")));
}

TEST(TouchpointValidationTest, AttachmentSyntax) {
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        v1::Attachment& a = *t.mutable_attachments(0);
        a.set_uri("recordings/abc.mp3");
        a.set_media_type("audio");
        a.set_size_bytes(-1);
        a.set_sha256(std::string(kSha256) + "0");
      }),
      ElementsAre(Pair("touchpoint.attachments[0].uri",
                       "must be an absolute URI with a scheme, e.g. s3://bucket/key"),
                  Pair("touchpoint.attachments[0].media_type",
                       "must be a media type of the form type/subtype, e.g. audio/mpeg"),
                  Pair("touchpoint.attachments[0].size_bytes", "must be positive"),
                  Pair("touchpoint.attachments[0].sha256", "must be 64 hexadecimal digits")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        v1::Attachment& a = *t.mutable_attachments(0);
        a.set_uri("3s://x");
        a.set_media_type("audio/mpeg; charset=x");
        a.set_sha256(Repeat("g", 64));
      }),
      ElementsAre(Pair("touchpoint.attachments[0].uri",
                       "must be an absolute URI with a scheme, e.g. s3://bucket/key"),
                  Pair("touchpoint.attachments[0].media_type",
                       "must be a media type of the form type/subtype, e.g. audio/mpeg"),
                  Pair("touchpoint.attachments[0].sha256", "must be 64 hexadecimal digits")));
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        v1::Attachment& a = *t.mutable_attachments(0);
        a.set_uri("https://files.example.cn/a\nb");
        a.set_media_type("application/vnd.ms-excel");
      }),
      ElementsAre(Pair("touchpoint.attachments[0].uri", "must not contain control characters")));
}

TEST(TouchpointValidationTest, AttachmentLimits) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.mutable_attachments(0)->set_uri("https://x/" + Repeat("径", 2038));
                t.mutable_attachments(0)->set_file_name(Repeat("名", 256));
              }),
              IsEmpty());
  EXPECT_THAT(
      ViolationsAfter([](v1::Touchpoint& t) {
        t.mutable_attachments(0)->set_uri("https://x/" + Repeat("径", 2039));
        t.mutable_attachments(0)->set_file_name(Repeat("名", 257));
      }),
      ElementsAre(Pair("touchpoint.attachments[0].uri", "must be at most 2048 characters"),
                  Pair("touchpoint.attachments[0].file_name", "must be at most 256 characters")));
  auto with = [](int count) {
    return [count](v1::Touchpoint& t) {
      while (t.attachments_size() < count) *t.add_attachments() = t.attachments(0);
    };
  };
  EXPECT_THAT(ViolationsAfter(with(20)), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with(21)),
              ElementsAre(Pair("touchpoint.attachments", "must have at most 20 entries")));
}

// --- Source ---

TEST(TouchpointValidationTest, SourceSystemAndExternalIdGoTogether) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.clear_source_system();
                t.clear_external_id();
              }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_source_system(" "); }),
              ElementsAre(Pair("touchpoint.source_system", "is required when external_id is set")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) { t.set_external_id(kIdeographicSpace); }),
              ElementsAre(Pair("touchpoint.external_id", "is required when source_system is set")));
}

TEST(TouchpointValidationTest, SourceLimits) {
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_source_system(Repeat("源", 64));
                t.set_external_id(Repeat("编", 256));
              }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_source_system(Repeat("源", 65));
                t.set_external_id(Repeat("编", 257));
              }),
              ElementsAre(Pair("touchpoint.source_system", "must be at most 64 characters"),
                          Pair("touchpoint.external_id", "must be at most 256 characters")));
  EXPECT_THAT(ViolationsAfter([](v1::Touchpoint& t) {
                t.set_source_system("we\ncom");
                t.set_external_id("i\rd");
              }),
              ElementsAre(Pair("touchpoint.source_system", "must not contain control characters"),
                          Pair("touchpoint.external_id", "must not contain control characters")));
}

}  // namespace
}  // namespace touchline::touchpoints
