// The running proxy: the listener, every Connection, the periodic janitor,
// readiness, and the shutdown sequence. All on one libuv loop.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <functional>

#include "tether/admin/admin_api.hpp"
#include "tether/attribution/admission.hpp"
#include "tether/attribution/connection_history.hpp"
#include "tether/attribution/handshake_queue.hpp"
#include "tether/attribution/leak_scan.hpp"
#include "tether/config/config.hpp"
#include "tether/io/admin_server.hpp"
#include "tether/io/connection.hpp"
#include "tether/io/connection_callbacks.hpp"
#include "tether/io/listener.hpp"
#include "tether/io/monitor_link.hpp"
#include "tether/metrics/monitor_action_metrics.hpp"
#include "tether/io/tls_setup.hpp"
#include "tether/ledger/rejection_log_limiter.hpp"
#include "tether/ledger/session_ledger.hpp"
#include "tether/metrics/metrics.hpp"

namespace tether::io {

class Proxy final : public admin::ProxyView {
public:
    Proxy(uv_loop_t* loop, const config::Config& config, metrics::Metrics& metrics);
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Binds the listeners and starts the janitor. Returns false (after logging
    // why) when a listener cannot be bound.
    bool start();
    // SIGINT/SIGTERM: the first starts the drain (stop accepting, /readyz 503,
    // sessions keep working until they end or --shutdown-grace passes); the
    // second closes everything at once.
    void on_signal();
    // Graceful shutdown, as above.
    void drain() override;
    // Close every session now (COM_QUIT upstream where no command is in flight).
    void shutdown_now();
    // Called once everything is closed, so the owner can close its own handles
    // (the signal watchers) and let the loop end.
    void set_on_stopped(std::function<void()> callback) { on_stopped_ = std::move(callback); }

    // For Connection.
    [[nodiscard]] uv_loop_t* loop() const { return loop_; }
    [[nodiscard]] const config::Config& config() const { return config_; }
    [[nodiscard]] const session::SessionConfig& session_config() const { return session_config_; }
    // The upstream as a literal IP address, or nullptr when it is a name or a socket path.
    [[nodiscard]] const sockaddr* upstream_literal() const {
        return upstream_literal_.ss_family == AF_UNSPEC ? nullptr : reinterpret_cast<const sockaddr*>(&upstream_literal_);
    }
    [[nodiscard]] session::Clock::time_point now() const;
    uv_buf_t read_buffer();
    // TLS (connection_tls.cpp): the contexts, and the loop's buffers for
    // decrypted bytes (one per side) and for ciphertext on its way out.
    void set_tls(TlsSetup setup);
    [[nodiscard]] const TlsSetup& tls() const { return tls_; }
    std::span<std::uint8_t> tls_plaintext_buffer(bool client_side);
    std::span<std::uint8_t> tls_ciphertext_buffer();
    // SIGHUP: reload the client leg's certificate now.
    void reload_tls() { tls_.reload(true); }
    void on_tls_failure(Connection& connection, std::string_view side, const tls::Failure& failure);
    void on_upstream_tls_ready();
    // Each event of a step once, in the order the session raised them.
    void on_session_events(Connection& connection, const session::Actions& actions);
    void on_session_event(Connection& connection, const session::SessionEvent& event);
    // The caps' decision on a login (session::LoginReceived) and on a
    // change of user (session::ChangeUserAccepted): both are admitted alike.
    session::Admission admit(Connection& connection);
    void on_upstream_connected(Connection& connection);
    void on_connection_finished(Connection* connection);
    // A waiting connection's wait ended on its side (it closed, was closed).
    void leave_queue(Connection& connection);
    // Counts of every Connection's libuv callbacks, and the tests' hook into them.
    ConnectionCallbacks& connection_callbacks() { return connection_callbacks_; }
    // tether's own session to the server (--monitor-user): its state, KILL and queries.
    MonitorLink& monitor() { return monitor_; }
    // The client listener's bound TCP port (what --listen HOST:0 got), or 0.
    [[nodiscard]] int listen_port() const { return listener_.local_port(); }

    // admin::ProxyView
    std::string metrics_text() override;
    bool ready() override;
    std::string not_ready_reason() override;
    admin::ConnectionPage connections(const admin::ConnectionQuery& query) override;  // connection_listing.cpp
    admin::StatusSnapshot status() override;                                           // status_view.cpp
    bool close_connection(std::uint64_t id) override;

private:
    void on_accept(int fd, const sockaddr_storage& peer_address);
    void on_accept_error(int uv_error, bool refused);
    void on_tick();
    void start_probe();
    void maybe_stop();
    void record_upstream(bool ok, std::string problem);
    void sample_history(session::Clock::time_point now);  // the status page's ring (status_view.cpp)
    void scan_sessions(session::Clock::time_point now);  // the janitor's leak scan and idle policies (janitor.cpp)
    void log_rejection(const Connection& connection, const attribution::AdmissionVerdict& verdict);
    void prune_rejection_logs(session::Clock::time_point now);
    [[nodiscard]] const std::string& gate_address(const Connection& connection) const;
    // Handshake queue (handshake_queue_io.cpp).
    void wait_for_handshake_slot(Connection& connection, std::string peer, const std::string& address,
                                 const attribution::AdmissionVerdict& verdict);
    void admit_waiters();
    void expire_waiters(session::Clock::time_point now);
    void refuse_waiter(Connection& connection, const std::string& address, const std::string& why);
    static void tick_cb(uv_timer_t* timer);

    uv_loop_t* loop_;
    const config::Config& config_;
    // The upstream's address when it is a literal, parsed once; a name is
    // resolved on every connect. Empty (family AF_UNSPEC) otherwise.
    sockaddr_storage upstream_literal_{};
    metrics::Metrics& metrics_;
    session::SessionConfig session_config_;

    Listener listener_;
    bool listening_ = false;
    // accept_failed lines: at most one per window, with how many were not logged.
    session::Clock::time_point last_accept_error_log_{};
    std::size_t accept_errors_unlogged_ = 0;
    uv_timer_t ticker_{};
    bool ticker_started_ = false;
    AdminServer admin_;
    ConnectionCallbacks connection_callbacks_;

    std::unordered_map<std::uint64_t, Connection*> connections_;
    std::uint64_t next_id_ = 1;
    // One read buffer for the whole loop: a read is relayed (or copied into a
    // write request) before the next begins, so idle sessions hold no buffer.
    std::unique_ptr<std::array<char, 64 * 1024>> read_buffer_;
    TlsSetup tls_;
    // A TLS record holds at most 16 KiB of plaintext: one read() never gives more.
    static constexpr std::size_t tls_plaintext_size = 16 * 1024;
    std::unique_ptr<std::uint8_t[]> tls_buffers_;  // two plaintext buffers, then one for ciphertext
    session::Clock::time_point last_tls_reload_{};
    // After tls_, whose contexts it uses. With a --monitor-user it also
    // replaces the readiness probe: /readyz follows whether it is up.
    MonitorLink monitor_;
    // What tether does through the monitor (monitor_actions.cpp): KILLs of
    // orphaned queries, the server reserve's readings, the per-user gauge.
    // Made only with a --monitor-user (nothing server-side is exported otherwise).
    std::unique_ptr<metrics::MonitorActionMetrics> monitor_actions_;
    bool by_user_query_running_ = false;
    // KILLs sent and not answered yet: a shutdown waits for them (the monitor
    // answers every request within its timeout), or the grace's last
    // sessions would leave their queries running.
    std::size_t kills_in_flight_ = 0;
    void start_monitor_actions();
    void kill_orphaned_query(const Connection& connection);
    void report_kill(const std::string& id, const std::string& client, const std::string& user, std::uint32_t thread,
                     bool ok, std::uint16_t code, const std::string& message);
    void on_server_read(const ServerState& state);
    void check_server_reading(session::Clock::time_point now);

    // Readiness: the latest evidence about the upstream, from real sessions or probes.
    bool upstream_ok_ = false;
    std::string upstream_problem_ = "upstream not checked yet";
    session::Clock::time_point last_upstream_evidence_{};
    Connection* probe_ = nullptr;  // the readiness probe in progress, if any
    std::string probe_note_;
    session::Clock::time_point last_sweep_{};
    bool shutting_down_ = false;  // draining: no new sessions, not ready
    bool closing_all_ = false;    // the grace is over (or a second signal): sessions are being closed
    session::Clock::time_point drain_deadline_{};
    bool stopped_ = false;
    std::function<void()> on_stopped_;

    // Every session's handshake slot, admission charge, labels and open series.
    ledger::SessionLedger ledger_;
    attribution::HandshakeQueue handshake_queue_;
    bool admitting_waiters_ = false;  // admit_waiters() is on the stack
    attribution::IdlePolicy idle_policy_;
    attribution::LeakReporter leak_reporter_;
    session::Clock::time_point last_scan_{};
    session::Clock::time_point last_report_{};
    // Open sessions per client over the last hour, for the status page's chart.
    attribution::ConnectionHistory history_;
    // connection_rejected lines: one per client label and limit a window; pruned by the janitor.
    ledger::RejectionLogLimiter rejection_logs_;
};

}  // namespace tether::io
