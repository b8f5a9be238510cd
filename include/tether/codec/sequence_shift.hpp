// Renumbering the sequence ids of packets relayed between two legs whose handshakes differ by an SSLRequest.
#pragma once

#include <cstdint>
#include <span>

namespace tether::codec {

// A leg that negotiated TLS spent sequence id 1 on its SSLRequest, so its login
// is packet 2 and every packet of its auth exchange is one higher than on a
// plaintext leg. When only one of tether's two legs is TLS, the packets of the
// login exchange are relayed with their sequence ids moved by +1 or -1 (after
// the login's OK every command restarts at 0 on both legs: nothing to move).
//
// SequenceShift follows the packet framing of a byte stream split anywhere and
// adds `delta` to each physical packet's sequence id in place. A packet whose
// sequence id is 0 is a command the client pipelined behind its login, not part
// of the exchange, and is left as it is.
class SequenceShift {
public:
    explicit SequenceShift(int delta = 0) : delta_(static_cast<std::uint8_t>(delta)) {}

    [[nodiscard]] bool active() const { return delta_ != 0; }
    void apply(std::span<std::byte> bytes);

private:
    std::uint8_t delta_;
    std::uint8_t header_seen_ = 0;  // bytes of the current header passed (0 between packets)
    std::uint32_t length_ = 0;      // of the current header, as its bytes pass
    std::uint32_t payload_left_ = 0;
};

// The same for whole packets already framed (a server's auth-exchange packet,
// the login): every physical header in `packets` moves by `delta`.
void shift_sequence_ids(std::span<std::byte> packets, int delta);

}  // namespace tether::codec
