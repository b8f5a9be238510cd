// Up to the server's greeting: relaying it, adopting it, and telling a waiting client when no usable server came.
#include "handshake_common.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/greeting_rewrite.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

// Before the greeting an ERR is the client's first packet, so its sequence id
// is 0; a client that is gone already gets nothing.
void Session::refuse_before_greeting(std::string_view why, Actions& out) {
    if (!client_open_) return;
    codec::append_err(out.to_client, 0, detail::er_tether_upstream, detail::upstream_sql_state, "tether: " + std::string(why));
}

// What the session keeps of a greeting for its life (relayed, or read by the
// finisher): the server's thread id and version. A relayed greeting stays in
// greeting_ until the login completes, and its version with it.
void Session::adopt_greeting(const codec::Greeting& greeting, Actions& out) {
    thread_id_ = greeting.thread_id;
    if (&greeting != greeting_.get()) server_version_ = greeting.server_version;
    out.raise(GreetingReceived{});
}

void Session::relay_greeting(Actions& out) {
    auto packet = codec::decode_logical_packet(upstream_pending_, detail::max_greeting);
    if (packet.need_more()) return;
    auto fail = [&](std::string what) {
        set_reason(CloseReason::upstream_closed);
        refuse_before_greeting(what, out);
        out.raise(UpstreamProblem{std::move(what)});
        end_both(CloseReason::upstream_closed, out);
    };
    if (packet.malformed()) return fail(std::string("malformed greeting from upstream: ") + std::string(packet.error));
    const auto& payload = packet.value.payload;
    if (codec::is_err_packet(payload)) {
        // Refused before the greeting (1040 too many connections, 1129 host
        // blocked): the client must see the server's own words.
        out.to_client.insert(out.to_client.end(), upstream_pending_.begin(),
                             upstream_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
        out.raise(UpstreamRefused{detail::server_error(payload)});
        end_both(CloseReason::upstream_closed, out);
        return;
    }
    auto greeting = codec::decode_greeting(payload);
    if (!greeting.ok()) return fail(std::string("malformed greeting from upstream: ") + std::string(greeting.error));
    detail::erase_front(upstream_pending_, packet.consumed);
    greeting_ = std::make_unique<codec::Greeting>(std::move(greeting.value));
    turn_.on_greeting();
    adopt_greeting(*greeting_, out);

    // Written in place, behind a header filled in once its length is known
    // (a greeting is far below a physical packet's 16 MiB).
    const std::size_t at = out.to_client.size();
    out.to_client.reserve(at + codec::header_size + 64 + packet.value.payload.size());  // the encoder's own estimate fits
    out.to_client.resize(at + codec::header_size);
    codec::append_greeting(out.to_client, *greeting_, client_capabilities(*greeting_, config_.client_tls != ClientTls::disabled));
    codec::encode_header({static_cast<std::uint32_t>(out.to_client.size() - at - codec::header_size), packet.value.first_sequence_id},
                         out.to_client.data() + at);
    enter(Phase::awaiting_login);
    if (!client_pending_.empty()) read_login(out);
}

// A client waiting for its server gets none. The same failure after the
// client left (tether finishing its handshake) is news about the finish.
void Session::raise_unreachable(std::string why, Actions& out) {
    if (reason_ == CloseReason::upstream_unreachable) {
        out.raise(UpstreamUnreachable{std::move(why)});
    } else {
        out.raise(UpstreamProblem{std::move(why)});
    }
}

void Session::upstream_connect_failed(std::string_view why, Actions& out) {
    upstream_connecting_ = false;
    upstream_open_ = false;
    set_reason(CloseReason::upstream_unreachable);
    std::string message = "cannot connect to upstream " + config_.upstream_name + ": " + std::string(why);
    refuse_before_greeting(message, out);
    close_client_side(out);
    raise_unreachable(std::move(message), out);
    enter(Phase::closed);
}

void Session::greeting_timed_out(Actions& out) {
    set_reason(CloseReason::upstream_unreachable);
    std::string why = "upstream " + config_.upstream_name + " sent no greeting within " +
                      detail::duration_text(config_.handshake_timeout);
    refuse_before_greeting(why, out);
    raise_unreachable(std::move(why), out);
    end_both(CloseReason::upstream_unreachable, out);
}

}  // namespace tether::session
