// Renumbering across TLS and plaintext legs: SSLRequest bytes, and sequence ids moved in a stream split anywhere.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/sequence_shift.hpp"

using namespace tether::codec;
using tether::codec::test::from_hex;

TEST_CASE("encode_ssl_request: 32 bytes that decode to what was given, CLIENT_SSL added") {
    SslRequest r;
    r.capabilities = cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::connect_attrs;
    r.max_packet_size = 0x01000000;
    r.character_set = 45;
    const auto bytes = encode_ssl_request(r);
    REQUIRE(bytes.size() == ssl_request_size);
    CHECK(is_ssl_request(bytes));
    auto back = decode_ssl_request(bytes);
    REQUIRE(back.ok());
    CHECK(back.value.capabilities == (r.capabilities | cap::ssl));
    CHECK(back.value.max_packet_size == r.max_packet_size);
    CHECK(back.value.character_set == 45);
    // Golden: capabilities 0x00188a00 little-endian, 16 MiB, utf8mb4_general_ci, 23 zero bytes.
    CHECK(bytes == from_hex("008a1800" "00000001" "2d" "0000000000000000000000000000000000000000000000"));
}

TEST_CASE("encode_ssl_request: MariaDB's extended capabilities go in the filler's last 4 bytes") {
    SslRequest r;
    r.capabilities = cap::protocol_41 | (Capabilities{0x4} << 32);  // CLIENT_MYSQL clear
    const auto bytes = encode_ssl_request(r);
    auto back = decode_ssl_request(bytes);
    REQUIRE(back.ok());
    CHECK((back.value.capabilities >> 32) == 0x4);
}

TEST_CASE("SequenceShift: every header's sequence id moves, payload bytes never, at every split point") {
    // An auth-switch answer (seq 4, 2 bytes that look like a header), an empty packet (seq 5),
    // and a command pipelined behind the login (seq 0, left alone).
    const auto input = from_hex("020000" "04" "0003" "000000" "05" "010000" "00" "0e");
    const auto expected = from_hex("020000" "03" "0003" "000000" "04" "010000" "00" "0e");
    for (std::size_t split = 0; split <= input.size(); ++split) {
        auto bytes = input;
        SequenceShift shift(-1);
        shift.apply(std::span(bytes).first(split));
        shift.apply(std::span(bytes).subspan(split));
        CHECK_MESSAGE(bytes == expected, "split at " << split);
    }
    auto bytes = input;
    SequenceShift up(+1);
    up.apply(bytes);
    CHECK(bytes == from_hex("020000" "05" "0003" "000000" "06" "010000" "00" "0e"));
}

TEST_CASE("SequenceShift: byte by byte through a payload longer than 255 bytes") {
    std::vector<std::byte> bytes = from_hex("2c0100" "02");  // 300-byte payload at seq 2
    bytes.resize(4 + 300, std::byte{0x02});
    const auto tail = from_hex("010000" "03" "ff");
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    SequenceShift shift(+1);
    for (std::size_t i = 0; i < bytes.size(); ++i) shift.apply(std::span(bytes).subspan(i, 1));
    CHECK(bytes[3] == std::byte{0x03});
    for (std::size_t i = 4; i < 304; ++i) REQUIRE(bytes[i] == std::byte{0x02});
    CHECK(bytes[307] == std::byte{0x04});
    CHECK_FALSE(SequenceShift(0).active());
}
