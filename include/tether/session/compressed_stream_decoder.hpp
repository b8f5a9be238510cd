// Streaming decoder of one direction of a compressed session: frames in, the packets inside out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tether/codec/compressed_frame.hpp"
#include "tether/codec/packet.hpp"

namespace tether::session {

enum class CompressionAlgorithm : std::uint8_t { zlib, zstd };

// The relay forwards compressed frames as they are; this only reads them, so
// the command tracker can follow the packets inside. It reassembles frame
// headers across reads, hands out stored payloads in place, and inflates
// compressed ones through a small fixed window.
//
// Memory: between frames it holds nothing but its own few bytes. The inflater
// (zlib: ~7 KB of state, a 32 KB window and a 16 KB output buffer; zstd: its
// context and a window no larger than the frame's stated size rounded up to a
// power of two, at most 16 MiB) is created
// when a compressed frame's payload starts and freed when that frame ends, so
// an idle session holds no zlib or zstd state.
//
// A frame that does not add up (a stream that fails to inflate, inflates to
// more or less than its header says, or ends before its frame does) stops the
// decoder for good: failed() turns true and error() says why. The session then
// relays blindly; the bytes themselves were forwarded already.
class CompressedStreamDecoder {
public:
    explicit CompressedStreamDecoder(CompressionAlgorithm algorithm);
    ~CompressedStreamDecoder();
    CompressedStreamDecoder(const CompressedStreamDecoder&) = delete;
    CompressedStreamDecoder& operator=(const CompressedStreamDecoder&) = delete;

    // Consumes bytes from the front of `input` until some inner bytes are ready
    // (returns true; `inner` is valid until the next call) or `input` is
    // exhausted or the stream failed (returns false). Call again with the rest
    // of the same input until it returns false.
    bool next(codec::Bytes& input, codec::Bytes& inner);

    [[nodiscard]] bool failed() const { return error_ != nullptr; }
    [[nodiscard]] const char* error() const { return error_; }
    // Nothing of a frame seen yet: a packet tether writes itself can go in here.
    [[nodiscard]] bool at_frame_boundary() const { return !in_frame_ && header_length_ == 0; }
    // For tests and memory accounting: whether an inflater is allocated now.
    [[nodiscard]] bool holds_inflater() const { return inflater_ != nullptr; }
    [[nodiscard]] std::uint64_t frames() const { return frames_; }

    class Inflater;  // the zlib or zstd state of one frame; defined in the .cpp

private:
    bool fail(const char* why);
    void end_frame();

    CompressionAlgorithm algorithm_;
    std::byte header_[codec::compressed_header_size]{};
    std::uint8_t header_length_ = 0;
    bool in_frame_ = false;
    bool release_inflater_ = false;  // the frame ended; free the inflater once its output is no longer shown
    codec::CompressedFrameHeader frame_{};
    std::uint32_t compressed_left_ = 0;  // payload bytes of the current frame not consumed yet
    std::uint32_t inflated_left_ = 0;    // bytes the current frame's stream has yet to inflate to
    std::uint64_t frames_ = 0;
    const char* error_ = nullptr;
    std::unique_ptr<Inflater> inflater_;
};

}  // namespace tether::session
