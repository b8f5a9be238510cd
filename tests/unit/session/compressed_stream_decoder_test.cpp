// The compressed-protocol frame decoder: the MySQL documentation's frames (tests/fixtures/mysql),
// frames built with zlib and libzstd, fed whole, one byte at a time and coalesced; every
// truncation; frames that lie about their lengths; garbage; when the inflater exists.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "capture.hpp"
#include "compressed_frames.hpp"
#include "tether/codec/compressed_frame.hpp"
#include "tether/session/compressed_stream_decoder.hpp"
#include "wire_builder.hpp"

namespace tether::session::test {

namespace {

struct Decoded {
    ByteVec inner;
    bool failed = false;
    std::string error;
    bool at_boundary = false;
    bool holds_inflater = false;
};

// Feeds `input` in pieces of `step` bytes (0: whole) and collects what comes out.
Decoded decode(CompressionAlgorithm algorithm, codec::Bytes input, std::size_t step = 0) {
    CompressedStreamDecoder d(algorithm);
    Decoded r;
    if (step == 0) step = input.size() == 0 ? 1 : input.size();
    for (std::size_t at = 0; at < input.size(); at += step) {
        codec::Bytes piece = input.subspan(at, std::min(step, input.size() - at));
        codec::Bytes inner;
        while (d.next(piece, inner)) r.inner.insert(r.inner.end(), inner.begin(), inner.end());
        if (d.failed()) break;
        CHECK(piece.empty());  // everything consumed unless the stream failed
    }
    r.failed = d.failed();
    r.error = d.error() != nullptr ? d.error() : "";
    r.at_boundary = d.at_frame_boundary();
    r.holds_inflater = d.holds_inflater();
    return r;
}

ByteVec concat(std::initializer_list<const ByteVec*> parts) {
    ByteVec out;
    for (const ByteVec* p : parts) out.insert(out.end(), p->begin(), p->end());
    return out;
}

// Real-looking inner traffic: a text result set of `rows` rows, a few hundred bytes each.
ByteVec result_set(std::size_t rows) {
    std::vector<std::vector<std::string>> values;
    for (std::size_t i = 0; i < rows; ++i) {
        values.push_back({std::to_string(i), std::string(200 + i % 57, static_cast<char>('a' + i % 26)),
                          "row " + std::to_string(i * 7919)});
    }
    return Stream(1).text_result({"id", "name", "note"}, values, false, codec::status::autocommit).bytes();
}

ByteVec zlib_fixture() { return load_fixture_bytes("compressed_com-query_zlib.hex"); }
ByteVec stored_fixture() { return load_fixture_bytes("compressed_uncompressed-payload_select-1.hex"); }

const ByteVec& zlib_fixture_inner() {
    static const ByteVec inner = frame(0, bytes_of("\x03select \"012345678901234567890123456789012345\""));
    return inner;
}
const ByteVec& stored_fixture_inner() {
    static const ByteVec inner = com_query("SELECT 1");
    return inner;
}

// Rewrites a frame header's fields in place.
void set_u24(ByteVec& frame, std::size_t at, std::uint32_t v) {
    frame[at] = std::byte(v & 0xFF);
    frame[at + 1] = std::byte((v >> 8) & 0xFF);
    frame[at + 2] = std::byte((v >> 16) & 0xFF);
}

}  // namespace

TEST_CASE("compressed decoder: the documentation's frames, whole, one byte at a time and coalesced") {
    const ByteVec zlib = zlib_fixture();
    const ByteVec stored = stored_fixture();
    REQUIRE(zlib_fixture_inner().size() == 50);  // the frame header's uncompressed length
    for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{8}}) {
        CAPTURE(step);
        auto z = decode(CompressionAlgorithm::zlib, zlib, step);
        CHECK_FALSE(z.failed);
        CHECK(z.inner == zlib_fixture_inner());
        CHECK(z.at_boundary);
        CHECK_FALSE(z.holds_inflater);
        auto s = decode(CompressionAlgorithm::zlib, stored, step);
        CHECK_FALSE(s.failed);
        CHECK(s.inner == stored_fixture_inner());
        CHECK(s.at_boundary);
        // Both frames in one stream, twice, in one read or split anywhere.
        const ByteVec both = concat({&zlib, &stored, &stored, &zlib});
        auto b = decode(CompressionAlgorithm::zlib, both, step);
        CHECK_FALSE(b.failed);
        CHECK(b.inner == concat({&zlib_fixture_inner(), &stored_fixture_inner(), &stored_fixture_inner(), &zlib_fixture_inner()}));
        CHECK(b.at_boundary);
        CHECK_FALSE(b.holds_inflater);
    }
}

TEST_CASE("compressed decoder: a stored payload is shown in place, without an inflater") {
    const ByteVec stored = stored_fixture();
    CompressedStreamDecoder d(CompressionAlgorithm::zlib);
    codec::Bytes rest = stored;
    codec::Bytes inner;
    REQUIRE(d.next(rest, inner));
    CHECK(inner.data() == stored.data() + codec::compressed_header_size);  // no copy
    CHECK(inner.size() == stored.size() - codec::compressed_header_size);
    CHECK_FALSE(d.holds_inflater());
    CHECK_FALSE(d.next(rest, inner));
    CHECK(d.frames() == 1);
}

TEST_CASE("compressed decoder: every truncation of a frame waits for more and resumes exactly") {
    const ByteVec zlib = zlib_fixture();
    const ByteVec stream = concat({&zlib, &zlib});
    const ByteVec expected = concat({&zlib_fixture_inner(), &zlib_fixture_inner()});
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        CAPTURE(cut);
        CompressedStreamDecoder d(CompressionAlgorithm::zlib);
        ByteVec out;
        codec::Bytes first = codec::Bytes(stream).first(cut);
        codec::Bytes inner;
        while (d.next(first, inner)) out.insert(out.end(), inner.begin(), inner.end());
        REQUIRE_FALSE(d.failed());
        CHECK(first.empty());
        // What came out so far is a prefix of the packets; a frame cut mid-way keeps its inflater.
        REQUIRE(out.size() <= expected.size());
        CHECK(ByteVec(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(out.size())) == out);
        const bool at_frame_end = cut == 0 || cut == zlib.size() || cut == stream.size();
        CHECK(d.at_frame_boundary() == at_frame_end);
        if (cut > zlib.size() + codec::compressed_header_size && cut < stream.size()) CHECK(d.holds_inflater());
        codec::Bytes second = codec::Bytes(stream).subspan(cut);
        while (d.next(second, inner)) out.insert(out.end(), inner.begin(), inner.end());
        CHECK_FALSE(d.failed());
        CHECK(out == expected);
        CHECK(d.at_frame_boundary());
        CHECK_FALSE(d.holds_inflater());
    }
}

TEST_CASE("compressed decoder: several MB of result rows in zlib frames, packets spanning frames") {
    const ByteVec inner = result_set(20000);  // ~5 MB
    REQUIRE(inner.size() > 4'000'000);
    // Frames of 16 KiB (what a server with net_buffer_length 16K sends) and of 1 MiB.
    for (std::size_t frame_size : {std::size_t{16 * 1024}, std::size_t{1 << 20}}) {
        CAPTURE(frame_size);
        const ByteVec frames = compressed_frames(FrameKind::zlib, inner, frame_size);
        for (std::size_t step : {std::size_t{0}, std::size_t{1000}, std::size_t{65536}}) {
            CAPTURE(step);
            auto r = decode(CompressionAlgorithm::zlib, frames, step);
            CHECK_FALSE(r.failed);
            CHECK(r.inner == inner);
            CHECK(r.at_boundary);
            CHECK_FALSE(r.holds_inflater);
        }
    }
}

TEST_CASE("compressed decoder: the largest frame (0xFFFFFF bytes inflated) decodes through a small window") {
    ByteVec inner(codec::max_physical_payload, std::byte{'x'});
    const ByteVec frame = compressed_frame(FrameKind::zlib, 3, inner, 9);
    CHECK(frame.size() < 100'000);
    auto r = decode(CompressionAlgorithm::zlib, frame, 4096);
    CHECK_FALSE(r.failed);
    CHECK(r.inner.size() == inner.size());
    CHECK(r.inner == inner);
}

TEST_CASE("compressed decoder: zstd frames of real packet bytes (the algorithm MariaDB does not offer)") {
    const ByteVec small = com_query("SELECT name, qty FROM items WHERE id IN (1, 2, 3) ORDER BY name LIMIT 10");
    const ByteVec rows = result_set(800);
    for (int level : {1, 3, 19}) {
        CAPTURE(level);
        const ByteVec a = compressed_frame(FrameKind::zstd, 0, small, level);
        const ByteVec b = compressed_frame(FrameKind::zstd, 1, rows, level);
        const ByteVec stored = compressed_frame(FrameKind::stored, 2, stored_fixture_inner());
        const ByteVec stream = concat({&a, &b, &stored, &a});
        for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{777}}) {
            CAPTURE(step);
            auto r = decode(CompressionAlgorithm::zstd, stream, step);
            CHECK_FALSE(r.failed);
            CHECK(r.inner == concat({&small, &rows, &stored_fixture_inner(), &small}));
            CHECK(r.at_boundary);
            CHECK_FALSE(r.holds_inflater);
        }
    }
    // Several MB across 1 MiB zstd frames.
    const ByteVec big = result_set(20000);
    auto r = decode(CompressionAlgorithm::zstd, compressed_frames(FrameKind::zstd, big, 1 << 20), 65536);
    CHECK_FALSE(r.failed);
    CHECK(r.inner == big);
}

TEST_CASE("compressed decoder: frames that lie about their lengths fail with a reason") {
    const ByteVec good = zlib_fixture();
    SUBCASE("stated uncompressed length too small: stops after that many bytes") {
        ByteVec f = good;
        set_u24(f, 4, 20);
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK(r.error == "compressed frame inflates to more than its header says");
        CHECK(r.inner.size() <= 20);
        CHECK_FALSE(r.holds_inflater);
    }
    SUBCASE("stated uncompressed length too large") {
        ByteVec f = good;
        set_u24(f, 4, 51);
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK(r.error == "compressed frame inflates to less than its header says");
    }
    SUBCASE("stated compressed length too short: the frame ends inside its stream") {
        ByteVec f = good;
        set_u24(f, 0, 30);
        f.resize(codec::compressed_header_size + 30);
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK(r.error == "compressed frame ends before its stream does");
    }
    SUBCASE("stated compressed length too long: bytes after the stream's end") {
        ByteVec f = good;
        set_u24(f, 0, 35);
        f.push_back(std::byte{0});
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK(r.error == "compressed frame has bytes after the end of its stream");
    }
    SUBCASE("a compressed frame without a payload") {
        const ByteVec f = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{5}, std::byte{0}, std::byte{0}};
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK(r.error == "compressed frame without a payload");
    }
    SUBCASE("a corrupt stream") {
        ByteVec f = good;
        f[codec::compressed_header_size + 10] ^= std::byte{0x55};
        auto r = decode(CompressionAlgorithm::zlib, f);
        CHECK(r.failed);
        CHECK_FALSE(r.error.empty());
        CHECK_FALSE(r.holds_inflater);
    }
    SUBCASE("a zstd frame read as zlib, and a zlib frame read as zstd") {
        const ByteVec zstd = compressed_frame(FrameKind::zstd, 0, result_set(10));
        auto a = decode(CompressionAlgorithm::zlib, zstd);
        CHECK(a.failed);
        CHECK(a.error == "compressed frame does not inflate");
        auto b = decode(CompressionAlgorithm::zstd, good);
        CHECK(b.failed);
        CHECK(b.error == "compressed frame does not inflate");
    }
    SUBCASE("a zstd frame whose window is larger than the frame") {
        // Hand-made zstd frames: magic, a descriptor without content size, a window
        // descriptor, then one last raw block of 5 bytes (a COM_QUIT). A decoder that
        // honoured a 2^27 window would allocate 128 MiB for 5 bytes.
        auto zstd_frame = [](std::uint8_t window_descriptor) {
            const ByteVec payload = {std::byte{0x28}, std::byte{0xb5}, std::byte{0x2f}, std::byte{0xfd}, std::byte{0x00},
                                     std::byte{window_descriptor}, std::byte{0x29}, std::byte{0x00}, std::byte{0x00},
                                     std::byte{0x01}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x01}};
            std::byte header[codec::compressed_header_size];
            codec::encode_compressed_header({static_cast<std::uint32_t>(payload.size()), 0, 5}, header);
            ByteVec f = payload;
            f.insert(f.begin(), header, header + codec::compressed_header_size);
            return f;
        };
        auto ok = decode(CompressionAlgorithm::zstd, zstd_frame(0x00));  // 2^10: zstd's smallest
        CHECK_FALSE(ok.failed);
        CHECK(ok.inner == ByteVec{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}});
        for (std::uint8_t descriptor : {std::uint8_t{0x08}, std::uint8_t{0x70}, std::uint8_t{0x88}}) {  // 2^11, 2^24, 2^27
            CAPTURE(int(descriptor));
            auto r = decode(CompressionAlgorithm::zstd, zstd_frame(descriptor));
            CHECK(r.failed);
            CHECK(r.error == "compressed frame does not inflate");
        }
    }
}

TEST_CASE("compressed decoder: garbage never crashes and never yields more than the headers allow") {
    std::mt19937 rng(20261201);
    for (int round = 0; round < 2000; ++round) {
        ByteVec g(1 + rng() % 300);
        for (auto& b : g) b = std::byte(rng() & 0xFF);
        // Mostly small lengths, so the garbage reaches the inflaters.
        if (round % 2 == 0 && g.size() >= codec::compressed_header_size) {
            set_u24(g, 0, static_cast<std::uint32_t>(rng() % 300));
            set_u24(g, 4, static_cast<std::uint32_t>(rng() % 600));
            if (round % 4 == 0 && g.size() > 9) {  // a valid zlib header in front of garbage
                g[7] = std::byte{0x78};
                g[8] = std::byte{0x9c};
            }
        }
        for (auto algorithm : {CompressionAlgorithm::zlib, CompressionAlgorithm::zstd}) {
            for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
                auto r = decode(algorithm, g, step);
                CHECK(r.inner.size() <= g.size() * 1032);  // zlib's largest ratio; usually far less
                if (r.failed) CHECK_FALSE(r.holds_inflater);
            }
        }
    }
}

}  // namespace tether::session::test
