// Renumbering relayed packets across legs (see sequence_shift.hpp).
#include "tether/codec/sequence_shift.hpp"

#include <algorithm>

#include "tether/codec/packet.hpp"

namespace tether::codec {

void SequenceShift::apply(std::span<std::byte> bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (payload_left_ > 0) {
            const std::size_t n = std::min<std::size_t>(payload_left_, bytes.size() - at);
            payload_left_ -= static_cast<std::uint32_t>(n);
            at += n;
            continue;
        }
        const auto byte = std::to_integer<std::uint32_t>(bytes[at]);
        if (header_seen_ < 3) {
            length_ |= byte << (8 * header_seen_);
            ++header_seen_;
            ++at;
            continue;
        }
        // The fourth header byte: the sequence id.
        if (byte != 0) bytes[at] = static_cast<std::byte>(static_cast<std::uint8_t>(byte + delta_));
        payload_left_ = length_;
        header_seen_ = 0;
        length_ = 0;
        ++at;
    }
}

void shift_sequence_ids(std::span<std::byte> packets, int delta) {
    SequenceShift shift(delta);
    shift.apply(packets);
}

}  // namespace tether::codec
