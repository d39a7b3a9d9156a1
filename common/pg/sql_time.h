// Times in SQL text as the stores pass them: bigint Unix microseconds (absl::ToUnixMicros), not
// timestamptz text, so no time zone or formatting is involved. For statements built as string
// literals: "... WHERE due_time <= " TL_PG_MICROS(3).
#ifndef TOUCHLINE_COMMON_PG_SQL_TIME_H_
#define TOUCHLINE_COMMON_PG_SQL_TIME_H_

// clang-format off
// Parameter $n, Unix microseconds, as a timestamptz.
#define TL_PG_MICROS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"
// Parameter $n, Unix microseconds, as a timestamptz; -1 is NULL.
#define TL_PG_NULLABLE_MICROS(n) \
  "(timestamptz 'epoch' + nullif($" #n "::bigint, -1) * interval '1 microsecond')"
// A timestamptz column as bigint Unix microseconds (NULL stays NULL).
#define TL_PG_TO_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"
// clang-format on

#endif  // TOUCHLINE_COMMON_PG_SQL_TIME_H_
