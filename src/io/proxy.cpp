// Listener, janitor, readiness and shutdown (see proxy.hpp).
#include "tether/io/proxy.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <tuple>
#include <cassert>

#include "tether/util/log.hpp"

namespace tether::io {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds(250);
constexpr auto sweep_interval = std::chrono::seconds(10);
// At most one accept_failed line in this window.
constexpr auto accept_error_log_window = std::chrono::seconds(10);

double seconds_between(session::Clock::time_point from, session::Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// "%.3f", without printf's machinery: session_closed is formatted for every connection.
std::string fmt_seconds(double s) {
    char buf[32];
    const auto [end, error] = std::to_chars(buf, buf + sizeof buf, s, std::chars_format::fixed, 3);
    return error == std::errc() ? std::string(buf, end) : std::string("0.000");
}

// The session_closed line's TLS fields: the version, or "off" for a plaintext leg.
std::string tls_field(std::string_view version) { return version.empty() ? std::string("off") : std::string(version); }

// Dotted quad, as uv_ip4_name writes it but without its snprintf (about 1% of
// tether's CPU per churned connection).
std::string ipv4_text(const in_addr& address) {
    const auto* octet = reinterpret_cast<const unsigned char*>(&address.s_addr);  // network order
    std::string text;  // at most 15 characters: no allocation
    for (int i = 0; i < 4; ++i) {
        if (i > 0) text += '.';
        const unsigned v = octet[i];
        if (v >= 100) text += static_cast<char>('0' + v / 100);
        if (v >= 10) text += static_cast<char>('0' + v / 10 % 10);
        text += static_cast<char>('0' + v % 10);
    }
    return text;
}

// The client's IP (the `addr` label) and its port (to tell sessions apart in
// /connections), from the address accept() gave.
std::pair<std::string, std::uint16_t> peer_text(const sockaddr_storage& storage) {
    if (storage.ss_family != AF_INET && storage.ss_family != AF_INET6) return {"unknown", 0};
    char text[INET6_ADDRSTRLEN] = {};
    std::uint16_t port = 0;
    if (storage.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        return {ipv4_text(in->sin_addr), ntohs(in->sin_port)};
    } else {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        uv_ip6_name(in6, text, sizeof text);
        port = ntohs(in6->sin6_port);
    }
    return {text, port};
}

std::string login_database(const session::Session& s) { return std::string(s.current_database()); }

ledger::LedgerConfig ledger_config(const config::Config& config) {
    ledger::LedgerConfig c;
    c.connection_limits = {config.max_connections, config.max_connections_per_client, config.max_connections_per_user,
                           config.admin_users};
    c.handshake_limits = {config.max_handshakes, config.max_handshakes_per_address};
    c.server_reserve = config.server_reserve;
    std::string error;
    auto rules = attribution::parse_label_rules(config.client_label, error);
    assert(rules && "validated by the command line");
    if (rules) c.label_rules = std::move(*rules);
    return c;
}

}  // namespace

Proxy::Proxy(uv_loop_t* loop, const config::Config& config, metrics::Metrics& metrics)
    : loop_(loop),
      config_(config),
      metrics_(metrics),
      listener_(loop),
      admin_(loop, *this),
      read_buffer_(std::make_unique<std::array<char, 64 * 1024>>()),
      monitor_(loop, config, tls_),
      ledger_(ledger_config(config), metrics),
      handshake_queue_(config.max_handshake_queue),
      history_(config.status_sample_interval) {
    idle_policy_.suspect_after = config.leak_idle_threshold;
    idle_policy_.idle_timeout = config.idle_timeout;
    idle_policy_.idle_in_transaction_timeout = config.idle_in_transaction_timeout;
    session_config_.reserved_user = config.reserved_user;
    session_config_.upstream_name = config.upstream.text;
    session_config_.handshake_timeout = config.handshake_timeout;
    session_config_.connect_timeout = config.connect_timeout;
    session_config_.statement_fingerprints = config.statement_fingerprints;
    const auto& upstream = config.upstream;
    if (upstream.kind == config::Address::Kind::tcp &&
        uv_ip4_addr(upstream.host.c_str(), upstream.port, reinterpret_cast<sockaddr_in*>(&upstream_literal_)) != 0 &&
        uv_ip6_addr(upstream.host.c_str(), upstream.port, reinterpret_cast<sockaddr_in6*>(&upstream_literal_)) != 0) {
        upstream_literal_ = {};
    }
}

// The loop's time, read once after each wake-up (libuv reads CLOCK_MONOTONIC,
// steady_clock's clock, in milliseconds), instead of a clock read for every
// read, write and session event: a connection asked about a dozen times.
session::Clock::time_point Proxy::now() const {
    return session::Clock::time_point(std::chrono::milliseconds(uv_now(loop_)));
}

void Proxy::set_tls(TlsSetup setup) {
    tls_ = std::move(setup);
    session_config_.client_tls = tls_.client_mode();
    session_config_.upstream_tls = tls_.upstream_mode();
}

// Allocated at the first TLS session: a plaintext proxy carries none of it.
std::span<std::uint8_t> Proxy::tls_plaintext_buffer(bool client_side) {
    if (!tls_buffers_) tls_buffers_ = std::make_unique<std::uint8_t[]>(2 * tls_plaintext_size + read_buffer_->size());
    return {tls_buffers_.get() + (client_side ? 0 : tls_plaintext_size), tls_plaintext_size};
}

std::span<std::uint8_t> Proxy::tls_ciphertext_buffer() {
    tls_plaintext_buffer(true);
    return {tls_buffers_.get() + 2 * tls_plaintext_size, read_buffer_->size()};
}

void Proxy::on_tls_failure(Connection& connection, std::string_view side, const tls::Failure& failure) {
    const std::string reason(tls::format_failure_reason(failure.reason));
    metrics_.tls_handshake_failed(side, reason);
    log::warn("tls_handshake_failed", {{"id", std::to_string(connection.id())},
                                       {"side", std::string(side)},
                                       {"reason", reason},
                                       {"detail", failure.detail},
                                       {"peer", connection.peer()}});
    // The server leg: what /readyz says until a session gets through.
    if (side == "upstream") record_upstream(false, "TLS to the server failed: " + reason + " (" + failure.detail + ")");
}

// Under verify-ca/verify-identity the server is reachable only once trusted:
// that, not its greeting, is the readiness evidence.
void Proxy::on_upstream_tls_ready() {
    if (tls_.upstream_verifies()) record_upstream(true, {});
}

uv_buf_t Proxy::read_buffer() { return uv_buf_init(read_buffer_->data(), static_cast<unsigned>(read_buffer_->size())); }

bool Proxy::start() {
    const auto& listen = config_.listen;
    listening_ = true;
    AcceptedSocketOptions accepted;
    accepted.keepalive = config_.client_keepalive;
    int rc = listener_.start(
        listen, accepted, [this](int fd, const sockaddr_storage& peer) { on_accept(fd, peer); },
        [this](int error, bool refused) { on_accept_error(error, refused); });
    if (rc != 0) {
        log::error("listen_failed", {{"listen", listen.text}, {"error", uv_strerror(rc)}});
        return false;
    }
    admin::AdminAccess access;
    access.listener_loopback = config_.admin.is_loopback();
    access.token = config_.admin_token;
    access.connections_require_token = config_.connections_require_token;
    AdminLimits admin_limits;
    admin_limits.idle_timeout = config_.admin_idle_timeout;
    admin_limits.max_connections = config_.admin_max_connections;
    rc = admin_.start(config_.admin, std::move(access), admin_limits);
    if (rc != 0) {
        log::error("admin_listen_failed", {{"admin", config_.admin.text}, {"error", uv_strerror(rc)}});
        return false;
    }
    uv_timer_init(loop_, &ticker_);
    ticker_started_ = true;
    ticker_.data = this;
    uv_timer_start(&ticker_, &Proxy::tick_cb, tick_interval.count(), tick_interval.count());
    log::info("listening", {{"listen", listen.text}, {"upstream", config_.upstream.text}, {"admin", config_.admin.text},
                            {"version", TETHER_VERSION}});
    start_monitor_actions();
    monitor_.start();
    start_probe();
    return true;
}

void Proxy::on_accept(int fd, const sockaddr_storage& peer_address) {
    auto* connection = new Connection(*this, next_id_++, session_config_);
    Socket& client = connection->client_socket();
    std::string peer = "unix";
    int rc = 0;
    if (config_.listen.kind == config::Address::Kind::unix_socket) {
        uv_pipe_init(loop_, &client.uv.pipe, 0);
        rc = uv_pipe_open(&client.uv.pipe, fd);
    } else {
        uv_tcp_init(loop_, &client.uv.tcp);
        rc = uv_tcp_open(&client.uv.tcp, fd);
    }
    client.uv.handle.data = connection;
    if (rc != 0) {
        ::close(fd);  // not the handle's: libuv did not take it
        client.initialized = true;
        uv_close(&client.uv.handle, [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
        return;
    }
    std::uint16_t port = 0;
    if (config_.listen.kind == config::Address::Kind::tcp) {
        // TCP_NODELAY and keepalive came with the socket from the listener.
        std::tie(peer, port) = peer_text(peer_address);
    }
    connection->set_peer_port(port);
    connections_.emplace(connection->id(), connection);
    if (log::enabled(log::Level::debug)) log::debug("accepted", {{"id", std::to_string(connection->id())}, {"peer", peer}});
    // Before any server connection is made: a client that never logs in must
    // not hold one of the server's slots beyond the cap.
    const std::string address = config_.listen.kind == config::Address::Kind::tcp ? peer : std::string();
    const attribution::AdmissionVerdict verdict = ledger_.handshake_verdict(address);
    if (!verdict.allowed) return wait_for_handshake_slot(*connection, std::move(peer), address, verdict);
    ledger_.handshake_started(connection->account(), address);
    connection->start_with_client(std::move(peer));
}

// Out of file descriptors (or another accept failure): counted, logged at
// most once a window with how many more there were; the Listener has answered
// the waiting client or paused until the next tick.
void Proxy::on_accept_error(int uv_error, bool refused) {
    metrics_.accept_failed(uv_err_name(uv_error));
    const auto t = now();
    if (last_accept_error_log_ != session::Clock::time_point{} && t - last_accept_error_log_ < accept_error_log_window) {
        ++accept_errors_unlogged_;
        return;
    }
    log::warn("accept_failed", {{"error", uv_err_name(uv_error)},
                                {"detail", uv_strerror(uv_error)},
                                {"open_connections", std::to_string(connections_.size())},
                                {"client_refused", refused ? "true" : "false"},
                                {"suppressed", std::to_string(accept_errors_unlogged_)}});
    last_accept_error_log_ = t;
    accept_errors_unlogged_ = 0;
}

void Proxy::on_upstream_connected(Connection&) { metrics_.upstream_opened(); }

// Readiness follows the latest evidence about the upstream, from real sessions
// and probes alike; a probe runs only when none came for --readiness-interval.
void Proxy::record_upstream(bool ok, std::string problem) {
    upstream_ok_ = ok;
    upstream_problem_ = std::move(problem);
    last_upstream_evidence_ = now();
}

void Proxy::on_session_events(Connection& connection, const session::Actions& actions) {
    for (const session::SessionEvent& event : actions.events) on_session_event(connection, event);
}

void Proxy::on_session_event(Connection& connection, const session::SessionEvent& event) {
    using std::holds_alternative;
    const auto& s = connection.session();
    // Only for a line that is written (a temporary lives as long as the line's call).
    const auto id = [&connection] { return std::to_string(connection.id()); };
    if (holds_alternative<session::GreetingReceived>(event) && !tls_.upstream_verifies()) record_upstream(true, {});
    if (const auto* refused = std::get_if<session::UpstreamRefused>(&event)) {
        metrics_.upstream_refused(refused->error ? std::optional<std::uint16_t>(refused->error->code) : std::nullopt);
        record_upstream(false, refused->detail());
    }
    if (const auto* unreachable = std::get_if<session::UpstreamUnreachable>(&event)) {
        record_upstream(false, unreachable->detail());
    }
    if (connection.is_probe()) {
        // What the probe learnt about the upstream; its own client leaving is by design.
        if (std::string news = session::upstream_detail(event); !news.empty()) probe_note_ = std::move(news);
        return;
    }
    if (holds_alternative<session::LoginReceived>(event) || holds_alternative<session::ChangeUserAccepted>(event)) {
        const codec::Login& login = *s.login();
        if (holds_alternative<session::ChangeUserAccepted>(event)) {
            // COM_CHANGE_USER: admit() decides and charges the new identity, like a login.
            ledger_.reattributed(connection.account(), login, connection.peer(), now());
            log::info("session_reattributed", {{"id", id()}, {"client", connection.account().client_label()},
                                               {"user", login.user}, {"database", login_database(s)}});
        } else {
            ledger_.login_received(connection.account(), login, connection.peer());
        }
    }
    if (holds_alternative<session::Authenticated>(event)) {
        const bool slot_freed = ledger_.authenticated(connection.account(), gate_address(connection));
        const codec::Login& login = *s.login();
        if (log::enabled(log::Level::info)) log::info("session_opened", {{"id", id()},
                                     {"client", connection.account().client_label()},
                                     {"user", login.user},
                                     {"database", login_database(s)},
                                     {"peer", connection.peer()},
                                     {"upstream_thread_id", std::to_string(s.upstream_thread_id())}});
        if (slot_freed) admit_waiters();  // the slot goes to the oldest waiter that may have it
    }
    if (const auto* failed = std::get_if<session::AuthFailed>(&event)) {
        ledger_.auth_failed(connection.account());
        log::warn("auth_failed", {{"id", id()},
                                  {"client", connection.account().client_label()},
                                  {"user", s.login() != nullptr ? s.login()->user : std::string()},
                                  {"peer", connection.peer()},
                                  {"detail", failed->detail()}});
    } else if (const auto* desynced = std::get_if<session::Desynced>(&event)) {
        metrics_.desynced(desynced->category);
        log::warn("session_desynced", {{"id", id()}, {"client", connection.account().client_label()}, {"detail", desynced->detail()}});
    } else if (const std::string note = session::event_detail(event); !note.empty()) {
        // Refusals, an upstream unreachable or misbehaving, abandoned handshakes.
        log::info("session_note", {{"id", id()}, {"peer", connection.peer()}, {"phase", std::string(session::phase_name(s.phase()))},
                                   {"detail", note}});
    }
}

session::Admission Proxy::admit(Connection& connection) {
    const attribution::AdmissionVerdict verdict = ledger_.admit(connection.account());
    if (!verdict.allowed) log_rejection(connection, verdict);
    return ledger::admission_of(verdict);
}

// The address a connection's handshake slot is counted under: its IP (the
// peer it already keeps), or none on a unix socket.
const std::string& Proxy::gate_address(const Connection& connection) const {
    static const std::string none;
    return config_.listen.kind == config::Address::Kind::tcp ? connection.peer() : none;
}

// One line per client label and limit at most every 10 s (RejectionLogLimiter),
// naming the client as it resolved, before the label budget.
void Proxy::log_rejection(const Connection& connection, const attribution::AdmissionVerdict& verdict) {
    const ledger::SessionAccount& account = connection.account();
    const auto suppressed = rejection_logs_.line_due(account.client_label(), verdict.limit, now());
    if (!suppressed) return;
    log::warn("connection_rejected", {{"client", account.client()},
                                      {"label", account.client_label()},
                                      {"user", account.user()},
                                      {"limit", std::string(attribution::limit_name(verdict.limit))},
                                      {"peer", connection.peer()},
                                      {"suppressed", std::to_string(*suppressed)},
                                      {"detail", verdict.message}});
}

// An entry two windows past its last line carries nothing but what it
// suppressed: that is logged now, and the entry goes. (Within the second
// window the next refusal's line still reports the suppressed count itself.)
void Proxy::prune_rejection_logs(session::Clock::time_point t) {
    for (const auto& gone : rejection_logs_.prune(t)) {
        log::warn("connection_rejected_suppressed", {{"label", gone.label},
                                                     {"limit", std::string(attribution::limit_name(gone.limit))},
                                                     {"suppressed", std::to_string(gone.count)}});
    }
}

void Proxy::on_connection_finished(Connection* connection) {
    const auto& s = connection->session();
    if (connection->upstream_was_connected()) metrics_.upstream_closed();
    if (connection->is_probe()) {
        probe_ = nullptr;
        if (s.upstream_thread_id() == 0) {  // no greeting: the server is not there for us
            record_upstream(false, probe_note_.empty() ? "upstream sent no greeting" : probe_note_);
        }
        probe_note_.clear();
        delete connection;
        maybe_stop();
        return;
    }
    connections_.erase(connection->id());
    const auto reason = s.close_reason().value_or(session::CloseReason::client_closed);
    const double age = seconds_between(s.started_at(), now());
    const ledger::ClosedAccount closed =
        ledger_.closed(connection->account(), reason, age, gate_address(*connection), now());
    // Its server thread may still run the command tether closed the socket under.
    if (s.left_command_running()) kill_orphaned_query(*connection);
    // The line's fields are built only when it is written: a connection per
    // request (PHP, the pool-per-request incident) pays for them every time.
    if (log::enabled(log::Level::info)) log::info("session_closed", {{"id", std::to_string(connection->id())},
                                 {"reason", std::string(session::close_reason_name(reason))},
                                 {"client", connection->account().client_label()},
                                 {"user", s.login() != nullptr ? s.login()->user : std::string()},
                                 {"peer", connection->peer()},
                                 {"upstream_thread_id", std::to_string(s.upstream_thread_id())},
                                 {"age_seconds", fmt_seconds(age)},
                                 {"bytes_from_client", std::to_string(connection->bytes_from_client())},
                                 {"bytes_from_upstream", std::to_string(connection->bytes_from_upstream())},
                                 {"client_tls", tls_field(connection->client_tls_version())},
                                 {"upstream_tls", tls_field(connection->upstream_tls_version())},
                                 {"socket_error", connection->socket_error() != nullptr ? connection->socket_error() : ""}});
    delete connection;
    if (closed.handshake_slot_freed) admit_waiters();  // the slot goes to the oldest waiter that may have it
    maybe_stop();
}

void Proxy::tick_cb(uv_timer_t* timer) { static_cast<Proxy*>(timer->data)->on_tick(); }

void Proxy::on_tick() {
    const auto t = now();
    // Connections may finish (and be erased) while ticking: walk a snapshot of ids.
    std::vector<std::uint64_t> ids;
    ids.reserve(connections_.size());
    for (const auto& [id, c] : connections_) ids.push_back(id);
    expire_waiters(t);  // before the ticks: a slot freed by one of them must not go to an expired waiter
    for (auto id : ids) {
        auto it = connections_.find(id);
        if (it != connections_.end()) it->second->tick(t);
    }
    if (probe_ != nullptr) probe_->tick(t);
    monitor_.tick();
    check_server_reading(t);
    listener_.resume();  // if it paused for want of a descriptor
    if (t - last_scan_ >= std::chrono::seconds(1)) {
        last_scan_ = t;
        scan_sessions(t);
        prune_rejection_logs(t);
    }
    if (history_.due(t)) sample_history(t);
    if (shutting_down_) {
        if (!closing_all_ && t >= drain_deadline_) {
            log::info("shutdown_grace_over", {{"sessions", std::to_string(connections_.size())}});
            shutdown_now();
        }
        return;
    }
    if (t - last_tls_reload_ >= config_.tls.reload_interval) {
        last_tls_reload_ = t;
        tls_.reload(false);
    }
    if (t - last_sweep_ >= sweep_interval) {
        last_sweep_ = t;
        metrics_.sweep(t);
    }
    if (probe_ == nullptr && t - last_upstream_evidence_ >= config_.readiness_interval) start_probe();
}

void Proxy::start_probe() {
    // With a monitor user, readiness follows the monitor session: no refused
    // reserved-user login (an "Access denied" in the server's log) every interval.
    if (shutting_down_ || monitor_.configured()) return;
    last_upstream_evidence_ = now();
    probe_ = new Connection(*this, 0, session_config_);
    probe_->start_probe();
}

bool Proxy::ready() {
    const bool upstream_ok = monitor_.configured() ? monitor_.up() : upstream_ok_;
    return listening_ && !shutting_down_ && (upstream_ok || !config_.readyz_checks_upstream);
}

std::string Proxy::not_ready_reason() {
    if (shutting_down_) return "shutting down";
    if (!listening_) return "not listening";
    if (monitor_.configured()) return monitor_.problem().empty() ? "monitor session not up" : monitor_.problem();
    return upstream_problem_.empty() ? "upstream unreachable" : upstream_problem_;
}

std::string Proxy::metrics_text() {
    // The monitor's series only with a --monitor-user: nothing server-side otherwise.
    return monitor_.configured() ? metrics_.render() + monitor_.metrics_text() : metrics_.render();
}

// Proxy::connections (GET /connections) lives in connection_listing.cpp.

void Proxy::on_signal() {
    if (!shutting_down_) {
        drain();
    } else {
        shutdown_now();
    }
}

void Proxy::drain() {
    if (shutting_down_) return;
    shutting_down_ = true;
    drain_deadline_ = now() + config_.shutdown_grace;
    log::info("draining", {{"sessions", std::to_string(connections_.size())},
                           {"grace_seconds", fmt_seconds(std::chrono::duration<double>(config_.shutdown_grace).count())}});
    // New clients are refused by the kernel from here on; open sessions go on.
    listening_ = false;
    listener_.close();
    maybe_stop();
}

void Proxy::shutdown_now() {
    drain();
    if (closing_all_) return;
    closing_all_ = true;
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : connections_) ids.push_back(id);
    for (auto id : ids) {
        auto it = connections_.find(id);
        if (it != connections_.end()) it->second->close(session::CloseReason::shutdown);
    }
    maybe_stop();
}

bool Proxy::close_connection(std::uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return false;
    log::info("admin_close", {{"id", std::to_string(id)}});
    it->second->close(session::CloseReason::admin);
    return true;
}

void Proxy::maybe_stop() {
    // Probes finish on their own within the handshake timeout; the ticker
    // keeps enforcing it until everything is gone.
    if (stopped_ || !shutting_down_ || !connections_.empty() || probe_ != nullptr || kills_in_flight_ > 0) return;
    stopped_ = true;
    log::info("stopping", {});
    monitor_.stop();
    admin_.close();
    if (ticker_started_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&ticker_))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&ticker_), nullptr);
    }
    if (on_stopped_) on_stopped_();
}

}  // namespace tether::io
