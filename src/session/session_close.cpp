// How a session's sides end: one reason (the first one set), each socket closed once, the phase closed.
#include "tether/session/session.hpp"

namespace tether::session {

void Session::set_reason(CloseReason reason) {
    if (!reason_) reason_ = reason;
}

void Session::close_client_side(Actions& out) {
    if (!client_open_) return;
    client_open_ = false;
    out.close_client = true;
}

void Session::close_upstream_side(Actions& out) {
    if (!upstream_open_ && !upstream_connecting_) return;
    // tether closes the server socket under a command the server is still
    // running (or, in a desynced session, may be): closing a socket does not
    // stop a query, so the owner may KILL that thread.
    if (authenticated_ && (phase_ == Phase::relaying || (phase_ == Phase::command && !at_rest() && !tracker_.quit_sent()))) {
        left_command_running_ = true;
    }
    upstream_open_ = false;
    upstream_connecting_ = false;
    out.close_upstream = true;
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

}  // namespace tether::session
