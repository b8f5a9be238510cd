// tether's own session to the server (--monitor-user): one libuv connection,
// logged in with the monitor session's protocol (monitor::MonitorSession),
// reading the server's status every --monitor-interval and running the
// queries other parts of tether ask for (KILL, the processlist). Reconnects
// with backoff. Not a client session: not in /connections, not charged to
// any cap, not counted in tether_client_connections.
#pragma once

#include <uv.h>

#include <cstdint>
#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tether/config/config.hpp"
#include "tether/io/tls_setup.hpp"
#include "tether/metrics/server_metrics.hpp"
#include "tether/monitor/monitor_session.hpp"
#include "tether/monitor/password_source.hpp"
#include "tether/monitor/server_reading.hpp"
#include "tether/session/command_tracker.hpp"

namespace tether::io {

// The server as the monitor last read it.
struct ServerState {
    bool known = false;  // at least one read succeeded
    std::uint64_t threads_connected = 0, max_connections = 0, max_user_connections = 0;
    session::Clock::time_point read_at{};
    // Also read (exported as counters): the server's own, reset when it restarts.
    std::uint64_t aborted_clients = 0, aborted_connects = 0;
};

class MonitorLink {
public:
    // At most this many kill()/query() requests wait (queued or in flight);
    // beyond it a request is answered at once with an error.
    static constexpr std::size_t max_queued = 64;

    MonitorLink(uv_loop_t* loop, const config::Config& config, const TlsSetup& tls);
    ~MonitorLink();
    MonitorLink(const MonitorLink&) = delete;
    MonitorLink& operator=(const MonitorLink&) = delete;

    // The password (only with a --monitor-user), then the first connect.
    void set_password(monitor::PasswordSource password) { password_ = std::move(password); }
    void start();
    // From the Proxy's ticker: timeouts, the next read, the next attempt, the password file.
    void tick();
    // Ends the session (COM_QUIT when logged in) and stops reconnecting;
    // requests still waiting are answered with an error. The handle closes
    // asynchronously; the loop ends once it has.
    void stop();

    [[nodiscard]] bool configured() const;  // a --monitor-user is set
    [[nodiscard]] bool up() const;          // logged in and answering
    [[nodiscard]] const ServerState& server_state() const;  // the last successful read
    // Why it is not up (for /readyz), without the password.
    [[nodiscard]] const std::string& problem() const { return problem_; }
    // tether_monitor_up and the server's figures, for /metrics.
    [[nodiscard]] std::string metrics_text() const { return metrics_.render(); }

    // Runs `KILL <id>` (KILL QUERY is not enough: the connection must go) once
    // the link is up, queued in order behind other queries (at most
    // max_queued waiting: bounded), and calls back with the server's answer
    // (ok, or the ERR code/message; code 0 for tether's own errors: queue
    // full, the link down for longer than a request may wait, the session
    // lost before the answer). Called from the loop only.
    using KillDone = std::function<void(bool ok, std::uint16_t error_code, std::string message)>;
    void kill(std::uint32_t thread_id, KillDone done);
    // A hook called after each successful server read (the server reserve uses it).
    void on_server_state(std::function<void(const ServerState&)> callback);
    // An arbitrary read-only query with a bounded result (1 MiB, 10,000 rows),
    // e.g. SELECT ... FROM information_schema.PROCESSLIST.
    using Rows = monitor::Rows;
    void query(std::string sql, std::function<void(bool ok, const Rows& rows, std::string error)> done);

    // For tests: logins completed, and attempts made (connects started).
    [[nodiscard]] std::uint64_t logins() const { return logins_; }
    [[nodiscard]] std::uint64_t attempts() const { return attempts_; }

private:
    struct Attempt;
    struct Resolve;
    struct WriteRequest;
    struct Request {
        std::string sql;
        std::function<void(const monitor::QueryResult&)> done;
        session::Clock::time_point queued_at{};
        bool internal = false;  // the status reads: not counted against max_queued
    };

    [[nodiscard]] session::Clock::time_point now() const;
    void begin_attempt();
    void on_resolved(int status, addrinfo* result);
    void connect_next();
    void connect_to(const sockaddr* address, std::string text);
    void on_connected(Attempt& attempt, int status);
    void on_read(Attempt& attempt, ssize_t nread, const uv_buf_t* buf);
    void on_written(Attempt& attempt, int status);
    void feed_tls(Attempt& attempt, codec::Bytes ciphertext);
    void deliver_plaintext(Attempt& attempt);
    void apply(Attempt& attempt, monitor::MonitorOutput& out);
    void write(Attempt& attempt, codec::Bytes plaintext);
    void write_raw(Attempt& attempt, codec::Bytes bytes);
    void write_now(Attempt& attempt, codec::Bytes plaintext);
    void flush_tls(Attempt& attempt);
    void close_attempt(Attempt& attempt);
    void attempt_failed(Attempt* attempt, monitor::MonitorFailure failure);
    void on_logged_in(Attempt& attempt);
    void submit(Request request);
    void submit_external(std::string sql, std::function<void(const monitor::QueryResult&)> done);
    void pump();
    void start_read();
    void on_read_done(bool ok, std::string error);
    void expire_requests(session::Clock::time_point t);
    void fail_requests(const std::string& why, bool include_queued);
    void check_password(session::Clock::time_point t);
    [[nodiscard]] monitor::MonitorSettings settings() const;

    static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void write_cb(uv_write_t* req, int status);
    static void connect_cb(uv_connect_t* req, int status);
    static void close_cb(uv_handle_t* handle);
    static void resolve_cb(uv_getaddrinfo_t* req, int status, addrinfo* result);

    uv_loop_t* loop_;
    const config::Config& config_;
    const TlsSetup& tls_;
    std::optional<monitor::PasswordSource> password_;
    metrics::ServerMetrics metrics_;
    bool started_ = false;
    bool stopped_ = false;

    // The connection being made or in use (null between attempts). Owned:
    // deleted in its handle's close callback, never before.
    Attempt* attempt_ = nullptr;
    // Abandoned attempts waiting for their last write before they close.
    std::vector<Attempt*> lingering_;
    Resolve* resolve_ = nullptr;  // a name lookup in flight
    std::vector<sockaddr_storage> addresses_;  // what --upstream resolved to, tried in order
    std::size_t next_address_ = 0;
    std::string address_failures_;
    std::unique_ptr<std::array<char, 16 * 1024>> read_buffer_;
    std::unique_ptr<std::uint8_t[]> tls_buffer_;  // plaintext, then ciphertext scratch

    bool up_ = false;
    ServerState state_;
    monitor::ServerReading reading_;  // the read in progress
    bool read_in_flight_ = false;
    session::Clock::time_point next_read_at_{};
    std::vector<std::function<void(const ServerState&)>> state_callbacks_;

    std::deque<Request> queue_;
    std::optional<Request> in_flight_;
    std::size_t external_waiting_ = 0;  // kill()/query() requests queued or in flight

    // Reconnects: 1 s doubling to 30 s, with jitter; back to 1 s after a good read.
    session::Clock::time_point next_attempt_at_{};
    std::chrono::milliseconds backoff_{1000};
    std::minstd_rand jitter_;
    std::string problem_ = "the monitor session has not logged in yet";
    std::string last_logged_failure_;  // one log line per change of outcome
    bool logged_up_ = false;
    session::Clock::time_point next_password_check_{};
    std::string last_password_error_;
    std::uint64_t logins_ = 0;
    std::uint64_t attempts_ = 0;
};

}  // namespace tether::io
