// Who owes the next packet of a server handshake (see handshake_turn.hpp).
#include "tether/session/handshake_turn.hpp"

#include <algorithm>
#include <string_view>

#include "tether/codec/handshake.hpp"
#include "tether/codec/response.hpp"

namespace tether::session {

namespace {

constexpr std::size_t ed25519_signature_size = 64;

// The plugin an AuthSwitchRequest names (0xFE, name, NUL, data).
std::string_view switch_plugin(codec::Bytes payload) {
    std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    text.remove_prefix(1);
    return text.substr(0, text.find('\0'));
}

bool is_fast_auth_success(codec::Bytes payload) {
    auto more = codec::decode_auth_more_data(payload);
    return more.ok() && more.value.is_fast_auth_success();
}

// The payload length of a header of which only the first `seen` bytes were
// sent: the ones not sent read as zero.
std::uint32_t partial_header_length(const std::array<std::byte, codec::header_size>& header, std::uint8_t seen) {
    std::array<std::byte, codec::header_size> sent{};
    std::copy_n(header.begin(), std::min<std::size_t>(seen, codec::header_size), sent.begin());
    return codec::decode_header(sent).value.payload_length;
}

}  // namespace

void HandshakeTurn::on_greeting() {
    waiting_ = Waiting::login;
    next_sequence_id_ = 1;
}

void HandshakeTurn::on_ssl_request_sent() { next_sequence_id_ = 2; }

void HandshakeTurn::on_login_sent(std::uint8_t last_sequence_id) {
    waiting_ = Waiting::server;
    next_sequence_id_ = static_cast<std::uint8_t>(last_sequence_id + 1);
}

void HandshakeTurn::on_server_packet(const codec::LogicalPacket& packet) {
    const auto& payload = packet.payload;
    const std::uint8_t first = payload.empty() ? 0 : std::to_integer<std::uint8_t>(payload[0]);
    const auto after = static_cast<std::uint8_t>(packet.last_sequence_id + 1);
    if (!payload.empty() && (first == codec::ok_header || first == codec::err_header)) {
        waiting_ = Waiting::done;
        return;
    }
    // caching_sha2_password's "fast authentication succeeded": the OK follows, no answer.
    if (first == codec::auth_more_data_header && is_fast_auth_success(payload)) {
        waiting_ = Waiting::server;
        next_sequence_id_ = after;
        return;
    }
    // Anything else asks the client for something: an AuthSwitchRequest, an
    // AuthMoreData (full auth, a public key), a next factor, a plugin's own data.
    if (first != codec::auth_switch_header) {
        answer_ = WrongAnswer::zero_byte;
    } else {
        answer_ = switch_plugin(payload) == "client_ed25519" ? WrongAnswer::ed25519_signature : WrongAnswer::empty;
    }
    if (unread_client_packets_ > 0) {  // the client answered ahead of the question
        --unread_client_packets_;
        waiting_ = Waiting::server;
        next_sequence_id_ = static_cast<std::uint8_t>(after + 1);
        return;
    }
    waiting_ = Waiting::client_answer;
    next_sequence_id_ = after;
}

void HandshakeTurn::on_client_bytes(codec::Bytes bytes) {
    while (!bytes.empty()) {
        if (payload_left_ > 0) {
            const std::size_t n = std::min<std::size_t>(payload_left_, bytes.size());
            payload_left_ -= static_cast<std::uint32_t>(n);
            bytes = bytes.subspan(n);
            if (payload_left_ == 0) physical_packet_done();
            continue;
        }
        header_[header_seen_++] = bytes[0];
        bytes = bytes.subspan(1);
        if (header_seen_ < codec::header_size) continue;
        header_seen_ = 0;
        const codec::PacketHeader header = codec::decode_header(header_).value;
        payload_length_ = header.payload_length;
        sequence_id_ = header.sequence_id;
        payload_left_ = payload_length_;
        if (payload_left_ == 0) physical_packet_done();
    }
}

void HandshakeTurn::physical_packet_done() {
    continued_ = payload_length_ == codec::max_physical_payload;
    if (!continued_) client_packet_done();
}

void HandshakeTurn::client_packet_done() {
    if (waiting_ == Waiting::client_answer) {
        waiting_ = Waiting::server;
        next_sequence_id_ = static_cast<std::uint8_t>(sequence_id_ + 1);
        return;
    }
    if (unread_client_packets_ < 0xFF) ++unread_client_packets_;
}

bool HandshakeTurn::complete_client_side(std::vector<std::byte>& out, std::size_t max_bytes) {
    std::vector<std::byte> rest;
    if (header_seen_ > 0) {
        // The length bytes not sent read as zero; the sequence id is the one the server expects.
        const std::uint32_t length = partial_header_length(header_, header_seen_);
        const std::size_t header_rest = codec::header_size - header_seen_;
        if (header_rest + length > max_bytes) return false;
        rest.resize(header_rest - 1, std::byte{0});
        std::uint8_t seq = static_cast<std::uint8_t>(sequence_id_ + 1);
        if (!continued_ && waiting_ == Waiting::client_answer) seq = next_sequence_id_;
        rest.push_back(static_cast<std::byte>(seq));
        rest.resize(rest.size() + length, std::byte{0});
    } else if (payload_left_ > 0) {
        if (payload_left_ > max_bytes) return false;
        rest.resize(payload_left_, std::byte{0});
    }
    on_client_bytes(rest);
    if (continued_) {  // the last physical packet was full: an empty one ends the logical packet
        const std::size_t at = rest.size();
        codec::append_packet(rest, static_cast<std::uint8_t>(sequence_id_ + 1), {});
        on_client_bytes(codec::Bytes(rest).subspan(at));
    }
    if (waiting_ == Waiting::client_answer) {
        const std::size_t at = rest.size();
        const std::byte zeros[ed25519_signature_size] = {};
        const std::size_t size = answer_ == WrongAnswer::empty       ? 0
                                 : answer_ == WrongAnswer::zero_byte ? 1
                                                                     : ed25519_signature_size;
        codec::append_packet(rest, next_sequence_id_, codec::Bytes(zeros, size));
        on_client_bytes(codec::Bytes(rest).subspan(at));
    }
    out.insert(out.end(), rest.begin(), rest.end());
    return true;
}

}  // namespace tether::session
