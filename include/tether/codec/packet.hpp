// Packet framing: the 4-byte header (3-byte little-endian length + sequence id) and
// logical packets whose 0xFFFFFF-byte payloads continue in the next physical packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tether/codec/decode_result.hpp"

namespace tether::codec {

using Bytes = std::span<const std::byte>;

inline constexpr std::size_t header_size = 4;
// A physical payload of exactly this many bytes means "the payload continues in
// the next packet"; a logical payload that is a multiple of it ends with an
// empty packet.
inline constexpr std::uint32_t max_physical_payload = 0xFFFFFF;

struct PacketHeader {
    std::uint32_t payload_length = 0;
    std::uint8_t sequence_id = 0;
};

// One physical packet; `payload` points into the input.
struct Packet {
    PacketHeader header;
    Bytes payload;
};

// Needs 4 bytes; never malformed. Inline: the tracker reads every packet's header.
inline DecodeResult<PacketHeader> decode_header(Bytes input) {
    if (input.size() < header_size) return DecodeResult<PacketHeader>::more();
    const auto byte = [input](std::size_t i) { return static_cast<std::uint32_t>(std::to_integer<std::uint8_t>(input[i])); };
    return DecodeResult<PacketHeader>::success({byte(0) | byte(1) << 8 | byte(2) << 16, static_cast<std::uint8_t>(byte(3))},
                                               header_size);
}
// Header plus the whole payload; consumed = 4 + payload_length.
inline DecodeResult<Packet> decode_packet(Bytes input) {
    const auto header = decode_header(input);
    if (!header.ok()) return DecodeResult<Packet>::more();
    const std::size_t total = header_size + header.value.payload_length;
    if (input.size() < total) return DecodeResult<Packet>::more();
    return DecodeResult<Packet>::success(Packet{header.value, input.subspan(header_size, header.value.payload_length)},
                                         total);
}

void encode_header(PacketHeader header, std::byte out[header_size]);

// Appends `payload` as one logical packet starting at `sequence_id`, split into
// 0xFFFFFF-byte physical packets (and a trailing empty one when needed).
// Returns the sequence id after the last packet written.
std::uint8_t append_packet(std::vector<std::byte>& out, std::uint8_t sequence_id, Bytes payload);

// A logical packet (handshake phase only: the command-phase relay reads
// headers, not payloads). One physical packet, which every handshake packet
// within tether's limits is (all far below 16 MiB), has its payload viewed in
// the input; only a longer one is joined, into `joined`. So `payload` is valid
// while the input is unchanged: read it before erasing or growing the buffer it
// came from. Moved, never copied (a copy would view the original's `joined`).
struct LogicalPacket {
    std::uint8_t first_sequence_id = 0;
    std::uint8_t last_sequence_id = 0;
    Bytes payload;
    std::vector<std::byte> joined;

    LogicalPacket() = default;
    LogicalPacket(LogicalPacket&&) noexcept = default;
    LogicalPacket& operator=(LogicalPacket&&) noexcept = default;
    LogicalPacket(const LogicalPacket&) = delete;
    LogicalPacket& operator=(const LogicalPacket&) = delete;
};

// Malformed when the sequence ids of the continuation packets are not
// consecutive or the payload would exceed `max_payload` bytes.
DecodeResult<LogicalPacket> decode_logical_packet(Bytes input, std::size_t max_payload);

}  // namespace tether::codec
