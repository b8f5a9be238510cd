// The command phase: the tracker's feed (straight or through the compressed protocol) and what its state means for the session.
#include "tether/codec/command.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

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

// After the tracker saw bytes: nothing to do on the fast path; otherwise a
// lost sync, or a change of user to admit.
void Session::check_tracker(Actions& out) {
    if (!tracker_.synced()) {
        enter(Phase::relaying);
        compressed_.reset();  // a blind relay decodes nothing
        out.raise(Desynced{tracker_.desync_category(), tracker_.desync_reason()});
        return;
    }
    if (tracker_.change_user_pipelined()) {
        out.raise(ClientRefused{"COM_CHANGE_USER pipelined behind other commands: it cannot be admitted"});
        end_both(CloseReason::rejected, out);
        return;
    }
    // Its OK already relayed (it came with the login's, before the held path):
    // still admitted, by closing the session if refused.
    if (tracker_.user_changed()) take_change_of_user(out);
}

}  // namespace tether::session
