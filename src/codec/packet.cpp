// Packet framing: physical packet headers and logical packets split at 0xFFFFFF bytes.
#include "tether/codec/packet.hpp"

#include <algorithm>

#include "tether/codec/wire.hpp"

namespace tether::codec {

void encode_header(PacketHeader header, std::byte out[header_size]) {
    out[0] = static_cast<std::byte>(header.payload_length & 0xFF);
    out[1] = static_cast<std::byte>((header.payload_length >> 8) & 0xFF);
    out[2] = static_cast<std::byte>((header.payload_length >> 16) & 0xFF);
    out[3] = static_cast<std::byte>(header.sequence_id);
}

std::uint8_t append_packet(std::vector<std::byte>& out, std::uint8_t sequence_id, Bytes payload) {
    out.reserve(out.size() + payload.size() + header_size * (1 + payload.size() / max_physical_payload));
    for (;;) {
        const std::size_t chunk = std::min<std::size_t>(payload.size(), max_physical_payload);
        std::byte header[header_size];
        encode_header(PacketHeader{static_cast<std::uint32_t>(chunk), sequence_id}, header);
        out.insert(out.end(), header, header + header_size);
        out.insert(out.end(), payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(chunk));
        payload = payload.subspan(chunk);
        ++sequence_id;
        // A full-size chunk tells the peer "more follows", so the last one must be shorter (maybe empty).
        if (chunk < max_physical_payload) return sequence_id;
    }
}

DecodeResult<LogicalPacket> decode_logical_packet(Bytes input, std::size_t max_payload) {
    using Result = DecodeResult<LogicalPacket>;
    // First pass without copying: find where the logical packet ends, so that
    // "need more" costs nothing and limits are checked before any allocation;
    // it reads the sequence ids too.
    std::size_t offset = 0;
    std::size_t payload_total = 0;
    std::uint8_t expected_sequence = 0;
    LogicalPacket logical;
    bool first = true;
    for (;;) {
        auto header = decode_header(input.subspan(offset));
        if (!header.ok()) return Result::more();
        if (!first && header.value.sequence_id != expected_sequence) {
            return Result::bad("continuation packet sequence id is not consecutive");
        }
        payload_total += header.value.payload_length;
        if (payload_total > max_payload) return Result::bad("logical packet exceeds the maximum payload size");
        if (first) logical.first_sequence_id = header.value.sequence_id;
        logical.last_sequence_id = header.value.sequence_id;
        first = false;
        expected_sequence = static_cast<std::uint8_t>(header.value.sequence_id + 1);
        const std::size_t end = offset + header_size + header.value.payload_length;
        if (input.size() < end) return Result::more();
        offset = end;
        if (header.value.payload_length < max_physical_payload) break;
    }

    if (offset == header_size + payload_total) {  // one physical packet: viewed, not copied
        logical.payload = input.subspan(header_size, payload_total);
        return Result::success(std::move(logical), offset);
    }
    logical.joined.reserve(payload_total);
    for (std::size_t pos = 0; pos < offset;) {
        const auto packet = decode_packet(input.subspan(pos));
        logical.joined.insert(logical.joined.end(), packet.value.payload.begin(), packet.value.payload.end());
        pos += packet.consumed;
    }
    logical.payload = logical.joined;
    return Result::success(std::move(logical), offset);
}

}  // namespace tether::codec
