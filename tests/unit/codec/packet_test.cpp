// Framing: headers, physical packets split at every byte, 0xFFFFFF continuation, limits and sequence ids.
#include <algorithm>
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/packet.hpp"

using namespace tether::codec;
using tether::codec::test::copy_prefix;
using tether::codec::test::from_hex;

namespace {

std::vector<std::byte> filled(std::size_t n) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(i * 7 + 3);
    return v;
}

}  // namespace

TEST_CASE("decode_header reads the 3-byte length and the sequence id") {
    const auto data = from_hex("4a 00 01 2a");
    auto h = decode_header(data);
    REQUIRE(h.ok());
    CHECK(h.value.payload_length == 0x01004a);
    CHECK(h.value.sequence_id == 42);
    CHECK(h.consumed == header_size);
}

TEST_CASE("decode_header needs four bytes and is never malformed") {
    const auto data = from_hex("ff ff ff");
    for (std::size_t n = 0; n < header_size; ++n) {
        const auto prefix = copy_prefix(data, n);
        CHECK(decode_header(prefix).need_more());
    }
}

TEST_CASE("encode_header writes what decode_header reads") {
    std::byte out[header_size];
    encode_header(PacketHeader{0xABCDEF, 7}, out);
    CHECK(test::to_hex(out) == "efcdab07");
    auto back = decode_header(out);
    REQUIRE(back.ok());
    CHECK(back.value.payload_length == 0xABCDEF);
    CHECK(back.value.sequence_id == 7);
}

TEST_CASE("a packet split at every byte boundary is need_more until complete") {
    // COM_QUERY "select @@version_comment limit 1" followed by COM_QUIT in one stream.
    const auto stream = from_hex(
        "21 00 00 00 03 73 65 6c 65 63 74 20 40 40 76 65 72 73 69 6f 6e 5f 63 6f 6d 6d 65 6e 74 20 6c 69 6d 69 74 20 31"
        "01 00 00 00 01");
    const std::size_t first = 4 + 0x21;
    for (std::size_t n = 0; n <= stream.size(); ++n) {
        const auto prefix = copy_prefix(stream, n);
        auto p = decode_packet(prefix);
        if (n < first) {
            CHECK(p.need_more());
            CHECK(p.consumed == 0);
        } else {
            REQUIRE(p.ok());
            CHECK(p.consumed == first);
            CHECK(p.value.header.payload_length == 0x21);
            CHECK(p.value.payload.size() == 0x21);
            CHECK(p.value.payload.data() == prefix.data() + header_size);
        }
        auto logical = decode_logical_packet(prefix, 1024);
        CHECK(logical.status == (n < first ? DecodeStatus::need_more : DecodeStatus::ok));
        if (logical.ok()) {
            CHECK(logical.consumed == first);
            CHECK(logical.value.payload.size() == 0x21);
            // One physical packet: viewed in the input, nothing joined.
            CHECK(logical.value.payload.data() == prefix.data() + header_size);
            CHECK(logical.value.joined.empty());
        }
    }
}

TEST_CASE("an empty packet is complete after its header") {
    const auto data = from_hex("00 00 00 05");
    auto p = decode_packet(data);
    REQUIRE(p.ok());
    CHECK(p.value.payload.empty());
    CHECK(p.value.header.sequence_id == 5);
    CHECK(p.consumed == header_size);
}

TEST_CASE("append_packet writes a small payload as one packet") {
    std::vector<std::byte> out;
    const auto payload = from_hex("0e");
    CHECK(append_packet(out, 0, payload) == 1);
    CHECK(test::to_hex(out) == "010000000e");
    CHECK(append_packet(out, 255, {}) == 0);  // sequence ids wrap
    CHECK(test::to_hex(out) == "010000000e000000ff");
}

TEST_CASE("a payload longer than 0xFFFFFF continues in the next packet") {
    const auto payload = filled(max_physical_payload + 10);
    std::vector<std::byte> stream;
    CHECK(append_packet(stream, 3, payload) == 5);
    REQUIRE(stream.size() == payload.size() + 2 * header_size);

    auto first = decode_packet(stream);
    REQUIRE(first.ok());
    CHECK(first.value.header.payload_length == max_physical_payload);
    CHECK(first.value.header.sequence_id == 3);
    auto second = decode_packet(std::span(stream).subspan(first.consumed));
    REQUIRE(second.ok());
    CHECK(second.value.header.payload_length == 10);
    CHECK(second.value.header.sequence_id == 4);

    auto logical = decode_logical_packet(stream, payload.size());
    REQUIRE(logical.ok());
    CHECK(logical.consumed == stream.size());
    CHECK(logical.value.first_sequence_id == 3);
    CHECK(logical.value.last_sequence_id == 4);
    CHECK(std::ranges::equal(logical.value.payload, payload));
    CHECK(logical.value.payload.data() == logical.value.joined.data());  // joined from two physical packets

    // Incomplete at the points that matter: inside the first payload, at the
    // second header, inside the second header, inside the second payload.
    const std::size_t second_header = header_size + max_physical_payload;
    for (std::size_t n : {std::size_t{100}, second_header, second_header + 2, stream.size() - 1}) {
        CHECK(decode_logical_packet(std::span(stream).first(n), payload.size()).need_more());
    }
}

TEST_CASE("a payload of exactly 0xFFFFFF bytes ends with an empty packet") {
    const auto payload = filled(max_physical_payload);
    std::vector<std::byte> stream;
    CHECK(append_packet(stream, 0, payload) == 2);
    REQUIRE(stream.size() == payload.size() + 2 * header_size);
    CHECK(test::to_hex(std::span(stream).last(header_size)) == "00000001");

    // Without the empty packet the logical packet is not over yet.
    CHECK(decode_logical_packet(std::span(stream).first(stream.size() - header_size), payload.size()).need_more());
    auto logical = decode_logical_packet(stream, payload.size());
    REQUIRE(logical.ok());
    CHECK(logical.consumed == stream.size());
    CHECK(logical.value.first_sequence_id == 0);
    CHECK(logical.value.last_sequence_id == 1);
    CHECK(std::ranges::equal(logical.value.payload, payload));
    CHECK(logical.value.payload.data() == logical.value.joined.data());  // joined from two physical packets
}

TEST_CASE("continuation packets with non-consecutive sequence ids are malformed") {
    const auto payload = filled(max_physical_payload + 1);
    std::vector<std::byte> stream;
    append_packet(stream, 7, payload);
    stream[header_size + max_physical_payload + 3] = std::byte{9};  // should be 8
    auto logical = decode_logical_packet(stream, payload.size());
    CHECK(logical.malformed());
    CHECK_FALSE(logical.error.empty());
    // The bad id is visible as soon as the second header has arrived.
    CHECK(decode_logical_packet(std::span(stream).first(2 * header_size + max_physical_payload), payload.size())
              .malformed());
}

TEST_CASE("sequence ids wrap from 255 to 0 inside a logical packet") {
    const auto payload = filled(max_physical_payload + 1);
    std::vector<std::byte> stream;
    CHECK(append_packet(stream, 255, payload) == 1);
    auto logical = decode_logical_packet(stream, payload.size());
    REQUIRE(logical.ok());
    CHECK(logical.value.first_sequence_id == 255);
    CHECK(logical.value.last_sequence_id == 0);
}

TEST_CASE("a logical packet larger than max_payload is malformed, even before its bytes arrive") {
    const auto small = from_hex("05 00 00 00 01 02 03 04 05");
    CHECK(decode_logical_packet(small, 5).ok());
    CHECK(decode_logical_packet(small, 4).malformed());
    CHECK(decode_logical_packet(std::span(small).first(header_size), 4).malformed());

    const auto payload = filled(max_physical_payload + 1);
    std::vector<std::byte> stream;
    append_packet(stream, 0, payload);
    CHECK(decode_logical_packet(stream, max_physical_payload).malformed());
}

TEST_CASE("decode_logical_packet consumes only the first logical packet") {
    const auto stream = from_hex("01 00 00 00 0e 01 00 00 00 01");
    auto logical = decode_logical_packet(stream, 16);
    REQUIRE(logical.ok());
    CHECK(logical.consumed == 5);
    CHECK(test::to_hex(logical.value.payload) == "0e");
}
