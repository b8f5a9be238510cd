// The per-connection protocol state machine's entry points, each dispatching on the phase (see session.hpp).
#include "tether/session/session.hpp"

#include "handshake_common.hpp"
#include "tether/session/handshake_finisher.hpp"

namespace tether::session {

Session::Session(const SessionConfig& config, Clock::time_point now)
    : config_(config), started_at_(now), now_(now), connect_started_(now) {}

Session::~Session() = default;

std::size_t Session::buffered_bytes() const {
    return client_pending_.capacity() + upstream_pending_.capacity() + early_client_bytes_.capacity() +
           login_packet_.capacity() + (finisher_ ? finisher_->buffered_bytes() : 0);
}

Clock::time_point Session::last_activity() const { return authenticated_ ? idle_since_ : started_at_; }

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
    out.raise(ClientRefused{refusal.message});
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

void Session::on_upstream_connect_failed(std::string_view why, Actions& out) { upstream_connect_failed(why, out); }

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
            // COM_QUIT with nothing in flight: the server answers nothing and
            // closes. Both sides end now, once the QUIT is written, as the
            // client library itself does after sending it, instead of waiting
            // for the client's own close.
            if (phase_ == Phase::command && tracker_.quit_sent() && at_rest()) end_both(CloseReason::client_quit, out);
            return;
        case Phase::relaying:
            idle_since_ = now;
            out.forward = true;
            return;
        case Phase::authenticating:
            if (to_server_shift_.active()) return forward_client_bytes(chunk, out);
            out.forward = true;
            turn_.on_client_bytes(chunk);
            early_client_bytes_.remember(chunk);
            return;
        case Phase::connecting:
        case Phase::awaiting_greeting:
        case Phase::awaiting_admission:
        case Phase::securing_upstream:
            buffer_before_login(chunk, out);
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
        case Phase::securing_upstream:
            // The server speaking out of turn (an ERR before it gives up on us);
            // kept so the finish sees it, bounded.
            if (upstream_pending_.size() < detail::max_greeting) {
                upstream_pending_.insert(upstream_pending_.end(), chunk.begin(), chunk.end());
            }
            return;
        case Phase::connecting:
        case Phase::closed:
            return;
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
        case Phase::securing_upstream:
        case Phase::authenticating:
            set_reason(CloseReason::handshake_failed);
            out.raise(HandshakeAbandoned{"client went away during the handshake (" + std::string(phase_name(phase_)) + ")"});
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
            refuse_before_greeting("upstream " + config_.upstream_name + " closed the connection before its greeting", out);
            break;
        case Phase::finishing_upstream:
            finish_lost_upstream(out);
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
                upstream_connect_failed("timed out after " + detail::duration_text(config_.connect_timeout), out);
            }
            return;
        case Phase::awaiting_greeting:
            if (age > config_.handshake_timeout) greeting_timed_out(out);
            return;
        case Phase::awaiting_login:
        case Phase::awaiting_admission:
        case Phase::securing_upstream:
        case Phase::authenticating:
            if (age > config_.handshake_timeout) {
                out.raise(HandshakeAbandoned{"handshake not completed within " + detail::duration_text(config_.handshake_timeout)});
                fail_handshake(CloseReason::client_timeout, out);
            }
            return;
        case Phase::finishing_upstream:
            if (finisher_->expired(now)) finish_timed_out(out);
            return;
        case Phase::command:
        case Phase::relaying:
        case Phase::closed:
            return;
    }
}

}  // namespace tether::session
