// Streaming packet framer for the command-phase relay: finds packet boundaries in
// a byte stream without copying payloads, and shows the first bytes of each packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::codec {

// The relay forwards every chunk it reads as it is; the scanner only looks at
// it. It keeps the header and the first `peek_size` payload bytes of a packet
// that straddles two reads in a fixed array, so it allocates nothing.
// `peek_size` covers what any response needs to be classified: an OK packet's
// status flags sit at most 1 + 9 + 9 bytes in.
class PacketScanner {
public:
    static constexpr std::size_t peek_size = 32;

    enum class EventKind : std::uint8_t {
        start,  // a physical packet's header and its first min(length, peek_size) payload bytes
        end,    // the last byte of a packet being captured (see capture_rest)
    };

    struct Event {
        EventKind kind = EventKind::start;
        PacketHeader header;
        Bytes prefix;               // valid until the next call; points into the input or the scanner
        bool continuation = false;  // this packet continues a 0xFFFFFF-byte payload
    };

    // Consumes bytes from the front of `input` until one event is complete
    // (returns true) or `input` is exhausted (returns false). Call again with
    // the rest of the same input until it returns false.
    bool next(Bytes& input, Event& event);

    // After a start event: append the rest of this packet's payload to `sink`,
    // up to `limit` bytes in total, and emit an end event when it is complete.
    // Returns false (and captures nothing) when the packet is larger than `limit`.
    bool capture_rest(std::vector<std::byte>* sink, std::size_t limit);
    // After a start event: append the rest of this packet's payload to `sink`
    // until `sink` holds `limit` bytes, drop what follows, and emit an end event
    // when the packet is complete (a statement's first bytes, however long it is).
    void capture_prefix(std::vector<std::byte>* sink, std::size_t limit);

    // True between packets (nothing of a packet seen yet).
    [[nodiscard]] bool at_boundary() const { return !in_packet_ && header_length_ == 0; }

private:
    std::array<std::byte, header_size> header_{};
    std::size_t header_length_ = 0;
    std::array<std::byte, peek_size> peek_{};
    std::size_t peek_length_ = 0;
    std::size_t peek_wanted_ = 0;
    std::uint32_t remaining_ = 0;  // payload bytes of the current packet after the peeked prefix
    PacketHeader current_{};
    bool in_packet_ = false;
    bool started_ = false;  // the start event of the current packet was emitted
    bool previous_was_full_ = false;
    bool current_is_continuation_ = false;
    std::vector<std::byte>* sink_ = nullptr;
    std::size_t sink_limit_ = 0;  // sink_ stops growing at this size
};

}  // namespace tether::codec
