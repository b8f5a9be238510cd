// Who owes the next packet of a server handshake, and with which sequence id.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::session {

// Kept packet by packet, in both directions, while a handshake is relayed, so
// that when the client leaves tether knows exactly what the server waits for:
// a login, the rest of a half-forwarded packet, an answer to its last request,
// or nothing (its own reply is on the way). Guessing at that moment is what
// left servers waiting for an answer until their connect_timeout, which they
// count against tether's address (max_connect_errors).
class HandshakeTurn {
public:
    enum class Waiting : std::uint8_t {
        greeting,       // the server has not greeted yet
        login,          // greeted: the server waits for a login (sequence id 1, or 2 after an SSLRequest)
        server,         // the server owes the next packet (its reply to the client's last)
        client_answer,  // the server asked (AuthSwitchRequest, AuthMoreData, ...): it waits for an answer
        done,           // the server sent OK or ERR: the handshake is over
    };

    void on_greeting();
    // tether sent the server an SSLRequest (sequence id 1): the login it waits
    // for, after TLS, is sequence id 2.
    void on_ssl_request_sent();
    // The login went to the server whole (it is reassembled before admission).
    void on_login_sent(std::uint8_t last_sequence_id);
    // One complete logical packet from the server during authentication.
    void on_server_packet(const codec::LogicalPacket& packet);
    // Client bytes forwarded to the server after the login, split anywhere.
    void on_client_bytes(codec::Bytes bytes);

    // Appends what makes the client's side whole for the server: the rest of a
    // partly forwarded packet (zeros up to its announced length, so the server
    // can parse and refuse it), then, if the server waits for an answer, a wrong
    // one at the sequence id it expects. Returns false, appending nothing, when
    // more than `max_bytes` would be needed.
    bool complete_client_side(std::vector<std::byte>& out, std::size_t max_bytes);

    [[nodiscard]] Waiting waiting() const { return waiting_; }
    // The sequence id of the packet the waited-for side sends next.
    [[nodiscard]] std::uint8_t next_sequence_id() const { return next_sequence_id_; }
    // Part of a client packet went to the server, the rest did not.
    [[nodiscard]] bool mid_packet() const { return header_seen_ > 0 || payload_left_ > 0 || continued_; }

private:
    // The wrong answer tether gives in the client's place. Its shape matters:
    // MariaDB's ed25519 plugin counts a signature of the wrong length as a
    // handshake error (max_connect_errors), a wrong signature only as a failed login.
    enum class WrongAnswer : std::uint8_t {
        empty,            // an auth-switch response with no password
        zero_byte,        // neither a key request (0x02) nor a valid encrypted password
        ed25519_signature // 64 zero bytes: the right length, not a valid signature
    };

    void physical_packet_done();
    void client_packet_done();

    Waiting waiting_ = Waiting::greeting;
    WrongAnswer answer_ = WrongAnswer::empty;
    std::uint8_t next_sequence_id_ = 0;
    // Complete client packets the server has not read yet: a client that sends
    // ahead (pipelining) has answered the server's next request already.
    std::uint8_t unread_client_packets_ = 0;
    // Framing of the client bytes forwarded so far.
    std::array<std::byte, codec::header_size> header_{};
    std::uint8_t header_seen_ = 0;   // bytes of the current header forwarded (0 between packets)
    std::uint8_t sequence_id_ = 0;   // of the current (or last) physical packet
    std::uint32_t payload_length_ = 0;
    std::uint32_t payload_left_ = 0;
    bool continued_ = false;  // the logical packet goes on in a next physical packet
};

}  // namespace tether::session
