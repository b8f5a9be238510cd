// Compressed-protocol frames built and opened with zlib and libzstd (see compressed_frames.hpp).
#include "compressed_frames.hpp"

#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>

#include "tether/codec/compressed_frame.hpp"

namespace tether::session::test {

ByteVec compressed_frame(FrameKind kind, std::uint8_t seq, codec::Bytes inner, int level) {
    REQUIRE(inner.size() <= codec::max_physical_payload);
    ByteVec payload;
    std::uint32_t uncompressed_length = 0;
    if (kind == FrameKind::stored) {
        payload.assign(inner.begin(), inner.end());
    } else if (kind == FrameKind::zlib) {
        uLongf size = compressBound(static_cast<uLong>(inner.size()));
        payload.resize(size);
        REQUIRE(compress2(reinterpret_cast<Bytef*>(payload.data()), &size, reinterpret_cast<const Bytef*>(inner.data()),
                          static_cast<uLong>(inner.size()), level) == Z_OK);
        payload.resize(size);
        uncompressed_length = static_cast<std::uint32_t>(inner.size());
    } else {
        payload.resize(ZSTD_compressBound(inner.size()));
        const std::size_t size = ZSTD_compress(payload.data(), payload.size(), inner.data(), inner.size(), level);
        REQUIRE_FALSE(ZSTD_isError(size));
        payload.resize(size);
        uncompressed_length = static_cast<std::uint32_t>(inner.size());
    }
    ByteVec out;
    std::byte header[codec::compressed_header_size];
    codec::encode_compressed_header({static_cast<std::uint32_t>(payload.size()), seq, uncompressed_length}, header);
    out.insert(out.end(), header, header + codec::compressed_header_size);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

ByteVec compressed_frames(FrameKind kind, codec::Bytes inner, std::size_t frame_size, std::uint8_t first_seq) {
    ByteVec out;
    std::uint8_t seq = first_seq;
    while (!inner.empty()) {
        const std::size_t n = std::min(frame_size, inner.size());
        const ByteVec frame = compressed_frame(kind, seq++, inner.first(n));
        out.insert(out.end(), frame.begin(), frame.end());
        inner = inner.subspan(n);
    }
    return out;
}

ByteVec inflate_frames(codec::Bytes frames) {
    ByteVec out;
    while (!frames.empty()) {
        auto header = codec::decode_compressed_header(frames);
        REQUIRE(header.ok());
        REQUIRE(frames.size() >= codec::compressed_header_size + header.value.compressed_length);
        const codec::Bytes payload = frames.subspan(codec::compressed_header_size, header.value.compressed_length);
        if (header.value.stored()) {
            out.insert(out.end(), payload.begin(), payload.end());
        } else {
            ByteVec inflated(header.value.uncompressed_length);
            uLongf size = static_cast<uLongf>(inflated.size());
            REQUIRE(uncompress(reinterpret_cast<Bytef*>(inflated.data()), &size,
                               reinterpret_cast<const Bytef*>(payload.data()), static_cast<uLong>(payload.size())) == Z_OK);
            REQUIRE(size == inflated.size());
            out.insert(out.end(), inflated.begin(), inflated.end());
        }
        frames = frames.subspan(codec::compressed_header_size + header.value.compressed_length);
    }
    return out;
}

}  // namespace tether::session::test
