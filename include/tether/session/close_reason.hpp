// Why a session ended: one reason per session, counted once.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tether::session {

enum class CloseReason : std::uint8_t {
    client_quit,           // the client sent COM_QUIT
    client_closed,         // the client's socket ended (FIN, RST, error) without COM_QUIT
    client_timeout,        // the client did not finish its login within the handshake timeout
    upstream_closed,       // the server ended the connection (KILL, wait_timeout, crash)
    upstream_unreachable,  // the server could not be connected to
    idle_timeout,          // closed by an idle policy
    admin,                 // closed through the admin API
    shutdown,              // tether is shutting down
    handshake_failed,      // malformed login, TLS request, or client gone before its login completed
    auth_failed,           // the server refused the login
    rejected,              // refused by a connection cap
};

inline constexpr std::array<CloseReason, 11> all_close_reasons = {
    CloseReason::client_quit,    CloseReason::client_closed,        CloseReason::client_timeout,
    CloseReason::upstream_closed, CloseReason::upstream_unreachable, CloseReason::idle_timeout,
    CloseReason::admin,          CloseReason::shutdown,             CloseReason::handshake_failed,
    CloseReason::auth_failed,    CloseReason::rejected,
};

constexpr std::string_view close_reason_name(CloseReason reason) {
    switch (reason) {
        case CloseReason::client_quit: return "client_quit";
        case CloseReason::client_closed: return "client_closed";
        case CloseReason::client_timeout: return "client_timeout";
        case CloseReason::upstream_closed: return "upstream_closed";
        case CloseReason::upstream_unreachable: return "upstream_unreachable";
        case CloseReason::idle_timeout: return "idle_timeout";
        case CloseReason::admin: return "admin";
        case CloseReason::shutdown: return "shutdown";
        case CloseReason::handshake_failed: return "handshake_failed";
        case CloseReason::auth_failed: return "auth_failed";
        case CloseReason::rejected: return "rejected";
    }
    return "unknown";
}

}  // namespace tether::session
