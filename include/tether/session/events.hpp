// What a Session tells its owner happened in one step: one small type per fact, each with its own detail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tether/session/desync_reason.hpp"

namespace tether::session {

// The server's own words from an ERR packet, copied out of it (the packet is
// gone by the time the owner logs them).
struct ServerError {
    std::uint16_t code = 0;
    std::string message;
};

// The server's greeting arrived: the upstream is reachable and
// Session::upstream_thread_id() is known.
struct GreetingReceived {};

// The server sent an ERR instead of its greeting (1040 too many connections,
// 1129 host blocked). `error` is empty when the ERR did not decode.
struct UpstreamRefused {
    std::optional<ServerError> error;
    [[nodiscard]] std::string detail() const;
};

// A client waiting for its server got none: the connection failed or the
// greeting did not come in time, and the client got tether's ERR. (When the
// client had already gone, the same failure is an UpstreamProblem of the finish.)
struct UpstreamUnreachable {
    std::string why;
    [[nodiscard]] std::string detail() const { return why; }
};

// The client's login is decoded (Session::login()): answer with Session::admit.
struct LoginReceived {};

// The server accepted a COM_CHANGE_USER: Session::login() is the new identity
// (the session is re-attributed). Its OK is held from the client until
// Session::admit_change_user, so a change of user is admitted like a login.
struct ChangeUserAccepted {};

// The server accepted the login: the session is open.
struct Authenticated {};

// The server refused the login. `error` is empty when its ERR did not decode.
struct AuthFailed {
    std::optional<ServerError> error;
    [[nodiscard]] std::string detail() const;
};

// The command tracker lost sync: plain relay from now on, no idle decisions.
struct Desynced {
    DesyncReason category;
    std::string reason;  // the tracker's words
    [[nodiscard]] std::string detail() const;
};

// tether refused the client with an ERR of its own: a cap, a login it cannot
// relay (TLS, too large, malformed), a change of user it cannot admit.
struct ClientRefused {
    std::string why;
    [[nodiscard]] std::string detail() const { return why; }
};

// The client's handshake ended without a login: it went away or timed out.
struct HandshakeAbandoned {
    std::string why;
    [[nodiscard]] std::string detail() const { return why; }
};

// The server side did something tether cannot follow, or the finish of an
// abandoned handshake could not complete as it should.
struct UpstreamProblem {
    std::string what;
    [[nodiscard]] std::string detail() const { return what; }
};

using SessionEvent = std::variant<GreetingReceived, UpstreamRefused, UpstreamUnreachable, LoginReceived,
                                  ChangeUserAccepted, Authenticated, AuthFailed, Desynced, ClientRefused,
                                  HandshakeAbandoned, UpstreamProblem>;

// "upstream_refused", "auth_failed", ...: for tests and fuzzers.
std::string_view event_name(const SessionEvent& event);
// The event's detail as one log line; empty for the events that carry none.
std::string event_detail(const SessionEvent& event);
// The detail of an event that is news about the upstream (refused,
// unreachable, a problem), else empty: what a readiness probe reports.
std::string upstream_detail(const SessionEvent& event);

}  // namespace tether::session
