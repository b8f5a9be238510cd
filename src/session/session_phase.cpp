// The one function that changes a Session's phase, and the table of transitions it allows.
#include <array>
#include <cassert>

#include "tether/session/session.hpp"

namespace tether::session {

namespace {

using Row = std::array<bool, phase_count>;

constexpr Row row(std::initializer_list<Phase> to) {
    Row r{};
    for (Phase p : to) r[static_cast<std::size_t>(p)] = true;
    return r;
}

// allowed[from][to]. Every handshake phase may also end in finishing_upstream
// (the client left or was refused: tether completes the server's login) or,
// when no server connection is open or coming, directly in closed.
constexpr std::array<Row, phase_count> allowed = {
    /* connecting */ row({Phase::awaiting_greeting, Phase::finishing_upstream, Phase::closed}),
    /* awaiting_greeting */ row({Phase::awaiting_login, Phase::finishing_upstream, Phase::closed}),
    /* awaiting_login */ row({Phase::awaiting_admission, Phase::finishing_upstream, Phase::closed}),
    /* awaiting_admission */ row({Phase::securing_upstream, Phase::authenticating, Phase::finishing_upstream, Phase::closed}),
    /* securing_upstream */ row({Phase::authenticating, Phase::finishing_upstream, Phase::closed}),
    /* authenticating */ row({Phase::command, Phase::finishing_upstream, Phase::closed}),
    /* command */ row({Phase::relaying, Phase::closed}),
    /* relaying */ row({Phase::closed}),
    /* finishing_upstream */ row({Phase::closed}),
    /* closed */ row({Phase::closed}),
};

}  // namespace

std::string_view phase_name(Phase phase) {
    switch (phase) {
        case Phase::connecting: return "connecting";
        case Phase::awaiting_greeting: return "awaiting_greeting";
        case Phase::awaiting_login: return "awaiting_login";
        case Phase::awaiting_admission: return "awaiting_admission";
        case Phase::securing_upstream: return "securing_upstream";
        case Phase::authenticating: return "authenticating";
        case Phase::command: return "command";
        case Phase::relaying: return "relaying";
        case Phase::finishing_upstream: return "finishing_upstream";
        case Phase::closed: return "closed";
    }
    return "unknown";
}

bool transition_allowed(Phase from, Phase to) {
    const auto f = static_cast<std::size_t>(from);
    const auto t = static_cast<std::size_t>(to);
    return f < phase_count && t < phase_count && allowed[f][t];
}

// A transition outside the table is a bug in the session: asserted, and in a
// release build refused (the phase stays) and kept for tests and fuzzers to see.
void Session::enter(Phase next) {
    if (!transition_allowed(phase_, next)) {
        assert(false && "Session::enter: transition not in the table");
        if (!refused_transition_) refused_transition_ = PhaseTransition{phase_, next};
        return;
    }
    phase_ = next;
}

}  // namespace tether::session
