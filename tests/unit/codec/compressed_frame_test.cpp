// The compressed protocol's 7-byte frame header: the documentation's frames, every truncation,
// the writer tether uses for its own COM_QUIT.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/command.hpp"
#include "tether/codec/compressed_frame.hpp"

namespace tether::codec::test {

TEST_CASE("compressed frame header: the documentation's frames") {
    const auto zlib = load_fixture("compressed_com-query_zlib.hex").bytes;
    auto h = decode_compressed_header(zlib);
    REQUIRE(h.ok());
    CHECK(h.consumed == compressed_header_size);
    CHECK(h.value.compressed_length == 34);
    CHECK(h.value.sequence_id == 0);
    CHECK(h.value.uncompressed_length == 50);
    CHECK_FALSE(h.value.stored());
    CHECK(zlib.size() == compressed_header_size + 34);

    const auto stored = load_fixture("compressed_uncompressed-payload_select-1.hex").bytes;
    auto s = decode_compressed_header(stored);
    REQUIRE(s.ok());
    CHECK(s.value.compressed_length == 13);
    CHECK(s.value.uncompressed_length == 0);
    CHECK(s.value.stored());
}

TEST_CASE("compressed frame header: every truncation needs more, never malformed") {
    const auto zlib = load_fixture("compressed_com-query_zlib.hex").bytes;
    for (std::size_t n = 0; n < compressed_header_size; ++n) {
        CAPTURE(n);
        const auto cut = copy_prefix(zlib, n);
        CHECK(decode_compressed_header(cut).need_more());
    }
}

TEST_CASE("compressed frame header: encode and decode agree at the limits") {
    for (CompressedFrameHeader h : {CompressedFrameHeader{0, 0, 0}, CompressedFrameHeader{0xFFFFFF, 0xFF, 0xFFFFFF},
                                    CompressedFrameHeader{0x123456, 7, 0x0A0B0C}}) {
        std::byte out[compressed_header_size];
        encode_compressed_header(h, out);
        auto d = decode_compressed_header(Bytes(out, compressed_header_size));
        REQUIRE(d.ok());
        CHECK(d.value.compressed_length == h.compressed_length);
        CHECK(d.value.sequence_id == h.sequence_id);
        CHECK(d.value.uncompressed_length == h.uncompressed_length);
    }
}

TEST_CASE("stored frame: COM_QUIT framed as the mariadb CLI frames it") {
    std::vector<std::byte> quit;
    append_com_quit(quit);
    std::vector<std::byte> out;
    append_stored_frame(out, 0, quit);
    CHECK(to_hex(out) == to_hex(from_hex("05 00 00 00 00 00 00 01 00 00 00 01")));
}

}  // namespace tether::codec::test
