// The client's login: reading it, refusing what tether cannot relay, and the owner's admission.
#include "handshake_common.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

// Before the greeting, and while the owner decides, the client's bytes wait
// here (a client may send its login before it has read the greeting), bounded.
void Session::buffer_before_login(codec::Bytes chunk, Actions& out) {
    client_pending_.insert(client_pending_.end(), chunk.begin(), chunk.end());
    if (client_pending_.size() <= detail::max_login) return;
    // Before the greeting an ERR is the client's first packet (seq 0);
    // while the owner decides, it answers the login.
    const bool login_read = phase_ == Phase::awaiting_admission || phase_ == Phase::securing_upstream;
    const auto seq = login_read ? static_cast<std::uint8_t>(login_sequence_id_ + 1) : std::uint8_t{0};
    refuse_client(seq, "client sent more than " + std::to_string(detail::max_login / 1024) + " KiB before its login completed", out);
}

// The client's handshake ends without a login: the reason, its side closed,
// the server side finished with the reserved login.
void Session::fail_handshake(CloseReason reason, Actions& out) {
    set_reason(reason);
    close_client_side(out);
    finish_upstream(out);
}

// An ERR the client can read (its sequence id follows what it sent), a counted
// reason, and the server side finished with the reserved login.
void Session::refuse_client(std::uint8_t sequence_id, std::string message, Actions& out, std::uint16_t code,
                            std::string_view sql_state) {
    codec::append_err(out.to_client, sequence_id, code, sql_state, "tether: " + message);
    out.drain_client = true;
    out.raise(ClientRefused{std::move(message)});
    fail_handshake(CloseReason::handshake_failed, out);
}

void Session::read_login(Actions& out) {
    // Judged by its header, before the bytes arrive: a client still sending
    // must not wait for tether to buffer what it will refuse anyway.
    if (auto header = codec::decode_header(client_pending_); header.ok() && header.value.payload_length > detail::max_login) {
        return refuse_client(static_cast<std::uint8_t>(header.value.sequence_id + 1),
                             "login packet too large: " + std::to_string(header.value.payload_length) +
                                 " bytes, tether accepts up to " + std::to_string(detail::max_login) + " (256 KiB)",
                             out);
    }
    auto packet = codec::decode_logical_packet(client_pending_, detail::max_login);
    if (packet.need_more()) return;
    auto refuse = [&](std::string message) {
        refuse_client(static_cast<std::uint8_t>((packet.ok() ? packet.value.last_sequence_id : 1) + 1), std::move(message), out);
    };
    if (packet.malformed()) return refuse(std::string("bad handshake: ") + std::string(packet.error));
    const auto& payload = packet.value.payload;
    if (codec::is_ssl_request(payload)) {
        if (client_tls_) return refuse("bad handshake: a second SSLRequest inside TLS");
        if (config_.client_tls == ClientTls::disabled) {
            return refuse("the client asked for TLS, which this tether does not offer (no --tls-cert); "
                          "connect without TLS (ssl-mode DISABLED)");
        }
        return start_client_tls(packet.value, packet.consumed, out);
    }
    auto login = codec::decode_login(payload);
    if (!login.ok()) return refuse(std::string("bad handshake: ") + std::string(login.error));
    if (!client_tls_ && (login.value.capabilities & codec::cap::ssl) != 0) {
        return refuse("bad handshake: the login asks for TLS but came without an SSLRequest");
    }
    if (!client_tls_ && config_.client_tls == ClientTls::required) {
        // The server's own refusal of a plaintext login, with tether's reason.
        return refuse_client(static_cast<std::uint8_t>(packet.value.last_sequence_id + 1),
                             "connections using insecure transport are prohibited (--client-tls required); connect with TLS",
                             out, detail::er_secure_transport_required, detail::general_sql_state);
    }
    // The greeting shows the server's own compression bits (tether decodes
    // both algorithms); mysqlnd asks for CLIENT_COMPRESS even when it is not shown.
    const codec::Capabilities compression = codec::cap::compress | codec::cap::zstd_compression;
    const codec::Capabilities wanted = login.value.capabilities & compression;
    if (wanted != 0 && (wanted & greeting_->capabilities) == 0) {
        return refuse("the client asked for compression, which the server did not offer");
    }
    login_sequence_id_ = packet.value.last_sequence_id;
    if (packet.consumed == client_pending_.size()) {
        login_packet_.swap(client_pending_);  // the usual case: the login is all the client sent
    } else {
        login_packet_.assign(client_pending_.begin(), client_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
        detail::erase_front(client_pending_, packet.consumed);
    }
    const codec::Capabilities agreed = login.value.capabilities & greeting_->capabilities;
    tracker_ = CommandTracker(agreed, config_.statement_fingerprints);
    login_ = std::move(login.value);
    enter(Phase::awaiting_admission);
    out.raise(LoginReceived{});
}

// The client's SSLRequest (sequence id 1): TLS on its leg, and its real login
// comes inside it at sequence id 2. What it sent after the request is the start
// of its TLS handshake, for io's engine, not for the session.
void Session::start_client_tls(const codec::LogicalPacket& ssl_request, std::size_t consumed, Actions& out) {
    auto request = codec::decode_ssl_request(ssl_request.payload);
    if (!request.ok() || ssl_request.first_sequence_id != 1) {
        const std::string why = request.ok() ? std::string("SSLRequest out of sequence") : std::string(request.error);
        refuse_client(static_cast<std::uint8_t>(ssl_request.last_sequence_id + 1), "bad handshake: " + why, out);
        return;
    }
    client_tls_ = true;
    detail::erase_front(client_pending_, consumed);
    out.start_client_tls = true;
    out.client_tls_bytes.assign(client_pending_.begin(), client_pending_.end());
    detail::release(client_pending_);
}

void Session::admit(const Admission& admission, Actions& out) {
    if (phase_ != Phase::awaiting_admission) return;
    if (!admission.allowed) {
        const auto seq = static_cast<std::uint8_t>(login_sequence_id_ + 1);
        codec::append_err(out.to_client, seq, admission.error_code, admission.sql_state, admission.message);
        out.drain_client = true;
        out.raise(ClientRefused{admission.message});
        fail_handshake(CloseReason::rejected, out);
        return;
    }
    const bool server_offers_tls = (greeting_->capabilities & codec::cap::ssl) != 0;
    if (config_.upstream_tls != UpstreamTls::disabled && server_offers_tls) return secure_upstream(out);
    if (config_.upstream_tls == UpstreamTls::required) {
        out.raise(UpstreamProblem{"the server does not offer TLS (--upstream-tls requires it)"});
        return refuse_client(static_cast<std::uint8_t>(login_sequence_id_ + 1),
                             "the server does not offer TLS, and --upstream-tls requires it", out,
                             detail::cr_ssl_connection_error, detail::general_sql_state);
    }
    if (login_sends_password_in_clear()) {
        return refuse_client(static_cast<std::uint8_t>(login_sequence_id_ + 1),
                                     "the login carries a password in clear (mysql_clear_password), and tether's leg to "
                                     "the server is not TLS; enable --upstream-tls",
                                     out);
    }
    send_login(out);
}

}  // namespace tether::session
