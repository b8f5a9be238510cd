// Sending the admitted login to the server: over TLS of tether's own when the server leg has it, renumbered for its leg.
#include "handshake_common.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/handshake_finisher.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

namespace {

// CLIENT_SSL is bit 11: bit 3 of the second capability byte.
constexpr std::size_t ssl_flag_offset = codec::header_size + 1;
constexpr std::byte ssl_flag{1u << 3};

}  // namespace

// tether's SSLRequest carries the client's login capabilities, packet size and
// character set: the server keeps these (it does not parse the login after
// TLS a second time), and the login that follows is the client's.
void Session::secure_upstream(Actions& out) {
    codec::SslRequest request;
    request.capabilities = login_->capabilities | codec::cap::ssl;
    request.max_packet_size = login_->max_packet_size;
    request.character_set = login_->character_set;
    codec::append_packet(out.to_upstream, 1, codec::encode_ssl_request(request));
    upstream_tls_ = true;
    upstream_tls_pending_ = true;
    upstream_ssl_capabilities_ = request.capabilities;
    turn_.on_ssl_request_sent();
    out.start_upstream_tls = true;
    enter(Phase::securing_upstream);
}

// The login as the client sent it, with two bytes changed when the legs differ:
// its sequence id (1 on a plaintext leg, 2 after an SSLRequest) and CLIENT_SSL
// (set only where that leg negotiated TLS, or a plaintext server would expect
// a TLS handshake).
void Session::send_login(Actions& out) {
    const std::uint8_t client_seq = login_sequence_id(client_tls_);
    const std::uint8_t server_seq = login_sequence_id(upstream_tls_);
    leg_shift_ = static_cast<int>(server_seq) - static_cast<int>(client_seq);
    to_server_shift_ = codec::SequenceShift(leg_shift_);
    if (login_packet_.size() > ssl_flag_offset) {
        login_packet_[3] = static_cast<std::byte>(server_seq);
        login_packet_[ssl_flag_offset] = upstream_tls_ ? (login_packet_[ssl_flag_offset] | ssl_flag)
                                                       : (login_packet_[ssl_flag_offset] & ~ssl_flag);
    }
    if (out.to_upstream.empty()) {
        out.to_upstream.swap(login_packet_);
    } else {
        out.to_upstream.insert(out.to_upstream.end(), login_packet_.begin(), login_packet_.end());
    }
    detail::release(login_packet_);
    turn_.on_login_sent(server_seq);
    enter(Phase::authenticating);
    if (!client_pending_.empty()) {
        forward_client_bytes(client_pending_, out);
        detail::release(client_pending_);
    }
}

// Client bytes after its login, to the server: renumbered when the legs differ.
void Session::forward_client_bytes(codec::Bytes chunk, Actions& out) {
    const std::size_t at = out.to_upstream.size();
    out.to_upstream.insert(out.to_upstream.end(), chunk.begin(), chunk.end());
    const std::span<std::byte> sent = std::span(out.to_upstream).subspan(at);
    to_server_shift_.apply(sent);
    turn_.on_client_bytes(sent);
    early_client_bytes_.remember(sent);
}

void Session::on_upstream_tls_ready(Actions& out) {
    if (!upstream_tls_pending_) return;
    upstream_tls_pending_ = false;
    if (phase_ == Phase::securing_upstream) {
        send_login(out);
    } else if (phase_ == Phase::finishing_upstream) {
        drive_finish({}, out);
    }
}

void Session::on_upstream_tls_failed(std::string_view why, bool channel_usable, Actions& out) {
    if (!upstream_tls_pending_) return;
    upstream_tls_pending_ = false;
    const std::string problem = "TLS to the server failed: " + std::string(why);
    out.raise(UpstreamProblem{problem});
    if (phase_ == Phase::securing_upstream) {
        std::string message = "tether: " + problem;
        codec::append_err(out.to_client, static_cast<std::uint8_t>(login_sequence_id_ + 1), detail::cr_ssl_connection_error,
                          detail::general_sql_state, message);
        out.drain_client = true;
        out.raise(ClientRefused{std::move(message)});
        set_reason(CloseReason::handshake_failed);
        close_client_side(out);
        if (channel_usable) {
            finish_upstream(out);  // a refused login over the untrusted channel: it carries no secret
            return;
        }
        close_upstream_side(out);
        enter(Phase::closed);
        return;
    }
    if (phase_ == Phase::finishing_upstream) {
        if (channel_usable) {
            drive_finish({}, out);
            return;
        }
        finisher_.reset();
        close_upstream_side(out);
        enter(Phase::closed);
    }
}

}  // namespace tether::session
