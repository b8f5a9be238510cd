// The per-connection protocol state machine (see session.hpp).
#include "tether/session/session.hpp"

#include <algorithm>
#include <cassert>
#include <string.h>  // explicit_bzero

#include "tether/codec/command.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/greeting_rewrite.hpp"
#include "tether/session/handshake_finisher.hpp"

namespace tether::session {

namespace {

// Generous limits for the few handshake packets tether reassembles; real ones
// are a few hundred bytes (connection attributes are capped at 64 KiB by MySQL).
constexpr std::size_t max_greeting = 64 * 1024;
constexpr std::size_t max_login = 256 * 1024;
constexpr std::size_t max_auth_packet = 1024 * 1024;

// tether's own error for "no usable server connection", sent instead of a
// greeting. Not a 2xxx code: those are client-library codes, and libmariadb
// reports a server packet carrying one as "malformed packet" and drops the
// message. SQLSTATE 08S01 makes JDBC drivers treat it as a connection failure.
constexpr std::uint16_t er_tether_upstream = 9001;
constexpr std::string_view upstream_sql_state = "08S01";
constexpr std::uint16_t er_handshake_error = 1043;

void erase_front(std::vector<std::byte>& buffer, std::size_t n) {
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

// Zeroed before it is freed: handshake buffers hold the client's scramble.
void release(std::vector<std::byte>& buffer) {
    if (!buffer.empty()) explicit_bzero(buffer.data(), buffer.size());
    std::vector<std::byte>().swap(buffer);
}

// "what: 1045 Access denied ..." for the log; the server's words, never auth data.
std::string describe_refusal(std::string_view what, const codec::DecodeResult<codec::ErrPacket>& err) {
    std::string note(what);
    if (err.ok()) note += ": " + std::to_string(err.value.code) + " " + std::string(err.value.message);
    return note;
}

std::string seconds_text(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace

std::string_view phase_name(Phase phase) {
    switch (phase) {
        case Phase::connecting: return "connecting";
        case Phase::awaiting_greeting: return "awaiting_greeting";
        case Phase::awaiting_login: return "awaiting_login";
        case Phase::awaiting_admission: return "awaiting_admission";
        case Phase::authenticating: return "authenticating";
        case Phase::command: return "command";
        case Phase::relaying: return "relaying";
        case Phase::finishing_upstream: return "finishing_upstream";
        case Phase::closed: return "closed";
    }
    return "unknown";
}

Session::Session(const SessionConfig& config, Clock::time_point now)
    : config_(config), started_at_(now), now_(now), connect_started_(now) {}

Session::~Session() = default;

std::size_t Session::buffered_bytes() const {
    return client_pending_.capacity() + upstream_pending_.capacity() + early_client_bytes_.capacity() +
           login_packet_.capacity() + (finisher_ ? finisher_->buffered_bytes() : 0);
}

void Session::enter(Phase next) { phase_ = next; }

void Session::set_reason(CloseReason reason) {
    if (!reason_) reason_ = reason;
}

Clock::time_point Session::last_activity() const { return authenticated_ ? idle_since_ : started_at_; }

void Session::close_client_side(Actions& out) {
    if (!client_open_) return;
    client_open_ = false;
    out.close_client = true;
}

// One way both sides end: the reason (if none yet), both sockets, the phase.
void Session::end_both(CloseReason reason, Actions& out) {
    set_reason(reason);
    close_client_side(out);
    close_upstream_side(out);
    enter(Phase::closed);
}

// The client side is gone already: close the server side and end.
void Session::end_after_client(Actions& out) {
    close_upstream_side(out);
    enter(Phase::closed);
}

void Session::close_upstream_side(Actions& out) {
    if (!upstream_open_ && !upstream_connecting_) return;
    upstream_open_ = false;
    upstream_connecting_ = false;
    out.close_upstream = true;
}

void Session::start(Actions& out) {
    upstream_connecting_ = true;
    out.connect_upstream = true;
}

void Session::start(Clock::time_point now, Actions& out) {
    now_ = now;
    connect_started_ = now;
    start(out);
}

void Session::refuse_at_accept(const Admission& refusal, Actions& out) {
    // Sent instead of a greeting: sequence id 0.
    codec::append_err(out.to_client, 0, refusal.error_code, refusal.sql_state, refusal.message);
    out.note = refusal.message;
    set_reason(CloseReason::rejected);
    close_client_side(out);
    enter(Phase::closed);
}

void Session::on_upstream_connected(Clock::time_point now, Actions& out) {
    now_ = now;
    upstream_connecting_ = false;
    upstream_open_ = true;
    if (phase_ == Phase::connecting) enter(Phase::awaiting_greeting);
    if (phase_ == Phase::finishing_upstream) drive_finish({}, out);
}

void Session::on_upstream_connect_failed(std::string_view why, Actions& out) {
    upstream_connecting_ = false;
    upstream_open_ = false;
    set_reason(CloseReason::upstream_unreachable);
    std::string message = "cannot connect to upstream " + config_.upstream_name + ": " + std::string(why);
    if (client_open_) {
        // Sent instead of a greeting: sequence id 0.
        codec::append_err(out.to_client, 0, er_tether_upstream, upstream_sql_state, "tether: " + message);
        close_client_side(out);
    }
    out.note = std::move(message);
    enter(Phase::closed);
}

void Session::on_client_bytes(codec::Bytes chunk, Clock::time_point now, Actions& out) {
    now_ = now;
    switch (phase_) {
        case Phase::command:
            track_client(chunk, now);
            // The client acted: idle time counts from here (also for commands
            // that get no response, such as COM_STMT_CLOSE).
            idle_since_ = now;
            out.forward = true;
            check_tracker(out);
            return;
        case Phase::relaying:
            idle_since_ = now;
            out.forward = true;
            return;
        case Phase::authenticating:
            out.forward = true;
            turn_.on_client_bytes(chunk);
            remember_early_client_bytes(chunk);
            return;
        case Phase::connecting:
        case Phase::awaiting_greeting:
        case Phase::awaiting_admission:
            client_pending_.insert(client_pending_.end(), chunk.begin(), chunk.end());
            if (client_pending_.size() > max_login) {
                // Before the greeting an ERR is the client's first packet (seq 0);
                // while the owner decides, it answers the login.
                const auto seq = phase_ == Phase::awaiting_admission ? static_cast<std::uint8_t>(login_sequence_id_ + 1) : std::uint8_t{0};
                refuse_client(seq, "client sent more than " + std::to_string(max_login / 1024) + " KiB before its login completed", out);
            }
            return;
        case Phase::awaiting_login:
            client_pending_.insert(client_pending_.end(), chunk.begin(), chunk.end());
            read_login(out);
            return;
        case Phase::finishing_upstream:
        case Phase::closed:
            return;
    }
}

void Session::on_upstream_bytes(codec::Bytes chunk, Clock::time_point now, Actions& out) {
    now_ = now;
    switch (phase_) {
        case Phase::command: {
            // The OK of a COM_CHANGE_USER is held for admission; in a
            // compressed session it travels inside a frame that is forwarded
            // as it is, so there the change is admitted after its OK (a
            // refusal closes the session) instead of in its place.
            if (!compressed_ && (tracker_.change_user_in_flight() || !upstream_pending_.empty())) {
                relay_change_user_reply(chunk, out);
                return;
            }
            const bool was_idle = tracker_.idle();
            track_server(chunk);
            // Idle time starts when the last response ends, not when its command
            // began: a session that just finished a long query is not idle.
            if (!was_idle && tracker_.idle()) idle_since_ = now;
            out.forward = true;
            check_tracker(out);
            return;
        }
        case Phase::relaying:
            out.forward = true;
            return;
        case Phase::awaiting_greeting:
            upstream_pending_.insert(upstream_pending_.end(), chunk.begin(), chunk.end());
            relay_greeting(out);
            return;
        case Phase::authenticating:
            upstream_pending_.insert(upstream_pending_.end(), chunk.begin(), chunk.end());
            relay_auth_exchange(out);
            return;
        case Phase::finishing_upstream:
            drive_finish(chunk, out);
            return;
        case Phase::awaiting_login:
        case Phase::awaiting_admission:
            // The server speaking out of turn (an ERR before it gives up on us);
            // kept so the finish sees it, bounded.
            if (upstream_pending_.size() < max_greeting) upstream_pending_.insert(upstream_pending_.end(), chunk.begin(), chunk.end());
            return;
        case Phase::connecting:
        case Phase::closed:
            return;
    }
}

void Session::track_client(codec::Bytes chunk, Clock::time_point now) {
    if (compressed_) return compressed_->on_client_bytes(tracker_, chunk, now);
    tracker_.on_client_bytes(chunk, now);
}

void Session::track_server(codec::Bytes chunk) {
    if (compressed_) return compressed_->on_server_bytes(tracker_, chunk);
    tracker_.on_server_bytes(chunk);
}

void Session::append_com_quit(Actions& out) const {
    if (compressed_) return CompressedCommandFeed::append_com_quit(out.to_upstream);
    codec::append_com_quit(out.to_upstream);
}

void Session::check_tracker(Actions& out) {
    if (!tracker_.synced()) {
        enter(Phase::relaying);
        compressed_.reset();  // a blind relay decodes nothing
        out.raise(SessionEvent::desynced);
        out.note = std::string("lost protocol sync, relaying without tracking: ") + tracker_.desync_reason();
        return;
    }
    if (tracker_.change_user_pipelined()) {
        out.note = "COM_CHANGE_USER pipelined behind other commands: it cannot be admitted";
        end_both(CloseReason::rejected, out);
        return;
    }
    // Its OK already relayed (it came with the login's, before the held path):
    // still admitted, by closing the session if refused.
    if (tracker_.user_changed()) take_change_of_user(out);
}

void Session::relay_greeting(Actions& out) {
    auto packet = codec::decode_logical_packet(upstream_pending_, max_greeting);
    if (packet.need_more()) return;
    auto fail = [&](std::string note) {
        set_reason(CloseReason::upstream_closed);
        if (client_open_) codec::append_err(out.to_client, 0, er_tether_upstream, upstream_sql_state, "tether: " + note);
        out.note = std::move(note);
        end_both(CloseReason::upstream_closed, out);
    };
    if (packet.malformed()) return fail(std::string("malformed greeting from upstream: ") + std::string(packet.error));
    const auto& payload = packet.value.payload;
    if (!payload.empty() && std::to_integer<std::uint8_t>(payload[0]) == codec::err_header) {
        // Refused before the greeting (1040 too many connections, 1129 host
        // blocked): the client must see the server's own words.
        auto err = codec::decode_err(payload);
        out.to_client.insert(out.to_client.end(), upstream_pending_.begin(),
                             upstream_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
        out.raise(SessionEvent::upstream_refused);
        out.note = describe_refusal("upstream refused the connection", err);
        end_both(CloseReason::upstream_closed, out);
        return;
    }
    auto greeting = codec::decode_greeting(payload);
    if (!greeting.ok()) return fail(std::string("malformed greeting from upstream: ") + std::string(greeting.error));
    erase_front(upstream_pending_, packet.consumed);
    greeting_ = std::make_unique<codec::Greeting>(std::move(greeting.value));
    thread_id_ = greeting_->thread_id;
    server_version_ = greeting_->server_version;
    turn_.on_greeting();
    out.raise(SessionEvent::greeting);

    auto shown = client_greeting(*greeting_);
    codec::append_packet(out.to_client, packet.value.first_sequence_id, codec::encode_greeting(shown));
    enter(Phase::awaiting_login);
    if (!client_pending_.empty()) read_login(out);
}

void Session::fail_handshake(CloseReason reason, std::string note, Actions& out) {
    set_reason(reason);
    out.note = std::move(note);
    close_client_side(out);
    finish_upstream(out);
}

// An ERR the client can read (its sequence id follows what it sent), a counted
// reason, and the server side finished with the reserved login.
void Session::refuse_client(std::uint8_t sequence_id, std::string message, Actions& out) {
    codec::append_err(out.to_client, sequence_id, er_handshake_error, "08S01", "tether: " + message);
    out.drain_client = true;
    fail_handshake(CloseReason::handshake_failed, std::move(message), out);
}

void Session::read_login(Actions& out) {
    // Judged by its header, before the bytes arrive: a client still sending
    // must not wait for tether to buffer what it will refuse anyway.
    if (auto header = codec::decode_header(client_pending_); header.ok() && header.value.payload_length > max_login) {
        return refuse_client(static_cast<std::uint8_t>(header.value.sequence_id + 1),
                             "login packet too large: " + std::to_string(header.value.payload_length) +
                                 " bytes, tether accepts up to " + std::to_string(max_login) + " (256 KiB)",
                             out);
    }
    auto packet = codec::decode_logical_packet(client_pending_, max_login);
    if (packet.need_more()) return;
    auto refuse = [&](std::string message) {
        refuse_client(static_cast<std::uint8_t>((packet.ok() ? packet.value.last_sequence_id : 1) + 1), std::move(message), out);
    };
    if (packet.malformed()) return refuse(std::string("bad handshake: ") + std::string(packet.error));
    const auto& payload = packet.value.payload;
    if (codec::is_ssl_request(payload)) {
        return refuse("TLS is not supported by this tether yet; connect without TLS (ssl-mode DISABLED)");
    }
    auto login = codec::decode_login(payload);
    if (!login.ok()) return refuse(std::string("bad handshake: ") + std::string(login.error));
    if ((login.value.capabilities & codec::cap::ssl) != 0) return refuse("the client asked for TLS, which tether did not offer");
    // The greeting shows the server's own compression bits (tether decodes
    // both algorithms); mysqlnd asks for CLIENT_COMPRESS even when it is not shown.
    const codec::Capabilities compression = codec::cap::compress | codec::cap::zstd_compression;
    const codec::Capabilities wanted = login.value.capabilities & compression;
    if (wanted != 0 && (wanted & greeting_->capabilities) == 0) {
        return refuse("the client asked for compression, which the server did not offer");
    }
    login_sequence_id_ = packet.value.last_sequence_id;
    login_packet_.assign(client_pending_.begin(), client_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
    erase_front(client_pending_, packet.consumed);
    const codec::Capabilities agreed = login.value.capabilities & greeting_->capabilities;
    tracker_ = CommandTracker(agreed);
    login_ = std::move(login.value);
    enter(Phase::awaiting_admission);
    out.raise(SessionEvent::login_received);
}

void Session::admit(const Admission& admission, Actions& out) {
    if (phase_ != Phase::awaiting_admission) return;
    if (!admission.allowed) {
        const auto seq = static_cast<std::uint8_t>(login_sequence_id_ + 1);
        codec::append_err(out.to_client, seq, admission.error_code, admission.sql_state, admission.message);
        out.drain_client = true;
        out.note = admission.message;
        set_reason(CloseReason::rejected);
        close_client_side(out);
        finish_upstream(out);
        return;
    }
    out.to_upstream.insert(out.to_upstream.end(), login_packet_.begin(), login_packet_.end());
    release(login_packet_);
    turn_.on_login_sent(login_sequence_id_);
    enter(Phase::authenticating);
    if (!client_pending_.empty()) {
        out.to_upstream.insert(out.to_upstream.end(), client_pending_.begin(), client_pending_.end());
        turn_.on_client_bytes(client_pending_);
        remember_early_client_bytes(client_pending_);
        release(client_pending_);
    }
}

// What the client sends after its login and before the server's OK: answers in
// the auth exchange, and possibly commands pipelined behind the login. The
// tracker sees the commands once the login completes.
void Session::remember_early_client_bytes(codec::Bytes chunk) {
    if (early_client_overflow_) return;
    if (early_client_bytes_.size() + chunk.size() > max_auth_packet) {
        // Too much to follow: the tracker gives up at the OK. Keeping what came
        // so far would pin up to 1 MiB for the session's life.
        early_client_overflow_ = true;
        release(early_client_bytes_);
        return;
    }
    early_client_bytes_.insert(early_client_bytes_.end(), chunk.begin(), chunk.end());
}

void Session::replay_early_client_bytes() {
    if (early_client_overflow_) {
        release(early_client_bytes_);
        tracker_.abandon("too much client data during authentication to follow");
        return;
    }
    // Skip the auth-exchange answers (sequence ids above 0); a command starts at 0.
    codec::Bytes rest(early_client_bytes_);
    while (!rest.empty()) {
        auto packet = codec::decode_packet(rest);
        if (!packet.ok() || packet.value.header.sequence_id == 0) break;
        rest = rest.subspan(packet.consumed);
    }
    if (!rest.empty()) track_client(rest, now_);
    release(early_client_bytes_);
}

void Session::relay_auth_exchange(Actions& out) {
    for (;;) {
        auto packet = codec::decode_logical_packet(upstream_pending_, max_auth_packet);
        if (packet.need_more()) return;
        if (packet.malformed()) {
            out.note = std::string("malformed packet from upstream during authentication: ") + std::string(packet.error);
            end_both(CloseReason::handshake_failed, out);
            return;
        }
        out.to_client.insert(out.to_client.end(), upstream_pending_.begin(),
                             upstream_pending_.begin() + static_cast<std::ptrdiff_t>(packet.consumed));
        erase_front(upstream_pending_, packet.consumed);
        turn_.on_server_packet(packet.value);
        const auto& payload = packet.value.payload;
        const std::uint8_t first = payload.empty() ? 0xFF : std::to_integer<std::uint8_t>(payload[0]);
        if (first == codec::ok_header) {
            authenticated_ = true;
            auto ok = codec::decode_ok(payload, greeting_->capabilities & login_->capabilities);
            if (ok.ok()) tracker_.set_in_transaction((ok.value.status_flags & codec::status::in_trans) != 0);
            tracker_.set_last_command_at(now_);
            idle_since_ = now_;
            // Only the login's identity is kept for the session's life: not the
            // greeting, not the auth response.
            greeting_.reset();
            release(login_->auth_response);
            enter(Phase::command);
            // Everything after this OK travels in compressed frames.
            if (auto algorithm = agreed_compression(tracker_.capabilities())) {
                compressed_ = std::make_unique<CompressedCommandFeed>(*algorithm);
            }
            out.raise(SessionEvent::authenticated);
            // Idle sessions hold no buffers.
            std::vector<std::byte> rest;
            rest.swap(upstream_pending_);
            release(client_pending_);
            replay_early_client_bytes();
            if (!rest.empty()) {
                track_server(rest);
                out.to_client.insert(out.to_client.end(), rest.begin(), rest.end());
            }
            idle_since_ = now_;
            check_tracker(out);
            return;
        }
        if (first == codec::err_header) {
            auto err = codec::decode_err(payload);
            out.raise(SessionEvent::auth_failed);
            out.note = describe_refusal("upstream refused the login", err);
            end_both(CloseReason::auth_failed, out);
            return;
        }
        // AuthSwitchRequest, AuthMoreData, a next factor: the client answers.
    }
}

void Session::finish_upstream(Actions& out) {
    if (!upstream_open_ && !upstream_connecting_) {
        enter(Phase::closed);
        return;
    }
    enter(Phase::finishing_upstream);
    release(client_pending_);
    release(login_packet_);
    release(early_client_bytes_);
    finisher_ = std::make_unique<HandshakeFinisher>(config_.reserved_user, turn_, std::move(greeting_),
                                                    std::move(upstream_pending_), now_ + config_.handshake_timeout);
    release(upstream_pending_);
    drive_finish({}, out);
}

void Session::drive_finish(codec::Bytes server_bytes, Actions& out) {
    if (!upstream_open_) return;  // still connecting; on_upstream_connected comes back here
    const auto step = finisher_->advance(server_bytes, out.to_upstream);
    if (step.refused) {
        // Still worth saying why: a readiness probe reports it.
        out.raise(SessionEvent::upstream_refused);
        out.note = "upstream refused the connection" + (step.refusal.empty() ? std::string() : ": " + step.refusal);
    } else if (step.bad_greeting) {
        out.note = "malformed greeting from upstream";
    }
    if (step.greeted) {
        thread_id_ = finisher_->greeting()->thread_id;
        server_version_ = finisher_->greeting()->server_version;
        out.raise(SessionEvent::greeting);
    }
    if (step.problem != nullptr) out.note = std::string("could not finish the server handshake: ") + step.problem;
    if (step.done) {
        finisher_.reset();
        end_after_client(out);
    }
}

void Session::on_client_closed(Actions& out) {
    client_open_ = false;
    switch (phase_) {
        case Phase::command:
            set_reason(tracker_.quit_sent() ? CloseReason::client_quit : CloseReason::client_closed);
            if (upstream_open_ && !tracker_.quit_sent() && at_rest()) append_com_quit(out);
            end_after_client(out);
            return;
        case Phase::relaying:
            set_reason(CloseReason::client_closed);
            end_after_client(out);
            return;
        case Phase::connecting:
        case Phase::awaiting_greeting:
        case Phase::awaiting_login:
        case Phase::awaiting_admission:
        case Phase::authenticating:
            set_reason(CloseReason::handshake_failed);
            out.note = std::string("client went away during the handshake (") + std::string(phase_name(phase_)) + ")";
            finish_upstream(out);
            return;
        case Phase::finishing_upstream:
        case Phase::closed:
            return;
    }
}

void Session::on_upstream_closed(Actions& out) {
    upstream_open_ = false;
    upstream_connecting_ = false;
    switch (phase_) {
        case Phase::command:
        case Phase::relaying:
            set_reason(tracker_.quit_sent() ? CloseReason::client_quit : CloseReason::upstream_closed);
            break;
        case Phase::awaiting_greeting:
            set_reason(CloseReason::upstream_closed);
            if (client_open_) {
                codec::append_err(out.to_client, 0, er_tether_upstream, upstream_sql_state,
                                  "tether: upstream " + config_.upstream_name + " closed the connection before its greeting");
            }
            break;
        case Phase::finishing_upstream:
            if (finisher_ && finisher_->greeting() == nullptr) {
                out.note = "upstream " + config_.upstream_name + " closed the connection before its greeting";
            }
            finisher_.reset();
            enter(Phase::closed);
            return;
        case Phase::closed:
            finisher_.reset();
            enter(Phase::closed);
            return;
        default:
            set_reason(CloseReason::upstream_closed);
            break;
    }
    close_client_side(out);
    enter(Phase::closed);
}

void Session::close(CloseReason reason, Actions& out) {
    switch (phase_) {
        case Phase::command:
            set_reason(reason);
            if (upstream_open_ && at_rest() && !tracker_.quit_sent()) append_com_quit(out);
            end_both(reason, out);
            return;
        case Phase::relaying:
            end_both(reason, out);
            return;
        case Phase::finishing_upstream:
        case Phase::closed:
            return;
        default:
            set_reason(reason);
            close_client_side(out);
            finish_upstream(out);
            return;
    }
}

void Session::on_tick(Clock::time_point now, Actions& out) {
    now_ = now;
    const auto age = now - started_at_;
    switch (phase_) {
        case Phase::connecting:
            if (now - connect_started_ > config_.connect_timeout) {
                close_upstream_side(out);  // cancels the pending connect
                on_upstream_connect_failed("timed out after " + seconds_text(config_.connect_timeout), out);
            }
            return;
        case Phase::awaiting_greeting:
            if (age > config_.handshake_timeout) {
                set_reason(CloseReason::upstream_unreachable);
                std::string note = "upstream " + config_.upstream_name + " sent no greeting within " +
                                   seconds_text(config_.handshake_timeout);
                if (client_open_) codec::append_err(out.to_client, 0, er_tether_upstream, upstream_sql_state, "tether: " + note);
                out.note = std::move(note);
                end_both(CloseReason::upstream_unreachable, out);
            }
            return;
        case Phase::awaiting_login:
        case Phase::awaiting_admission:
        case Phase::authenticating:
            if (age > config_.handshake_timeout) {
                fail_handshake(CloseReason::client_timeout,
                               "handshake not completed within " + seconds_text(config_.handshake_timeout), out);
            }
            return;
        case Phase::finishing_upstream:
            if (finisher_->expired(now)) {
                if (finisher_->greeting() == nullptr) {
                    out.note = "upstream " + config_.upstream_name + " sent no greeting within " +
                               seconds_text(config_.handshake_timeout);
                } else {
                    out.note = "the server did not end the abandoned handshake within " + seconds_text(config_.handshake_timeout);
                }
                finisher_.reset();
                close_upstream_side(out);
                enter(Phase::closed);
            }
            return;
        case Phase::command:
        case Phase::relaying:
        case Phase::closed:
            return;
    }
}

}  // namespace tether::session
