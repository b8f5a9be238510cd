// COM_CHANGE_USER admitted like a login: the server's reply to it is relayed
// packet by packet and its OK held until the owner has decided the new
// identity against the caps (see Session::admit_change_user).
#include "handshake_common.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

namespace {

// A real change-user exchange is a few small packets (an AuthSwitchRequest,
// an RSA public key at most); more than this from the server is not one.
constexpr std::size_t max_change_user_packet = 1024 * 1024;
using detail::erase_front;

}  // namespace

// Command phase, while a COM_CHANGE_USER is in flight: each complete packet
// goes to the tracker, then to the client, except the OK that accepts the
// change, which waits for admit_change_user().
void Session::relay_change_user_reply(codec::Bytes chunk, Actions& out) {
    upstream_pending_.insert(upstream_pending_.end(), chunk.begin(), chunk.end());
    if (held_change_user_ok_ != 0) {
        // The owner answers at once (io admits in the same call); an owner
        // that waits must not make the session buffer without bound.
        if (upstream_pending_.size() > 2 * max_change_user_packet) {
            std::vector<std::byte>().swap(upstream_pending_);
            held_change_user_ok_ = 0;
            change_user_admission_due_ = false;
            out.raise(UpstreamProblem{"server sent too much while a COM_CHANGE_USER waited for admission"});
            end_both(CloseReason::upstream_closed, out);
        }
        return;
    }
    while (tracker_.synced() && tracker_.change_user_in_flight()) {
        auto packet = codec::decode_packet(upstream_pending_);
        if (packet.need_more()) {
            if (upstream_pending_.size() <= max_change_user_packet) return;
            tracker_.abandon("oversized server packet during COM_CHANGE_USER");
            break;
        }
        const codec::Bytes bytes(upstream_pending_.data(), packet.consumed);
        tracker_.on_server_bytes(bytes);
        if (tracker_.user_changed()) {
            held_change_user_ok_ = packet.consumed;
            take_change_of_user(out);
            return;
        }
        out.to_client.insert(out.to_client.end(), bytes.begin(), bytes.end());
        erase_front(upstream_pending_, packet.consumed);
    }
    // The change is over (the server refused it, or tracking stopped): the
    // rest goes through as usual, and the session holds no buffer.
    std::vector<std::byte> rest;
    rest.swap(upstream_pending_);
    if (!rest.empty()) {
        if (tracker_.synced()) tracker_.on_server_bytes(rest);
        out.to_client.insert(out.to_client.end(), rest.begin(), rest.end());
    }
    check_tracker(out);
}

// The server accepted the change: the session takes the new identity and
// asks the owner to admit it.
void Session::take_change_of_user(Actions& out) {
    auto changed = tracker_.take_changed_user();
    if (!changed) {
        // Over the capture limit or undecodable: the session would run under
        // an identity tether cannot name or cap.
        set_reason(CloseReason::handshake_failed);
        change_user_admission_due_ = true;
        admit_change_user(Admission::refuse(detail::er_handshake_error, std::string(detail::handshake_sql_state),
                                            "tether: COM_CHANGE_USER packet could not be read; the session is closed"),
                          out);
        return;
    }
    // Drivers often send no connection attributes with COM_CHANGE_USER
    // (mysql2 does not): the app is still the one that logged in.
    if (changed->attributes.empty() && login_) changed->attributes = std::move(login_->attributes);
    login_ = std::move(*changed);
    change_user_admission_due_ = true;
    out.raise(ChangeUserAccepted{});
}

void Session::admit_change_user(const Admission& admission, Actions& out) {
    if (!change_user_admission_due_) return;
    change_user_admission_due_ = false;
    const std::size_t held = held_change_user_ok_;
    held_change_user_ok_ = 0;
    if (admission.allowed) {
        if (held > 0) {
            out.to_client.insert(out.to_client.end(), upstream_pending_.begin(),
                                 upstream_pending_.begin() + static_cast<std::ptrdiff_t>(held));
            erase_front(upstream_pending_, held);
        }
        relay_change_user_reply({}, out);  // whatever came after the OK
        return;
    }
    if (held > 0) {
        // In place of the OK: same sequence id, so the client reads it as the answer.
        const auto seq = codec::decode_header(upstream_pending_).value.sequence_id;
        codec::append_err(out.to_client, seq, admission.error_code, admission.sql_state, admission.message);
    }
    std::vector<std::byte>().swap(upstream_pending_);
    out.raise(ClientRefused{admission.message});
    // COM_QUIT first when nothing else is in flight: the server counts a clean quit.
    close(CloseReason::rejected, out);
}

}  // namespace tether::session
