// HandshakeV10 greetings: golden bytes from MySQL and MariaDB, re-encoding, and every truncation.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/handshake.hpp"

using namespace tether::codec;
using tether::codec::test::copy_prefix;
using tether::codec::test::from_hex;
using tether::codec::test::to_hex;

namespace {

// MySQL 8.0.42 (payload only).
const auto mysql_8_0_42 = from_hex(
    "0a 38 2e 30 2e 34 32 00 33 00 00 00 5d 2e 75 4d 7f 1e 42 0f 00 ff ff ff 02 00 ff df"
    "15 00 00 00 00 00 00 00 00 00 00 56 6c 16 15 7b 48 18 44 48 2f 4c 05 00 63 61 63 68 69 6e 67 5f"
    "73 68 61 32 5f 70 61 73 73 77 6f 72 64 00");

// MariaDB 10.3.12: "5.5.5-" prefix, CLIENT_MYSQL clear, extended caps 0x7 in the reserved bytes.
const auto mariadb_10_3_12 = from_hex(
    "0a 35 2e 35 2e 35 2d 31 30 2e 33 2e 31 32 2d 4d 61 72 69 61 44 42 00 08 00 00 00 4a 73 29 6c 66 3e 41 68"
    "00 fe f7 08 02 00 bf 81 15 00 00 00 00 00 00 07 00 00 00 6a 5a 65 6d 74 7c 34 2b 7a 49 3a 29 00 6d 79 73"
    "71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f 72 64 00");

// MySQL 5.5.8 without the NUL after the plugin name (Bug#59453).
const auto mysql_5_5_8_unterminated = from_hex(
    "0a 35 2e 35 2e 38 00 a5 00 00 00 3c 46 3f 3a 44 68 22 61 00 df f7 21 02 00 0f 80 15 00 00 00 00 00 00 00"
    "00 00 00 62 78 72 2f 55 4b 6d 63 33 4d 32 40 00 6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f"
    "72 64");

}  // namespace

TEST_CASE("MySQL 8.0.42 greeting") {
    auto g = decode_greeting(mysql_8_0_42);
    REQUIRE(g.ok());
    CHECK(g.consumed == mysql_8_0_42.size());
    CHECK(g.value.protocol_version == 10);
    CHECK(g.value.server_version == "8.0.42");
    CHECK(g.value.thread_id == 51);
    CHECK(g.value.capabilities == 0xdfffffffu);
    CHECK(g.value.character_set == 255);
    CHECK(g.value.status_flags == status::autocommit);
    CHECK(g.value.auth_plugin_data_length == 21);
    CHECK(to_hex(g.value.auth_plugin_data) == "5d2e754d7f1e420f566c16157b481844482f4c0500");
    CHECK(g.value.auth_plugin_name == "caching_sha2_password");
    CHECK(g.value.auth_plugin_name_terminated);
    CHECK(g.value.has_extended_fields);
    CHECK_FALSE(g.value.is_mariadb());
    CHECK(g.value.display_version() == "8.0.42");
    CHECK(encode_greeting(g.value) == mysql_8_0_42);
}

TEST_CASE("MariaDB 10.3.12 greeting carries extended capabilities in the reserved bytes") {
    auto g = decode_greeting(mariadb_10_3_12);
    REQUIRE(g.ok());
    CHECK(g.value.server_version == "5.5.5-10.3.12-MariaDB");
    CHECK(g.value.is_mariadb());
    CHECK(g.value.display_version() == "10.3.12-MariaDB");
    CHECK(g.value.thread_id == 8);
    CHECK((g.value.capabilities & 0xFFFFFFFFu) == 0x81bff7feu);
    CHECK((g.value.capabilities >> 32) == 0x7u);
    CHECK((g.value.capabilities & cap::mariadb_progress) != 0);
    CHECK((g.value.capabilities & cap::mariadb_stmt_bulk_operations) != 0);
    CHECK((g.value.capabilities & cap::client_mysql) == 0);
    CHECK(g.value.character_set == 8);
    CHECK(g.value.auth_plugin_name == "mysql_native_password");
    CHECK(encode_greeting(g.value) == mariadb_10_3_12);
}

TEST_CASE("the MariaDB word is not read when CLIENT_MYSQL is set") {
    auto payload = mysql_8_0_42;
    payload[payload.size() - 22 - 13 - 4] = std::byte{0x07};  // last 4 reserved bytes start 4 before part 2
    auto g = decode_greeting(payload);
    REQUIRE(g.ok());
    CHECK((g.value.capabilities >> 32) == 0);
    CHECK(encode_greeting(g.value) == payload);
}

TEST_CASE("append_greeting writes the payload after what the buffer holds, with the capabilities given") {
    auto g = decode_greeting(mariadb_10_3_12);
    REQUIRE(g.ok());
    const Capabilities shown = g.value.capabilities & ~(cap::ssl | cap::mariadb_progress);
    auto expected_greeting = g.value;
    expected_greeting.capabilities = shown;
    const auto expected = encode_greeting(expected_greeting);

    std::vector<std::byte> out = {std::byte{0xAA}, std::byte{0xBB}};
    append_greeting(out, g.value, shown);
    REQUIRE(out.size() == 2 + expected.size());
    CHECK(out[0] == std::byte{0xAA});
    CHECK(out[1] == std::byte{0xBB});
    CHECK(std::vector(out.begin() + 2, out.end()) == expected);
    CHECK(g.value.capabilities != shown);  // the greeting itself is not touched
    // With its own capabilities it is encode_greeting, byte for byte.
    std::vector<std::byte> same;
    append_greeting(same, g.value, g.value.capabilities);
    CHECK(same == mariadb_10_3_12);
}

TEST_CASE("rewriting capabilities changes only the capability bytes") {
    auto g = decode_greeting(mariadb_10_3_12);
    REQUIRE(g.ok());
    g.value.capabilities &= ~(cap::ssl | cap::compress | cap::mariadb_progress);
    const auto out = encode_greeting(g.value);
    REQUIRE(out.size() == mariadb_10_3_12.size());
    auto again = decode_greeting(out);
    REQUIRE(again.ok());
    CHECK(again.value.capabilities == g.value.capabilities);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < out.size(); ++i) differing += out[i] != mariadb_10_3_12[i] ? 1 : 0;
    CHECK(differing == 2);  // low caps byte with SSL/COMPRESS, MariaDB caps byte with PROGRESS
}

TEST_CASE("a plugin name without its NUL runs to the end of the packet") {
    auto g = decode_greeting(mysql_5_5_8_unterminated);
    REQUIRE(g.ok());
    CHECK(g.value.server_version == "5.5.8");
    CHECK(g.value.thread_id == 165);
    CHECK(g.value.capabilities == 0x800ff7dfu);
    CHECK(g.value.auth_plugin_name == "mysql_native_password");
    CHECK_FALSE(g.value.auth_plugin_name_terminated);
    CHECK(encode_greeting(g.value) == mysql_5_5_8_unterminated);
}

TEST_CASE("a pre-4.1 greeting stops after the low capabilities") {
    const auto payload = from_hex("0a 34 2e 30 2e 31 00 05 00 00 00 61 62 63 64 65 66 67 68 00 2c 00");
    auto g = decode_greeting(payload);
    REQUIRE(g.ok());
    CHECK(g.value.server_version == "4.0.1");
    CHECK_FALSE(g.value.has_extended_fields);
    CHECK(g.value.capabilities == 0x2c);
    CHECK(g.value.auth_plugin_data.size() == 8);
    CHECK(encode_greeting(g.value) == payload);
}

TEST_CASE("greetings that are not greetings are malformed") {
    CHECK(decode_greeting({}).malformed());
    // ERR 1040 sent instead of the greeting.
    const auto err = from_hex("ff 10 04 54 6f 6f 20 6d 61 6e 79 20 63 6f 6e 6e 65 63 74 69 6f 6e 73");
    auto g = decode_greeting(err);
    CHECK(g.malformed());
    CHECK(g.error == "server sent an ERR packet instead of a greeting");
    auto protocol9 = mysql_8_0_42;
    protocol9[0] = std::byte{9};
    CHECK(decode_greeting(protocol9).malformed());
}

TEST_CASE("every truncation of a greeting is malformed, or a shorter greeting that re-encodes to itself") {
    for (const auto* golden : {&mysql_8_0_42, &mariadb_10_3_12, &mysql_5_5_8_unterminated}) {
        // The scramble ends 22 bytes before the end (21-byte plugin name + NUL, or the
        // unterminated name + the final scramble NUL): up to there nothing is decodable
        // except the pre-4.1 cut right after the low capabilities.
        auto full = decode_greeting(*golden);
        REQUIRE(full.ok());
        const std::size_t low_caps_end = 1 + full.value.server_version.size() + 1 + 4 + 8 + 1 + 2;
        const std::size_t plugin_start = golden->size() - full.value.auth_plugin_name.size() -
                                         (full.value.auth_plugin_name_terminated ? 1 : 0);
        for (std::size_t n = 0; n < golden->size(); ++n) {
            CAPTURE(n);
            const auto prefix = copy_prefix(*golden, n);
            auto g = decode_greeting(prefix);
            CHECK_FALSE(g.need_more());
            if (n == low_caps_end) {
                REQUIRE(g.ok());
                CHECK_FALSE(g.value.has_extended_fields);
            } else if (n < plugin_start) {
                CHECK(g.malformed());
                CHECK_FALSE(g.error.empty());
            } else {
                // Cut inside the plugin name: indistinguishable from Bug#59453.
                REQUIRE(g.ok());
                CHECK_FALSE(g.value.auth_plugin_name_terminated);
            }
            if (g.ok()) CHECK(encode_greeting(g.value) == prefix);
        }
    }
}
