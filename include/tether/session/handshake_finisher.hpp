// Finishing a server handshake whose client is gone, so the server sees a complete, refused login.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tether/codec/handshake.hpp"
#include "tether/session/command_tracker.hpp"  // Clock
#include "tether/session/events.hpp"            // ServerError
#include "tether/session/handshake_turn.hpp"

namespace tether::session {

// A server connection dropped before its login completed counts toward the
// server's max_connect_errors; enough of them and it refuses tether's address,
// every app behind it, with 1129. So when a client leaves mid-handshake (or
// tether refuses it) tether plays the client's part to the end: it answers
// what the server waits for (the reserved login, the rest of a half-sent
// packet, a wrong answer to an auth request), reads the server's last word
// (ERR: close; OK: COM_QUIT, then close) and only then closes.
class HandshakeFinisher {
public:
    // `turn` is the state of the exchange when the client left; `greeting` the
    // server's, when it had arrived (else it is read here); `server_bytes` what
    // the server sent that nobody has read yet.
    HandshakeFinisher(const std::string& reserved_user, HandshakeTurn turn, std::unique_ptr<codec::Greeting> greeting,
                      std::vector<std::byte> server_bytes, Clock::time_point deadline,
                      std::optional<codec::Capabilities> ssl_request_capabilities = std::nullopt,
                      bool secure_login = false);

    struct Step {
        bool done = false;        // close the server side now (after what was appended)
        bool greeted = false;     // the greeting arrived in this step: see greeting()
        const char* problem = nullptr;  // why the finish could not complete, when it could not
        // No greeting came but an ERR (1040, 1129: the server's words, for
        // /readyz; empty when the ERR does not decode) or bytes that are not
        // a greeting.
        bool refused = false;
        std::optional<ServerError> refusal;
        bool bad_greeting = false;
        // tether's SSLRequest was appended: TLS must start on the server leg,
        // and advance() is called again once it is up (the login goes inside).
        bool start_tls = false;
    };
    // Feeds what the server sent (maybe nothing: call it once the server
    // connection is open) and appends tether's part to `to_upstream`.
    Step advance(codec::Bytes server_bytes, std::vector<std::byte>& to_upstream);

    [[nodiscard]] bool expired(Clock::time_point now) const { return now > deadline_; }
    [[nodiscard]] const codec::Greeting* greeting() const { return greeting_.get(); }
    [[nodiscard]] const HandshakeTurn& turn() const { return turn_; }
    [[nodiscard]] std::size_t buffered_bytes() const { return pending_.capacity(); }

private:
    Step read_greeting();
    void play_client(std::vector<std::byte>& to_upstream, Step& step);

    const std::string& reserved_user_;
    HandshakeTurn turn_;
    std::unique_ptr<codec::Greeting> greeting_;
    std::vector<std::byte> pending_;  // server bytes not parsed yet
    Clock::time_point deadline_;
    // When tether sent the server an SSLRequest: the capabilities the server
    // keeps, which the login tether sends must be encoded with.
    std::optional<codec::Capabilities> ssl_request_capabilities_;
    // The server leg has TLS when the server offers it (--upstream-tls): the
    // reserved login goes inside TLS too, as a real one would (a server that
    // requires secure transport answers it like any login, and the readiness
    // probe checks the server's certificate).
    bool secure_login_ = false;
};

}  // namespace tether::session
