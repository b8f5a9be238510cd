// parse_duration: "500ms", "30s", "5m", "1h" or "0".
#include <doctest/doctest.h>

#include "tether/config/duration.hpp"

using namespace std::chrono_literals;
using tether::config::parse_duration;

TEST_CASE("parse_duration reads each unit") {
    CHECK(parse_duration("500ms") == 500ms);
    CHECK(parse_duration("30s") == 30s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("1ms") == 1ms);
    CHECK(parse_duration("90m") == 90min);
    CHECK(parse_duration("48h") == 48h);
}

TEST_CASE("parse_duration reads 0 with or without a unit") {
    CHECK(parse_duration("0") == 0ms);
    CHECK(parse_duration("0s") == 0ms);
    CHECK(parse_duration("0ms") == 0ms);
}

TEST_CASE("parse_duration refuses what is not a duration") {
    for (const std::string text : {"", "5", "s", "ms", "-1s", "+5s", "1.5s", "5 s", " 5s", "5s ", "5S", "5sec", "5min",
                             "5d", "1h30m", "abc", "0x10s", "00", "-0"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_duration(text).has_value());
    }
}

TEST_CASE("parse_duration refuses values that overflow milliseconds") {
    CHECK_FALSE(parse_duration("9223372036854775807h").has_value());
    CHECK_FALSE(parse_duration("99999999999999999999ms").has_value());
    CHECK(parse_duration("9223372036854775807ms") == std::chrono::milliseconds{INT64_MAX});
}
