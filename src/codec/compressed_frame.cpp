// The compressed protocol's frame header (see compressed_frame.hpp).
#include "tether/codec/compressed_frame.hpp"

#include <cassert>

#include "tether/codec/wire.hpp"

namespace tether::codec {

namespace {

std::uint32_t u24_at(Bytes input, std::size_t at) { return little_endian_u24(input.subspan(at)); }

void put_u24(std::byte* out, std::uint32_t v) {
    out[0] = static_cast<std::byte>(v & 0xFF);
    out[1] = static_cast<std::byte>((v >> 8) & 0xFF);
    out[2] = static_cast<std::byte>((v >> 16) & 0xFF);
}

}  // namespace

DecodeResult<CompressedFrameHeader> decode_compressed_header(Bytes input) {
    if (input.size() < compressed_header_size) return DecodeResult<CompressedFrameHeader>::more();
    CompressedFrameHeader h;
    h.compressed_length = u24_at(input, 0);
    h.sequence_id = std::to_integer<std::uint8_t>(input[3]);
    h.uncompressed_length = u24_at(input, 4);
    return DecodeResult<CompressedFrameHeader>::success(h, compressed_header_size);
}

void encode_compressed_header(CompressedFrameHeader header, std::byte out[compressed_header_size]) {
    put_u24(out, header.compressed_length);
    out[3] = static_cast<std::byte>(header.sequence_id);
    put_u24(out + 4, header.uncompressed_length);
}

void append_stored_frame(std::vector<std::byte>& out, std::uint8_t sequence_id, Bytes packets) {
    assert(packets.size() <= max_physical_payload);
    std::byte header[compressed_header_size];
    encode_compressed_header(CompressedFrameHeader{static_cast<std::uint32_t>(packets.size()), sequence_id, 0}, header);
    out.insert(out.end(), header, header + compressed_header_size);
    out.insert(out.end(), packets.begin(), packets.end());
}

}  // namespace tether::codec
