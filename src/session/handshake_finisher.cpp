// Finishing an abandoned server handshake (see handshake_finisher.hpp).
#include "tether/session/handshake_finisher.hpp"

#include "tether/codec/command.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/reserved_login.hpp"

#include "handshake_common.hpp"

namespace tether::session {

namespace {

using detail::max_greeting;
// The same bound the relay applies to auth-exchange packets.
constexpr std::size_t max_server_packet = detail::max_auth_packet;
// The most tether writes to complete a half-sent client packet. A client that
// announced more and vanished costs the server one connect error rather than
// tether megabytes of zeros per connection.
constexpr std::size_t max_completion = 1024 * 1024;

using detail::erase_front;

}  // namespace

HandshakeFinisher::HandshakeFinisher(const std::string& reserved_user, HandshakeTurn turn,
                                     std::unique_ptr<codec::Greeting> greeting, std::vector<std::byte> server_bytes,
                                     Clock::time_point deadline, std::optional<codec::Capabilities> ssl_request_capabilities,
                                     bool secure_login)
    : reserved_user_(reserved_user),
      turn_(turn),
      greeting_(std::move(greeting)),
      pending_(std::move(server_bytes)),
      deadline_(deadline),
      ssl_request_capabilities_(ssl_request_capabilities),
      secure_login_(secure_login) {}

HandshakeFinisher::Step HandshakeFinisher::advance(codec::Bytes server_bytes, std::vector<std::byte>& to_upstream) {
    pending_.insert(pending_.end(), server_bytes.begin(), server_bytes.end());
    Step step;
    if (!greeting_) {
        step = read_greeting();
        if (step.done || !greeting_) return step;
    }
    play_client(to_upstream, step);
    while (!step.done && !step.start_tls) {
        auto packet = codec::decode_logical_packet(pending_, max_server_packet);
        if (packet.need_more()) break;
        if (packet.malformed() || packet.value.payload.empty()) {
            step.done = true;
            step.problem = "the server sent a packet tether cannot follow";
            break;
        }
        // The payload is viewed in pending_: read before it is erased.
        turn_.on_server_packet(packet.value);
        const auto first = std::to_integer<std::uint8_t>(packet.value.payload[0]);
        erase_front(pending_, packet.consumed);
        if (first == codec::ok_header) {
            // A login that needed no secret succeeded: leave as a client would.
            codec::append_com_quit(to_upstream);
            step.done = true;
        } else if (first == codec::err_header) {
            step.done = true;  // the refusal this was for: a complete, failed login
        } else {
            play_client(to_upstream, step);
        }
    }
    if (step.done) std::vector<std::byte>().swap(pending_);
    return step;
}

HandshakeFinisher::Step HandshakeFinisher::read_greeting() {
    Step step;
    auto packet = codec::decode_logical_packet(pending_, max_greeting);
    if (packet.need_more()) return step;
    step.done = true;
    if (!packet.ok()) {
        step.bad_greeting = true;
        return step;
    }
    const auto& payload = packet.value.payload;
    // An ERR instead of a greeting (1040, 1129) or garbage: there is no handshake to finish.
    if (codec::is_err_packet(payload)) {
        step.refused = true;
        step.refusal = detail::server_error(payload);
        return step;
    }
    auto greeting = codec::decode_greeting(payload);
    if (!greeting.ok()) {
        step.bad_greeting = true;
        return step;
    }
    erase_front(pending_, packet.consumed);
    greeting_ = std::make_unique<codec::Greeting>(std::move(greeting.value));
    turn_.on_greeting();
    step.done = false;
    step.greeted = true;
    return step;
}

// Sends what the server waits for from the client's side, if anything.
void HandshakeFinisher::play_client(std::vector<std::byte>& to_upstream, Step& step) {
    switch (turn_.waiting()) {
        case HandshakeTurn::Waiting::greeting:
            return;
        case HandshakeTurn::Waiting::login:
            if (secure_login_ && !ssl_request_capabilities_ && (greeting_->capabilities & codec::cap::ssl) != 0) {
                codec::SslRequest request;
                const codec::Login login = reserved_login(*greeting_, reserved_user_);
                request.capabilities = login.capabilities | codec::cap::ssl;
                request.max_packet_size = login.max_packet_size;
                request.character_set = login.character_set;
                codec::append_packet(to_upstream, 1, codec::encode_ssl_request(request));
                ssl_request_capabilities_ = request.capabilities;
                turn_.on_ssl_request_sent();
                step.start_tls = true;
                return;
            }
        {
            const std::uint8_t seq = turn_.next_sequence_id();
            codec::append_packet(to_upstream, seq,
                                 codec::encode_login(reserved_login(*greeting_, reserved_user_, ssl_request_capabilities_)));
            turn_.on_login_sent(seq);
        }
            return;
        case HandshakeTurn::Waiting::server:
        case HandshakeTurn::Waiting::client_answer:
            if (!turn_.complete_client_side(to_upstream, max_completion)) {
                step.done = true;
                step.problem = "the client left inside a packet too large to complete";
            }
            return;
        case HandshakeTurn::Waiting::done:
            step.done = true;
            return;
    }
}

}  // namespace tether::session
