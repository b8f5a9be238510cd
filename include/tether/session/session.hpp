// One client connection's protocol state machine: handshake relay, login capture,
// command tracking, and the clean finish of an abandoned server handshake. No I/O.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/codec/handshake.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/actions.hpp"
#include "tether/session/close_reason.hpp"
#include "tether/session/command_tracker.hpp"
#include "tether/session/handshake_turn.hpp"
#include "tether/session/compressed_command_feed.hpp"
#include "tether/session/early_client_bytes.hpp"
#include "tether/session/phase.hpp"
#include "tether/session/tls_legs.hpp"
#include "tether/codec/sequence_shift.hpp"

namespace tether::session {

class HandshakeFinisher;

struct SessionConfig {
    // A user name that must not exist on the server. Abandoned handshakes are
    // finished with a login for it, so the server answers 1045 instead of
    // counting a handshake error against tether's address.
    std::string reserved_user = "tether_abort_login";
    std::string upstream_name;  // for error messages
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds connect_timeout{5'000};
    ClientTls client_tls = ClientTls::disabled;
    UpstreamTls upstream_tls = UpstreamTls::disabled;
    // Keep the latest statement for its fingerprint (statement_trace.hpp).
    bool statement_fingerprints = true;
};

// The owner's answer to a login.
struct Admission {
    bool allowed = true;
    std::uint16_t error_code = 0;
    std::string sql_state;
    std::string message;

    static Admission allow() { return {}; }
    static Admission refuse(std::uint16_t code, std::string sql_state, std::string message) {
        return {false, code, std::move(sql_state), std::move(message)};
    }
};

// Entry points take an Actions to fill (cleared by the caller) and return
// nothing: everything the owner must do is in the Actions, what happened in
// its events. Time comes in as an argument. Only enter() changes the phase,
// and only along the table in phase.hpp.
//
// Where each concern lives: session.cpp (the entry points, dispatching on the
// phase), session_phase.cpp (enter and its table), session_greeting.cpp,
// session_login.cpp, session_auth.cpp, session_command.cpp,
// change_user_admission.cpp, session_finish.cpp (driving the
// HandshakeFinisher), session_close.cpp.
class Session {
public:
    Session(const SessionConfig& config, Clock::time_point now);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start(Actions& out);
    // The same, later than construction (the connection waited for a
    // handshake slot): --connect-timeout runs from `now`, the handshake
    // timeout still from construction (accept).
    void start(Clock::time_point now, Actions& out);
    // Instead of start(): the owner refused the connection at accept (a cap
    // on open handshakes). The client gets the ERR as its first packet; no
    // server connection is made.
    void refuse_at_accept(const Admission& refusal, Actions& out);
    void on_upstream_connected(Clock::time_point now, Actions& out);
    void on_upstream_connect_failed(std::string_view why, Actions& out);
    void on_client_bytes(codec::Bytes chunk, Clock::time_point now, Actions& out);
    void on_upstream_bytes(codec::Bytes chunk, Clock::time_point now, Actions& out);
    // The client's socket ended (EOF, reset, error).
    void on_client_closed(Actions& out);
    // The upstream socket ended.
    void on_upstream_closed(Actions& out);
    // Called periodically: enforces the connect and handshake timeouts.
    void on_tick(Clock::time_point now, Actions& out);
    // After LoginReceived.
    void admit(const Admission& admission, Actions& out);
    // The server leg's TLS handshake (after start_upstream_tls) completed and
    // its peer is trusted: the login goes to the server.
    void on_upstream_tls_ready(Actions& out);
    // It failed, or its peer failed verification (`why` says which). With
    // `channel_usable` (the handshake completed, only trust failed) the server
    // still gets a complete, refused login over it (the reserved user carries
    // no secret); otherwise its side closes.
    void on_upstream_tls_failed(std::string_view why, bool channel_usable, Actions& out);
    // After ChangeUserAccepted: the new identity (login())
    // against the caps. Allowed: the held OK goes to the client. Refused: the
    // client gets this ERR in its place, the server COM_QUIT, the session ends
    // (rejected). (change_user_admission.cpp)
    void admit_change_user(const Admission& admission, Actions& out);
    // Close on tether's initiative (admin, idle policy, shutdown): COM_QUIT to
    // the server first when no command is in flight.
    void close(CloseReason reason, Actions& out);

    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] std::optional<CloseReason> close_reason() const { return reason_; }
    [[nodiscard]] const codec::Login* login() const { return login_ ? &*login_ : nullptr; }
    [[nodiscard]] std::uint32_t upstream_thread_id() const { return thread_id_; }
    // As the greeting sent it (kept from the greeting's own copy once the login completes).
    [[nodiscard]] const std::string& server_version() const { return greeting_ ? greeting_->server_version : server_version_; }
    // Also while half a compressed frame has passed: a response's last bytes
    // may still be on their way after the tracker saw its end.
    [[nodiscard]] bool command_in_flight() const { return phase_ == Phase::command && !at_rest(); }
    [[nodiscard]] bool in_transaction() const { return tracker_.in_transaction(); }
    [[nodiscard]] bool tracking() const { return phase_ == Phase::command; }
    [[nodiscard]] bool authenticated() const { return authenticated_; }
    // tether closed the server side while a command was in flight there (or
    // while tracking had lost sync): the server's thread (upstream_thread_id)
    // may still be running it. Set once, when that side is closed.
    [[nodiscard]] bool left_command_running() const { return left_command_running_; }
    [[nodiscard]] Clock::time_point started_at() const { return started_at_; }
    // Since when the session has been idle: the end of the last response or the
    // client's last bytes, whichever is later (the start, before login).
    [[nodiscard]] Clock::time_point last_activity() const;
    [[nodiscard]] const CommandTracker& tracker() const { return tracker_; }
    [[nodiscard]] const char* desync_reason() const { return tracker_.desync_reason(); }
    // The default database now: where COM_INIT_DB, a `USE` or a change of user
    // moved it, else the login's ("" when there is none).
    [[nodiscard]] std::string_view current_database() const {
        if (const std::string* moved = tracker_.database()) return *moved;
        return login_ && login_->database ? std::string_view(*login_->database) : std::string_view();
    }
    // The login carried by the last accepted COM_CHANGE_USER (after ChangeUserAccepted).
    void replace_login(codec::Login login) { login_ = std::move(login); }
    [[nodiscard]] bool client_open() const { return client_open_; }
    [[nodiscard]] bool upstream_open() const { return upstream_open_; }
    // Which legs negotiated TLS (from the SSLRequests seen and sent).
    [[nodiscard]] bool client_tls() const { return client_tls_; }
    [[nodiscard]] bool upstream_tls() const { return upstream_tls_; }
    // Who owes the next handshake packet (meaningful until the login completes).
    [[nodiscard]] const HandshakeTurn& handshake_turn() const { return turn_; }
    // Capacity held by the handshake-phase buffers (bounded by the handshake
    // packet limits): 0 once logged in, whatever the client sent during its
    // login. For tests and fuzzers.
    [[nodiscard]] std::size_t buffered_bytes() const;
    // The compressed protocol's decoders (null for an uncompressed session).
    [[nodiscard]] const CompressedCommandFeed* compressed() const { return compressed_.get(); }
    // The first transition enter() refused, if any: a bug. Tests and fuzzers
    // check it stays empty (release builds do not assert).
    [[nodiscard]] std::optional<PhaseTransition> refused_transition() const { return refused_transition_; }

private:
    void enter(Phase next);
    void set_reason(CloseReason reason);
    // session_greeting.cpp
    void relay_greeting(Actions& out);
    void adopt_greeting(const codec::Greeting& greeting, Actions& out);
    void refuse_before_greeting(std::string_view why, Actions& out);
    void raise_unreachable(std::string why, Actions& out);
    void upstream_connect_failed(std::string_view why, Actions& out);
    void greeting_timed_out(Actions& out);
    // session_login.cpp
    void read_login(Actions& out);
    void buffer_before_login(codec::Bytes chunk, Actions& out);
    // An ERR the client can read ("tether: " + message), counted, its side
    // drained and closed, the server side finished with the reserved login.
    void refuse_client(std::uint8_t sequence_id, std::string message, Actions& out,
                       std::uint16_t code = 1043 /* ER_HANDSHAKE_ERROR */, std::string_view sql_state = "08S01");
    void fail_handshake(CloseReason reason, Actions& out);
    void start_client_tls(const codec::LogicalPacket& ssl_request, std::size_t consumed, Actions& out);
    // session_upstream_tls.cpp
    void send_login(Actions& out);
    void secure_upstream(Actions& out);
    void forward_client_bytes(codec::Bytes chunk, Actions& out);
    // session_auth.cpp
    void relay_auth_exchange(Actions& out);
    void on_authenticated(const codec::DecodeResult<codec::OkPacket>& ok, Actions& out);
    void replay_early_client_bytes();
    [[nodiscard]] std::string clear_password_request(codec::Bytes payload) const;
    [[nodiscard]] bool login_sends_password_in_clear() const;
    // session_finish.cpp
    void finish_upstream(Actions& out);
    void drive_finish(codec::Bytes server_bytes, Actions& out);
    void finish_lost_upstream(Actions& out);
    void finish_timed_out(Actions& out);
    // session_close.cpp
    void close_client_side(Actions& out);
    void close_upstream_side(Actions& out);
    void end_both(CloseReason reason, Actions& out);
    void end_after_client(Actions& out);
    // session_command.cpp
    void check_tracker(Actions& out);
    // The tracker's feed: straight, or through the compressed protocol's decoders.
    void track_client(codec::Bytes chunk, Clock::time_point now);
    void track_server(codec::Bytes chunk);
    [[nodiscard]] bool at_rest() const { return tracker_.idle() && (!compressed_ || compressed_->at_frame_boundary()); }
    void append_com_quit(Actions& out) const;
    // change_user_admission.cpp
    void relay_change_user_reply(codec::Bytes chunk, Actions& out);
    void take_change_of_user(Actions& out);

    const SessionConfig& config_;
    Phase phase_ = Phase::connecting;
    std::optional<CloseReason> reason_;
    Clock::time_point started_at_;
    Clock::time_point now_;  // the latest time an entry point was given
    Clock::time_point connect_started_;  // start(): --connect-timeout runs from here
    Clock::time_point idle_since_{};  // when the session last became idle (command phase)

    // Handshake-phase buffers: only until the command phase starts.
    std::vector<std::byte> client_pending_;
    std::vector<std::byte> upstream_pending_;
    EarlyClientBytes early_client_bytes_;  // sent during authentication, replayed to the tracker
    std::vector<std::byte> login_packet_;  // the client's login as it arrived, forwarded after admission
    std::uint8_t login_sequence_id_ = 1;
    HandshakeTurn turn_;
    std::unique_ptr<HandshakeFinisher> finisher_;  // only while finishing_upstream

    std::unique_ptr<codec::Greeting> greeting_;  // only until the login completes
    std::optional<codec::Login> login_;
    std::uint32_t thread_id_ = 0;
    std::string server_version_;
    CommandTracker tracker_;
    std::unique_ptr<CompressedCommandFeed> compressed_;  // from the login's OK, when compression was agreed
    bool authenticated_ = false;
    bool left_command_running_ = false;
    bool client_open_ = true;
    bool upstream_open_ = false;
    bool upstream_connecting_ = false;
    // COM_CHANGE_USER: the server's OK (the first bytes of upstream_pending_)
    // held until admit_change_user().
    std::size_t held_change_user_ok_ = 0;
    bool change_user_admission_due_ = false;
    std::optional<PhaseTransition> refused_transition_;
    // TLS: negotiated on the client leg (its SSLRequest came), on the server
    // leg (tether's SSLRequest went), and that TLS handshake still under way.
    bool client_tls_ = false;
    bool upstream_tls_ = false;
    bool upstream_tls_pending_ = false;
    // Client packets of the login exchange, renumbered for the server leg when
    // only one leg is TLS (server packets are renumbered whole, back).
    codec::SequenceShift to_server_shift_;
    int leg_shift_ = 0;  // server leg's sequence ids minus the client leg's, during the login exchange
    // The SSLRequest's capabilities: the server keeps these, so a login tether
    // sends in the client's place must be encoded with them.
    std::optional<codec::Capabilities> upstream_ssl_capabilities_;
};

}  // namespace tether::session
