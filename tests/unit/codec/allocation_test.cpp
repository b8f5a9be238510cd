// Codec: what re-encoding a greeting and decoding a login cost in heap allocations (tether does both for
// every connection). This binary counts every operator new, so it is not one of the sanitizer
// builds' targets (scripts/test builds codec_tests there).
#include <doctest/doctest.h>

#include "../support/allocation_count.hpp"

#include "fixture.hpp"
#include "tether/codec/handshake.hpp"

using tether::test::allocations;

using namespace tether::codec;

TEST_CASE("A greeting is re-encoded into one allocation") {
    // MariaDB 10.3.12 (extended capabilities in the reserved bytes, 20-byte scramble, plugin name).
    const auto golden = test::from_hex(
        "0a 35 2e 35 2e 35 2d 31 30 2e 33 2e 31 32 2d 4d 61 72 69 61 44 42 00 08 00 00 00 4a 73 29 6c 66 3e 41 68"
        "00 fe f7 08 02 00 bf 81 15 00 00 00 00 00 00 07 00 00 00 6a 5a 65 6d 74 7c 34 2b 7a 49 3a 29 00 6d 79 73"
        "71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f 72 64 00");
    const auto decoded = decode_greeting(golden);
    REQUIRE(decoded.ok());
    const auto before = allocations();
    const auto encoded = encode_greeting(decoded.value);
    CHECK(allocations() - before == 1);
    CHECK(encoded == golden);
}

TEST_CASE("A driver's login is decoded into three allocations, its attributes into one") {
    // libmariadb 3.0.8: user "root", a 20-byte auth response, "mysql_native_password", 8 attributes.
    const auto fixture = test::load_fixture("response41_libmariadb-3.0.8_mariadb-ext-caps_attrs.hex");
    const auto packets = test::split_packets(fixture.bytes);
    REQUIRE(packets.size() == 1);
    const auto before = allocations();
    const auto login = decode_login(packets[0].payload);
    REQUIRE(login.ok());
    REQUIRE(login.value.attributes.size() == 8);
    // The auth response, the plugin name (past the short-string buffer) and the attribute block
    // as it came (no database; "root" fits the short-string buffer); no string per attribute.
    CHECK(allocations() - before == 3);
    CHECK(login.value.attribute("_client_name") == std::optional<std::string_view>("libmariadb"));
}
