// The compressed protocol's frame header (CLIENT_COMPRESS, CLIENT_ZSTD_COMPRESSION_ALGORITHM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/codec/decode_result.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec {

// After the server's OK to the login, every byte in both directions travels in
// frames: this header, then `compressed_length` bytes. Those bytes are one
// complete zlib (or zstd) stream that inflates to `uncompressed_length` bytes
// of ordinary packets, or, when `uncompressed_length` is 0, the packets
// themselves, stored (peers store anything under 50 bytes, or anything that
// does not shrink). A frame holds any number of packets, and a packet may
// continue in the next frame.
inline constexpr std::size_t compressed_header_size = 7;

struct CompressedFrameHeader {
    std::uint32_t compressed_length = 0;    // bytes of payload after the header (at most 0xFFFFFF)
    std::uint8_t sequence_id = 0;           // counted apart from the inner packets' ids, from 0 per command
    std::uint32_t uncompressed_length = 0;  // 0: the payload is stored, not compressed

    [[nodiscard]] bool stored() const { return uncompressed_length == 0; }
};

// Needs 7 bytes; never malformed (every value of the three fields can occur).
DecodeResult<CompressedFrameHeader> decode_compressed_header(Bytes input);
void encode_compressed_header(CompressedFrameHeader header, std::byte out[compressed_header_size]);

// Appends `packets` (already framed as ordinary packets, at most 0xFFFFFF
// bytes) as one stored frame: how tether sends a packet of its own, such as
// COM_QUIT, into a compressed session without compressing anything.
void append_stored_frame(std::vector<std::byte>& out, std::uint8_t sequence_id, Bytes packets);

}  // namespace tether::codec
