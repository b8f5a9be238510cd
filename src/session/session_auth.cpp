// The auth exchange after the login: relayed to the server's OK (the command phase starts) or ERR.
#include "handshake_common.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

namespace {

// Plugins whose client answer is the password itself, in clear.
bool sends_password_in_clear(std::string_view plugin) { return plugin == "mysql_clear_password" || plugin == "dialog"; }

}  // namespace

// Only while the client leg is TLS and the server leg is not: what in the
// server's packet would make the client send its password in clear, which
// tether would then carry over the plaintext leg. Empty when nothing does.
std::string Session::clear_password_request(codec::Bytes payload) const {
    if (!client_tls_ || upstream_tls_ || payload.empty()) return {};
    const auto first = std::to_integer<std::uint8_t>(payload[0]);
    if (first == codec::auth_more_data_header) {
        auto more = codec::decode_auth_more_data(payload);
        if (more.ok() && more.value.is_full_auth_request()) {
            return "the server asks for caching_sha2_password full authentication, which sends the password in clear "
                   "over a TLS client leg, and tether's leg to the server is not TLS; enable --upstream-tls, or connect "
                   "this client without TLS (it then encrypts the password with the server's RSA key)";
        }
    }
    if (first == codec::auth_switch_header) {
        auto change = codec::decode_auth_switch(payload);
        if (change.ok() && sends_password_in_clear(change.value.plugin_name)) {
            return "the server asks for " + change.value.plugin_name + ", which sends the password in clear, and " +
                   "tether's leg to the server is not TLS; enable --upstream-tls";
        }
    }
    return {};
}

// A login that carries the password in clear itself (a client whose default
// plugin is mysql_clear_password), over a TLS client leg to a plaintext server leg.
bool Session::login_sends_password_in_clear() const {
    return client_tls_ && !upstream_tls_ && login_ && login_->auth_plugin_name &&
           sends_password_in_clear(*login_->auth_plugin_name) && !login_->auth_response.empty();
}

void Session::relay_auth_exchange(Actions& out) {
    for (;;) {
        auto packet = codec::decode_logical_packet(upstream_pending_, detail::max_auth_packet);
        if (packet.need_more()) return;
        if (packet.malformed()) {
            out.raise(UpstreamProblem{std::string("malformed packet from upstream during authentication: ") +
                                      std::string(packet.error)});
            end_both(CloseReason::handshake_failed, out);
            return;
        }
        // The packet's payload is viewed in upstream_pending_: read before it is erased.
        if (std::string why = clear_password_request(packet.value.payload); !why.empty()) {
            turn_.on_server_packet(packet.value);
            detail::erase_front(upstream_pending_, packet.consumed);
            // In the place of the server's packet, in the client leg's numbering; the
            // finisher gives the server's request a wrong answer, so it ends the login cleanly.
            return refuse_client(static_cast<std::uint8_t>(packet.value.first_sequence_id - leg_shift_), std::move(why),
                                 out);
        }
        const std::size_t at = out.to_client.size();
        out.to_client.insert(out.to_client.end(), upstream_pending_.begin(),
                             upstream_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
        // Back to the client leg's numbering (the legs differ by tether's or the client's SSLRequest).
        if (leg_shift_ != 0) codec::shift_sequence_ids(std::span(out.to_client).subspan(at), -leg_shift_);
        turn_.on_server_packet(packet.value);
        const auto& payload = packet.value.payload;
        const std::uint8_t first = payload.empty() ? 0xFF : std::to_integer<std::uint8_t>(payload[0]);
        if (first == codec::ok_header) {
            const auto ok = codec::decode_ok(payload, greeting_->capabilities & login_->capabilities);
            detail::erase_front(upstream_pending_, packet.consumed);
            return on_authenticated(ok, out);
        }
        if (first == codec::err_header) {
            AuthFailed failed{detail::server_error(payload)};
            detail::erase_front(upstream_pending_, packet.consumed);
            out.raise(std::move(failed));
            end_both(CloseReason::auth_failed, out);
            return;
        }
        detail::erase_front(upstream_pending_, packet.consumed);
        // AuthSwitchRequest, AuthMoreData, a next factor: the client answers.
    }
}

// The login's OK: the session is open, and every handshake buffer goes.
void Session::on_authenticated(const codec::DecodeResult<codec::OkPacket>& ok, Actions& out) {
    authenticated_ = true;
    if (ok.ok()) tracker_.set_in_transaction((ok.value.status_flags & codec::status::in_trans) != 0);
    tracker_.set_last_command_at(now_);
    idle_since_ = now_;
    // Only the login's identity is kept for the session's life: not the
    // greeting (but its version), not the auth response.
    server_version_ = std::move(greeting_->server_version);
    greeting_.reset();
    detail::release(login_->auth_response);
    enter(Phase::command);
    // Everything after this OK travels in compressed frames.
    if (auto algorithm = agreed_compression(tracker_.capabilities())) {
        compressed_ = std::make_unique<CompressedCommandFeed>(*algorithm);
    }
    out.raise(Authenticated{});
    // Idle sessions hold no buffers.
    std::vector<std::byte> rest;
    rest.swap(upstream_pending_);
    detail::release(client_pending_);
    replay_early_client_bytes();
    if (!rest.empty()) {
        track_server(rest);
        out.to_client.insert(out.to_client.end(), rest.begin(), rest.end());
    }
    idle_since_ = now_;
    check_tracker(out);
}

// Commands the client pipelined behind its login reach the tracker now, ahead
// of the server bytes that came with the OK (their responses).
void Session::replay_early_client_bytes() {
    if (early_client_bytes_.overflowed()) {
        early_client_bytes_.release();
        tracker_.abandon("too much client data during authentication to follow");
        return;
    }
    if (const codec::Bytes commands = early_client_bytes_.commands(); !commands.empty()) track_client(commands, now_);
    early_client_bytes_.release();
}

}  // namespace tether::session
