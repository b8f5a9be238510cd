// The client's bytes between its login and the server's OK (see early_client_bytes.hpp).
#include "tether/session/early_client_bytes.hpp"

#include "handshake_common.hpp"

namespace tether::session {

void EarlyClientBytes::remember(codec::Bytes chunk) {
    if (overflowed_) return;
    if (bytes_.size() + chunk.size() > limit) {
        overflowed_ = true;
        detail::release(bytes_);
        return;
    }
    bytes_.insert(bytes_.end(), chunk.begin(), chunk.end());
}

codec::Bytes EarlyClientBytes::commands() const {
    codec::Bytes rest(bytes_);
    while (!rest.empty()) {
        auto packet = codec::decode_packet(rest);
        if (!packet.ok() || packet.value.header.sequence_id == 0) break;
        rest = rest.subspan(packet.consumed);
    }
    return rest;
}

void EarlyClientBytes::release() { detail::release(bytes_); }

}  // namespace tether::session
