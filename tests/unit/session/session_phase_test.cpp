// The table Session::enter checks: the paths the session takes are in it, and what no path takes is refused.
#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "tether/session/phase.hpp"

namespace tether::session::test {

namespace {

// Every transition some session test drives (the Driver fails a test whose
// session had one refused, so a transition missing here and in the table
// shows up as a failing test, release build included).
const std::vector<std::pair<Phase, Phase>> driven = {
    {Phase::connecting, Phase::awaiting_greeting},          // connected
    {Phase::connecting, Phase::finishing_upstream},         // client gone while connecting
    {Phase::connecting, Phase::closed},                     // connect failed; refused at accept
    {Phase::awaiting_greeting, Phase::awaiting_login},      // greeting relayed
    {Phase::awaiting_greeting, Phase::finishing_upstream},  // client gone before the greeting
    {Phase::awaiting_greeting, Phase::closed},              // ERR or garbage instead of a greeting
    {Phase::awaiting_login, Phase::awaiting_admission},     // login decoded
    {Phase::awaiting_login, Phase::finishing_upstream},     // bad login, TLS, timeout
    {Phase::awaiting_login, Phase::closed},                 // the server closed while the login was read
    {Phase::awaiting_admission, Phase::authenticating},     // admitted
    {Phase::awaiting_admission, Phase::finishing_upstream}, // refused by the caps
    {Phase::awaiting_admission, Phase::closed},             // the server closed while the owner decided
    {Phase::authenticating, Phase::command},                // the server's OK
    {Phase::authenticating, Phase::finishing_upstream},     // client gone mid-authentication
    {Phase::authenticating, Phase::closed},                 // the server's ERR
    {Phase::command, Phase::relaying},                      // lost sync
    {Phase::command, Phase::closed},                        // either side ends
    {Phase::relaying, Phase::closed},
    {Phase::finishing_upstream, Phase::closed},             // the finish is over
    {Phase::closed, Phase::closed},                         // two close paths meet
};

constexpr Phase all_phases[] = {Phase::connecting,     Phase::awaiting_greeting, Phase::awaiting_login,
                                Phase::awaiting_admission, Phase::authenticating, Phase::command,
                                Phase::relaying,       Phase::finishing_upstream, Phase::closed};

}  // namespace

TEST_CASE("phase table: every transition the session takes is allowed") {
    for (const auto& step : driven) {
        const auto from = step.first;
        const auto to = step.second;
        CAPTURE(phase_name(from));
        CAPTURE(phase_name(to));
        CHECK(transition_allowed(from, to));
    }
}

TEST_CASE("phase table: nothing else is allowed") {
    for (Phase from : all_phases) {
        for (Phase to : all_phases) {
            bool listed = false;
            for (auto [f, t] : driven) listed = listed || (f == from && t == to);
            CAPTURE(phase_name(from));
            CAPTURE(phase_name(to));
            CHECK(transition_allowed(from, to) == listed);
        }
    }
}

TEST_CASE("phase table: forbidden transitions are refused") {
    CHECK_FALSE(transition_allowed(Phase::closed, Phase::command));             // nothing leaves closed
    CHECK_FALSE(transition_allowed(Phase::closed, Phase::finishing_upstream));
    CHECK_FALSE(transition_allowed(Phase::command, Phase::awaiting_login));     // no way back into the handshake
    CHECK_FALSE(transition_allowed(Phase::command, Phase::finishing_upstream)); // a logged-in session is not finished
    CHECK_FALSE(transition_allowed(Phase::relaying, Phase::command));           // a lost sync is not regained
    CHECK_FALSE(transition_allowed(Phase::finishing_upstream, Phase::command));
    CHECK_FALSE(transition_allowed(Phase::connecting, Phase::command));         // no phase is skipped
    CHECK_FALSE(transition_allowed(Phase::awaiting_login, Phase::authenticating));
    CHECK_FALSE(transition_allowed(Phase::command, Phase::command));
    CHECK_FALSE(transition_allowed(static_cast<Phase>(42), Phase::closed));     // out of range
}

}  // namespace tether::session::test
