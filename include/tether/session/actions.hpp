// What the I/O layer must do after feeding a Session an event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/session/close_reason.hpp"

namespace tether::session {

// Events the owner reacts to (attribution, metrics, logs). Bit flags: one call
// may raise several.
enum class SessionEvent : std::uint16_t {
    none = 0,
    greeting = 1 << 0,         // the server's greeting arrived: upstream reachable, thread id known
    login_received = 1 << 1,   // the client's login is decoded: call Session::admit
    authenticated = 1 << 2,    // the server accepted the login: the session is open
    auth_failed = 1 << 3,      // the server refused the login
    reattributed = 1 << 4,     // COM_CHANGE_USER succeeded: user/database/attributes changed
    desynced = 1 << 5,         // the command tracker lost sync: plain relay from now on
    upstream_refused = 1 << 6, // the server sent an ERR instead of its greeting (e.g. 1040, 1129)
    // The server accepted a COM_CHANGE_USER (raised with reattributed): call
    // Session::admit_change_user. Its OK is held from the client until then,
    // so a change of user is admitted like a login.
    change_user_accepted = 1 << 7,
};

constexpr SessionEvent operator|(SessionEvent a, SessionEvent b) {
    return static_cast<SessionEvent>(static_cast<std::uint16_t>(a) | static_cast<std::uint16_t>(b));
}
constexpr bool has(SessionEvent set, SessionEvent e) {
    return (static_cast<std::uint16_t>(set) & static_cast<std::uint16_t>(e)) != 0;
}

// Filled by every Session entry point. The owner reuses one Actions object
// (clear() keeps the vectors' capacity), so the steady state allocates nothing.
struct Actions {
    // Forward the input chunk unchanged to the other side (the command-phase
    // fast path: no copy, no parse beyond packet headers).
    bool forward = false;
    // Bytes the session wrote itself; sent after the forwarded chunk, if any.
    std::vector<std::byte> to_client;
    std::vector<std::byte> to_upstream;
    bool connect_upstream = false;
    // Close that side once what is queued for it has been written.
    bool close_client = false;
    bool close_upstream = false;
    // With close_client: half-close the client after what is queued for it and
    // read and drop what it still sends (bounded) before closing. Closing a
    // socket with unread bytes makes the kernel answer with a reset, and a
    // client still sending (a huge login) then loses the ERR tether wrote.
    bool drain_client = false;
    SessionEvent events = SessionEvent::none;
    // A line worth logging about this step (protocol errors, refusals); empty if none.
    std::string note;

    void raise(SessionEvent e) { events = events | e; }
    void clear() {
        forward = false;
        to_client.clear();
        to_upstream.clear();
        connect_upstream = false;
        close_client = false;
        close_upstream = false;
        drain_client = false;
        events = SessionEvent::none;
        note.clear();
    }
};

}  // namespace tether::session
