// The phases of a client connection and the transitions allowed between them.
#pragma once

#include <cstdint>
#include <string_view>

namespace tether::session {

enum class Phase : std::uint8_t {
    connecting,          // waiting for the upstream connection
    awaiting_greeting,   // connected; waiting for the server's greeting
    awaiting_login,      // greeting relayed; waiting for the client's login
    awaiting_admission,  // login decoded; the owner decides (caps) through admit()
    securing_upstream,   // admitted; tether's SSLRequest sent, the server leg's TLS handshake under way
    authenticating,      // login forwarded; relaying the auth exchange to the server's OK or ERR
    command,             // logged in; every command followed to the end of its response
    relaying,            // the tracker lost sync: bytes pass through, no idle decisions
    finishing_upstream,  // the client is gone before its login completed: tether completes a refused login itself
    closed,
};

inline constexpr std::size_t phase_count = static_cast<std::size_t>(Phase::closed) + 1;

std::string_view phase_name(Phase phase);

// The table Session::enter checks (session_phase.cpp): the handshake moves
// forward one phase at a time or ends (finished by tether, or closed); the
// command phase may fall back to relaying; every path ends in closed, which
// the close paths may enter again when they meet. Nothing leaves closed.
[[nodiscard]] bool transition_allowed(Phase from, Phase to);

// A transition Session::enter refused (a bug: asserted in debug builds).
struct PhaseTransition {
    Phase from;
    Phase to;
};

}  // namespace tether::session
