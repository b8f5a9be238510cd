// tether as a MySQL client of its server: the monitor session's protocol,
// pure (no socket, no clock). Server bytes in; bytes to send, "start TLS",
// "logged in", query results and the session's end out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet.hpp"
#include "tether/monitor/secret.hpp"

namespace tether::monitor {

// TLS to the server, as --upstream-tls decides it for every server connection
// (the verify modes are io's business: here they are `required`).
enum class TlsWish : std::uint8_t {
    disabled,   // never send an SSLRequest
    preferred,  // TLS when the greeting offers it
    required,   // a server that does not offer TLS is not logged in to
};

struct MonitorSettings {
    std::string user;
    Secret password;
    TlsWish tls = TlsWish::disabled;
    // Finishes a login tether gives up before sending the password (no TLS
    // where it is required, an untrusted certificate): a refused login
    // leaves the server a complete handshake, so tether's address never
    // counts toward max_connect_errors. Must not exist (--reserved-user).
    std::string reserved_user = "tether_abort_login";
    // A query whose answer is larger is an error (the rest is read and dropped).
    std::size_t max_result_bytes = 1024 * 1024;
    std::size_t max_result_rows = 10'000;
};

using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

// The server's answer to one query: rows (empty for a statement such as
// KILL), or its ERR (code and message), or tether's own refusal of an answer
// too large to keep (code 0).
struct QueryResult {
    bool ok = false;
    std::uint16_t error_code = 0;
    std::string error;
    Rows rows;
};

// Why the session ended. The message never holds the password or anything
// derived from it; the server's ERR message is kept (it names the user).
struct MonitorFailure {
    enum class Kind : std::uint8_t {
        refused,   // the server's ERR instead of a greeting (1040 too many connections, 1129 host blocked)
        tls,       // TLS required and not offered, or the TLS handshake failed / was not trusted
        login,     // the server refused the login (1045 wrong password, an auth plugin tether cannot speak)
        protocol,  // bytes tether cannot follow (or an answer packet over the size limit)
        closed,    // the server closed the connection
    };
    Kind kind = Kind::closed;
    std::uint16_t error_code = 0;  // the server's, when it sent an ERR
    std::string message;
};
std::string_view failure_kind_name(MonitorFailure::Kind kind);

struct MonitorOutput {
    std::vector<std::byte> to_server;  // plaintext; through TLS once started
    // Write to_server (the SSLRequest), then begin the TLS client handshake;
    // call on_tls_ready or on_tls_failed when it ends.
    bool start_tls = false;
    bool logged_in = false;  // the server's OK to the login: queries may be sent
    std::vector<QueryResult> results;  // in the order the queries were sent
    // The session is over: write to_server (a COM_QUIT, or the end of a
    // refused login), then close. Set once.
    std::optional<MonitorFailure> failure;
    bool close = false;  // close after writing to_server (set with failure, and by quit())
};

class MonitorSession {
public:
    explicit MonitorSession(MonitorSettings settings);
    ~MonitorSession();
    MonitorSession(const MonitorSession&) = delete;
    MonitorSession& operator=(const MonitorSession&) = delete;

    void on_server_bytes(codec::Bytes bytes, MonitorOutput& out);
    // The TLS handshake after the SSLRequest finished.
    void on_tls_ready(MonitorOutput& out);
    // It failed. channel_usable: it completed but the certificate is not
    // trusted; the login is then finished with the reserved user (no secret).
    void on_tls_failed(std::string_view why, bool channel_usable, MonitorOutput& out);
    // The server closed (EOF or a socket error).
    void on_closed(std::string_view why, MonitorOutput& out);

    // One COM_QUERY; only when ready() (logged in, no query in flight).
    void send_query(std::string_view sql, MonitorOutput& out);
    // COM_QUIT and close (when logged in; otherwise just close).
    void quit(MonitorOutput& out);

    [[nodiscard]] bool ready() const { return phase_ == Phase::ready; }
    [[nodiscard]] bool closed() const { return phase_ == Phase::closed; }
    [[nodiscard]] bool tls_negotiated() const { return tls_; }
    [[nodiscard]] std::uint32_t thread_id() const { return thread_id_; }
    [[nodiscard]] std::string_view server_version() const { return server_version_; }

private:
    enum class Phase : std::uint8_t {
        greeting,        // waiting for the server's first packet
        securing,        // SSLRequest sent, TLS handshake running
        authenticating,  // login sent, following the auth exchange
        ready,           // logged in, idle
        querying,        // a COM_QUERY's answer is being read
        finishing,       // a refused login for the reserved user, to end the handshake cleanly
        closed,
    };
    // Where in a query's answer the next packet belongs.
    enum class Answer : std::uint8_t { first, columns, columns_eof, rows };

    void on_packet(std::uint8_t sequence_id, codec::Bytes payload, MonitorOutput& out);
    void on_greeting(codec::Bytes payload, MonitorOutput& out);
    void send_login(MonitorOutput& out);
    void on_auth_packet(codec::Bytes payload, MonitorOutput& out);
    void on_finishing_packet(codec::Bytes payload, MonitorOutput& out);
    void on_answer_packet(codec::Bytes payload, MonitorOutput& out);
    void on_answer_end(codec::Bytes payload, MonitorOutput& out);
    void finish_with_reserved_login(MonitorFailure failure, MonitorOutput& out);
    void reply(codec::Bytes payload, MonitorOutput& out);
    void deliver(QueryResult result, MonitorOutput& out);
    void fail(MonitorFailure failure, MonitorOutput& out);
    [[nodiscard]] bool deprecate_eof() const { return (capabilities_ & codec::cap::deprecate_eof) != 0; }

    MonitorSettings settings_;
    Phase phase_ = Phase::greeting;
    std::vector<std::byte> input_;  // an incomplete packet (at most one, bounded)
    std::uint8_t next_sequence_id_ = 0;  // what the server's next packet must carry
    codec::Capabilities capabilities_ = 0;
    std::vector<std::byte> nonce_;
    std::string plugin_;  // the auth plugin of the exchange in progress
    bool tls_ = false;
    bool awaiting_public_key_ = false;
    int finishing_rounds_ = 0;
    std::optional<MonitorFailure> pending_failure_;  // reported once a refused login has ended
    std::uint32_t thread_id_ = 0;
    std::string server_version_;
    // The answer being read.
    Answer answer_ = Answer::first;
    std::size_t columns_ = 0;
    std::size_t definitions_seen_ = 0;
    std::size_t answer_bytes_ = 0;
    bool answer_too_large_ = false;
    QueryResult result_;
};

}  // namespace tether::monitor
