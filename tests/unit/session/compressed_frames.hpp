// Builds and opens compressed-protocol frames with zlib and libzstd directly, for the tests of
// tether's own streaming decoder (so the expected bytes never come from the code under test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::session::test {

using ByteVec = std::vector<std::byte>;

enum class FrameKind { stored, zlib, zstd };

// One frame carrying `inner` (ordinary packets, at most 0xFFFFFF bytes) with sequence id `seq`.
ByteVec compressed_frame(FrameKind kind, std::uint8_t seq, codec::Bytes inner, int level = 6);

// `inner` cut into frames of at most `frame_size` inner bytes each, all of one kind (sequence ids
// counting from `first_seq`): packets larger than a frame continue in the next one.
ByteVec compressed_frames(FrameKind kind, codec::Bytes inner, std::size_t frame_size, std::uint8_t first_seq = 0);

// The packets inside a run of whole zlib or stored frames (what a MariaDB peer would read);
// fails the current test when the frames do not add up.
ByteVec inflate_frames(codec::Bytes frames);

}  // namespace tether::session::test
