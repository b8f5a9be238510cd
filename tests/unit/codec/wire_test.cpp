// WireReader/WireWriter: integer widths, length-encoded integers and strings, and bounds.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/wire.hpp"

using namespace tether::codec;
using tether::codec::test::from_hex;

TEST_CASE("fixed-width integers are little-endian") {
    const auto data = from_hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12");
    WireReader r(data);
    CHECK(r.u8() == 0x01);
    CHECK(r.u16() == 0x0302);
    CHECK(r.u24() == 0x060504);
    CHECK(r.u32() == 0x0a090807u);
    CHECK(r.u64() == 0x1211100f0e0d0c0bull);
    CHECK(r.at_end());
    CHECK(r.ok());
}

TEST_CASE("length-encoded integers in all four widths") {
    const auto data = from_hex("fa fc fb 00 fd 00 00 01 fe 01 00 00 00 00 00 00 80");
    WireReader r(data);
    CHECK(r.lenenc_int() == 250u);
    CHECK(r.lenenc_int() == 251u);
    CHECK(r.lenenc_int() == 0x010000u);
    CHECK(r.lenenc_int() == 0x8000000000000001ull);
    CHECK(r.at_end());
}

TEST_CASE("0xFB and 0xFF are not length-encoded integers") {
    for (const char* hex : {"fb", "ff"}) {
        const auto data = from_hex(hex);
        WireReader r(data);
        CHECK_FALSE(r.lenenc_int().has_value());
        CHECK_FALSE(r.ok());
    }
}

TEST_CASE("every truncated length-encoded integer fails without reading past the end") {
    const auto full = from_hex("fe 01 02 03 04 05 06 07 08");
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto data = tether::codec::test::copy_prefix(full, n);
        WireReader r(data);
        CHECK_FALSE(r.lenenc_int().has_value());
        CHECK(r.remaining() == 0);
    }
}

TEST_CASE("a failed read leaves the reader failed") {
    const auto data = from_hex("01 02");
    WireReader r(data);
    CHECK_FALSE(r.u32().has_value());
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.u8().has_value());
    CHECK(r.remaining() == 0);
    CHECK(r.rest().empty());
    CHECK_FALSE(r.peek().has_value());
}

TEST_CASE("strings: NUL-terminated, length-encoded, and NUL-or-rest") {
    const auto data = from_hex("61 62 00 03 78 79 7a 71 72");
    WireReader r(data);
    CHECK(r.nul_string() == "ab");
    CHECK(r.lenenc_string() == "xyz");
    bool terminated = true;
    CHECK(r.nul_or_rest_string(terminated) == "qr");
    CHECK_FALSE(terminated);
    CHECK(r.at_end());
    CHECK(r.ok());

    const auto named = from_hex("6d 79 00 7a");
    WireReader n(named);
    CHECK(n.nul_or_rest_string(terminated) == "my");
    CHECK(terminated);
    CHECK(n.u8() == 0x7a);
    CHECK(n.ok());

    // An empty span has no data pointer at all: the search must not start (UBSan, fuzz_codec).
    WireReader empty{std::span<const std::byte>{}};
    CHECK_FALSE(empty.nul_string().has_value());
    CHECK_FALSE(empty.ok());
    WireReader empty_rest{std::span<const std::byte>{}};
    CHECK(empty_rest.nul_or_rest_string(terminated).empty());
    CHECK_FALSE(terminated);
    CHECK(empty_rest.ok());

    const auto unterminated = from_hex("61 62");
    WireReader u(unterminated);
    CHECK_FALSE(u.nul_string().has_value());
    CHECK_FALSE(u.ok());

    const auto too_long = from_hex("05 61 62");
    WireReader l(too_long);
    CHECK_FALSE(l.lenenc_string().has_value());
    CHECK_FALSE(l.ok());
}

TEST_CASE("bytes, skip and peek respect the bounds") {
    const auto data = from_hex("01 02 03");
    WireReader r(data);
    CHECK(r.peek() == 0x01);
    CHECK(r.skip(2));
    CHECK(r.position() == 2);
    CHECK(r.remaining() == 1);
    CHECK_FALSE(r.bytes(2).has_value());
    CHECK_FALSE(r.ok());
}

TEST_CASE("writer: integers, length-encoded forms and strings") {
    std::vector<std::byte> out;
    WireWriter w(out);
    w.u8(0x01);
    w.u16(0x0302);
    w.u24(0x060504);
    w.u32(0x0a090807);
    w.lenenc_int(250);
    w.lenenc_int(251);
    w.lenenc_int(0x10000);
    w.lenenc_int(0x1000000);
    w.lenenc_string("ab");
    w.nul_string("c");
    w.zeros(2);
    w.text("d");
    CHECK(tether::codec::test::to_hex(out) ==
          "0102030405060708090a"
          "fa"
          "fcfb00"
          "fd000001"
          "fe0000000100000000"
          "026162"
          "6300"
          "0000"
          "64");
}

TEST_CASE("writer and reader agree on length-encoded integers at every width boundary") {
    for (std::uint64_t v : {0ull, 250ull, 251ull, 0xFFFFull, 0x10000ull, 0xFFFFFFull, 0x1000000ull, ~0ull}) {
        std::vector<std::byte> out;
        WireWriter(out).lenenc_int(v);
        WireReader r(out);
        CHECK(r.lenenc_int() == v);
        CHECK(r.at_end());
    }
}

TEST_CASE("the fixed-offset little-endian loads read what WireReader reads") {
    const auto bytes = from_hex("01 02 03 04 05");
    CHECK(little_endian_u24(bytes) == 0x030201u);
    CHECK(little_endian_u32(bytes) == 0x04030201u);
    CHECK(little_endian(std::span(bytes).first(2)) == 0x0201u);
    WireReader r(bytes);
    CHECK(r.u32() == little_endian_u32(bytes));
    static_assert(little_endian_u24(std::array{std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}}) == 0xFFFFFFu);
}
