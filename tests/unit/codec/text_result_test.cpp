// Text result sets: column count, column definition, text rows, the end of a
// result set. Golden bytes from tests/fixtures/monitor (MariaDB 10.11's answer
// to `SELECT @@max_connections, @@max_user_connections` and to SHOW GLOBAL STATUS).
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/text_result.hpp"

namespace tether::codec {

using test::copy_prefix;
using test::from_hex;

TEST_CASE("column count: a length-encoded integer alone") {
    auto r = decode_column_count(from_hex("02"));
    REQUIRE(r.ok());
    CHECK(r.value == 2);
    r = decode_column_count(from_hex("fc 00 01"));
    REQUIRE(r.ok());
    CHECK(r.value == 256);
    CHECK(decode_column_count({}).malformed());
    CHECK(decode_column_count(from_hex("00")).malformed());     // an OK
    CHECK(decode_column_count(from_hex("ff 10 04")).malformed());  // an ERR
    CHECK(decode_column_count(from_hex("fb")).malformed());     // LOCAL INFILE
    CHECK(decode_column_count(from_hex("fc 00")).malformed());  // truncated
    CHECK(decode_column_count(from_hex("02 01")).malformed());  // a metadata byte tether never asked for
}

TEST_CASE("column definition: MariaDB's for @@max_connections, every truncation malformed") {
    const auto payload = from_hex(
        "03 64 65 66 00 00 00 11 40 40 6d 61 78 5f 63 6f 6e 6e 65 63 74 69 6f 6e 73 00 0c 3f 00 15 00 00 00 08 a0 00 00 00 00");
    const auto r = decode_column_definition(payload);
    REQUIRE(r.ok());
    CHECK(r.value.name == "@@max_connections");
    for (std::size_t n = 0; n < payload.size(); ++n) {
        CAPTURE(n);
        CHECK(decode_column_definition(copy_prefix(payload, n)).malformed());
    }
}

TEST_CASE("text rows: values, NULL, and the wrong number of values") {
    // MariaDB's row "200", "0". (The values are views: the payload must outlive them.)
    const auto limits = from_hex("03 32 30 30 01 30");
    auto r = decode_text_row(limits, 2);
    REQUIRE(r.ok());
    REQUIRE(r.value.size() == 2);
    CHECK(r.value[0] == std::optional<std::string_view>("200"));
    CHECK(r.value[1] == std::optional<std::string_view>("0"));
    // SHOW GLOBAL STATUS' row Aborted_clients = 0.
    const auto status = from_hex("0f 41 62 6f 72 74 65 64 5f 63 6c 69 65 6e 74 73 01 30");
    r = decode_text_row(status, 2);
    REQUIRE(r.ok());
    CHECK(r.value[0] == std::optional<std::string_view>("Aborted_clients"));
    const auto null_and_empty = from_hex("fb 00");
    r = decode_text_row(null_and_empty, 2);  // NULL, then the empty string
    REQUIRE(r.ok());
    CHECK_FALSE(r.value[0].has_value());
    CHECK(r.value[1] == std::optional<std::string_view>(""));
    CHECK(decode_text_row(from_hex("03 32 30 30"), 2).malformed());           // one value short
    CHECK(decode_text_row(from_hex("03 32 30 30 01 30 00"), 2).malformed());  // one too many
    CHECK(decode_text_row(from_hex("05 32 30"), 1).malformed());              // runs past the packet
    CHECK(decode_text_row(from_hex("ff"), 1).malformed());                    // not a length
    const auto row = from_hex("03 32 30 30 01 30");
    for (std::size_t n = 0; n < row.size(); ++n) CHECK_FALSE(decode_text_row(copy_prefix(row, n), 2).ok());
}

TEST_CASE("the end of a result set: EOF, or an OK headed 0xFE under DEPRECATE_EOF; rows are not") {
    CHECK(ends_result_set(from_hex("fe 00 00 02 00"), false));                 // EOF
    CHECK(ends_result_set(from_hex("fe 00 00 02 00 00 00"), true));            // MariaDB's closing OK
    CHECK_FALSE(ends_result_set(from_hex("00 00 00 02 00 00 00"), true));
    CHECK_FALSE(ends_result_set(from_hex("03 32 30 30"), false));
    // A row whose first value is 2^24 bytes or more starts with 0xFE too; 9+ bytes is no EOF.
    CHECK_FALSE(ends_result_set(from_hex("fe 00 00 00 01 00 00 00 00 61"), false));
    CHECK_FALSE(ends_result_set({}, true));
}

}  // namespace tether::codec
