#include "common/status/time_fields.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::status {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

google::protobuf::Duration Dur(int64_t seconds, int32_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

TEST(TimeFieldsTest, TimestampsCoverTheYearsOneTo9999) {
  EXPECT_TRUE(IsValidTimestamp(Ts(-62135596800, 0)));          // 0001-01-01T00:00:00Z
  EXPECT_TRUE(IsValidTimestamp(Ts(253402300799, 999999999)));  // 9999-12-31T23:59:59.999999999Z
  EXPECT_FALSE(IsValidTimestamp(Ts(-62135596801, 0)));
  EXPECT_FALSE(IsValidTimestamp(Ts(253402300800, 0)));
  EXPECT_FALSE(IsValidTimestamp(Ts(int64_t{1} << 62, 0)));
  EXPECT_FALSE(IsValidTimestamp(Ts(0, -1)));
  EXPECT_FALSE(IsValidTimestamp(Ts(0, 1000000000)));
}

TEST(TimeFieldsTest, CheckTimestampNamesTheField) {
  FieldViolations violations;
  EXPECT_TRUE(CheckTimestamp(Ts(1700000000, 5), "a", violations));
  EXPECT_FALSE(CheckTimestamp(Ts(0, -1), "b", violations));
  EXPECT_FALSE(CheckTimestamp(Ts(int64_t{1} << 62, 0), "c", violations));
  EXPECT_THAT(FieldViolationsOf(violations.ToStatus()),
              ElementsAre(Pair("b", "nanos must be between 0 and 999999999"),
                          Pair("c", "must be a time between the years 1 and 9999")));
}

TEST(TimeFieldsTest, DurationsHaveOneSignAndTenThousandYears) {
  EXPECT_TRUE(IsValidDuration(Dur(0, 0)));
  EXPECT_TRUE(IsValidDuration(Dur(-5, -999999999)));
  EXPECT_TRUE(IsValidDuration(Dur(315576000000, 999999999)));
  EXPECT_FALSE(IsValidDuration(Dur(315576000001, 0)));
  EXPECT_FALSE(IsValidDuration(Dur(1, -1)));
  EXPECT_FALSE(IsValidDuration(Dur(-1, 1)));
  EXPECT_FALSE(IsValidDuration(Dur(0, 1000000000)));
  FieldViolations violations;
  EXPECT_FALSE(CheckDuration(Dur(1, -1), "d", violations));
  EXPECT_THAT(FieldViolationsOf(violations.ToStatus()),
              ElementsAre(Pair("d", "must be a valid duration")));
}

}  // namespace
}  // namespace touchline::status
