// COM_STMT_PREPARE_OK: the local MariaDB's bytes, every truncation, and what is not one.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/prepared_statement.hpp"

using namespace tether::codec;
using namespace tether::codec::test;

namespace {

// The payload of tests/fixtures/mysql/stmt-prepare-ok_mariadb-10.11_sysbench.hex.
std::vector<std::byte> mariadb_payload() {
    const auto fx = load_fixture("stmt-prepare-ok_mariadb-10.11_sysbench.hex");
    const auto packets = split_packets(fx.bytes);
    REQUIRE(packets.size() == 1);
    return {packets[0].payload.begin(), packets[0].payload.end()};
}

}  // namespace

TEST_CASE("COM_STMT_PREPARE_OK from MariaDB 10.11: statement id, columns, parameters, warnings") {
    const auto payload = mariadb_payload();
    REQUIRE(payload.size() == 12);
    auto ok = decode_stmt_prepare_ok(payload);
    REQUIRE(ok.ok());
    CHECK(ok.consumed == 12);
    CHECK(ok.value.statement_id == 2);
    CHECK(ok.value.columns == 1);
    CHECK(ok.value.params == 1);
    REQUIRE(ok.value.warnings.has_value());
    CHECK(*ok.value.warnings == 0);
}

TEST_CASE("COM_STMT_PREPARE_OK: counts are little-endian, up to 0xFFFF") {
    const auto payload = from_hex("00 04 03 02 01 34 12 ff ff 00 05 00");
    auto ok = decode_stmt_prepare_ok(payload);
    REQUIRE(ok.ok());
    CHECK(ok.value.statement_id == 0x01020304);
    CHECK(ok.value.columns == 0x1234);
    CHECK(ok.value.params == 0xFFFF);
    CHECK(ok.value.warnings == std::optional<std::uint16_t>(5));
}

TEST_CASE("COM_STMT_PREPARE_OK: every truncation") {
    const auto payload = mariadb_payload();
    for (std::size_t n = 0; n <= payload.size(); ++n) {
        CAPTURE(n);
        const auto prefix = copy_prefix(payload, n);
        auto ok = decode_stmt_prepare_ok(prefix);
        CHECK_FALSE(ok.need_more());  // a decoder of a whole payload (or the tracker's prefix)
        if (n < stmt_prepare_ok_min_size) {
            CHECK(ok.malformed());
            CHECK_FALSE(ok.error.empty());
            continue;
        }
        REQUIRE(ok.ok());
        CHECK(ok.value.columns == 1);
        CHECK(ok.value.params == 1);
        // The warning count only once its two bytes are there.
        CHECK(ok.value.warnings.has_value() == (n >= stmt_prepare_ok_with_warnings_size));
    }
}

TEST_CASE("COM_STMT_PREPARE_OK: an ERR or any other header is not one") {
    CHECK(decode_stmt_prepare_ok(from_hex("ff 48 04 23 34 32 30 30 30 62 61 64")).malformed());
    CHECK(decode_stmt_prepare_ok(from_hex("fe 02 00 00 00 01 00 01 00 00 00 00")).malformed());
}
