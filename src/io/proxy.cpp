// Listener, janitor, readiness and shutdown (see proxy.hpp).
#include "tether/io/proxy.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <cassert>

#include "tether/io/keepalive.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds(250);
constexpr auto sweep_interval = std::chrono::seconds(10);
// At most one connection_rejected line per client label and limit in this window.
constexpr auto rejection_log_window = std::chrono::seconds(10);

double seconds_between(session::Clock::time_point from, session::Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

std::string fmt_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

// The client's IP (the `addr` label) and its port (to tell sessions apart in /connections).
std::pair<std::string, std::uint16_t> peer_address(uv_tcp_t* tcp) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {"unknown", 0};
    char text[INET6_ADDRSTRLEN] = {};
    std::uint16_t port = 0;
    if (storage.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        uv_ip4_name(in, text, sizeof text);
        port = ntohs(in->sin_port);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        uv_ip6_name(in6, text, sizeof text);
        port = ntohs(in6->sin6_port);
    }
    return {text, port};
}

std::string login_database(const session::Session& s) { return std::string(s.current_database()); }

}  // namespace

Proxy::Proxy(uv_loop_t* loop, const config::Config& config, metrics::Metrics& metrics)
    : loop_(loop),
      config_(config),
      metrics_(metrics),
      listener_(loop),
      admin_(loop, *this),
      read_buffer_(std::make_unique<std::array<char, 64 * 1024>>()),
      admission_({config.max_connections, config.max_connections_per_client, config.max_connections_per_user,
                  config.admin_users}),
      handshakes_({config.max_handshakes, config.max_handshakes_per_address}),
      handshake_queue_(config.max_handshake_queue) {
    idle_policy_.suspect_after = config.leak_idle_threshold;
    idle_policy_.idle_timeout = config.idle_timeout;
    idle_policy_.idle_in_transaction_timeout = config.idle_in_transaction_timeout;
    session_config_.reserved_user = config.reserved_user;
    session_config_.upstream_name = config.upstream.text;
    session_config_.handshake_timeout = config.handshake_timeout;
    session_config_.connect_timeout = config.connect_timeout;
    std::string error;
    auto rules = attribution::parse_label_rules(config.client_label, error);
    assert(rules && "validated by the command line");
    label_rules_ = rules ? *rules : std::vector<attribution::LabelRule>{};
}

session::Clock::time_point Proxy::now() const { return session::Clock::now(); }

uv_buf_t Proxy::read_buffer() { return uv_buf_init(read_buffer_->data(), static_cast<unsigned>(read_buffer_->size())); }

bool Proxy::start() {
    const auto& listen = config_.listen;
    listening_ = true;
    int rc = listener_.start(
        listen, [this](int fd) { on_accept(fd); }, [this](int error, bool refused) { on_accept_error(error, refused); });
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
    start_probe();
    return true;
}

void Proxy::on_accept(int fd) {
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
        uv_tcp_nodelay(&client.uv.tcp, 1);
        enable_keepalive(&client.uv.tcp, config_.client_keepalive);
        std::tie(peer, port) = peer_address(&client.uv.tcp);
    }
    connection->set_peer_port(port);
    connections_.emplace(connection->id(), connection);
    log::debug("accepted", {{"id", std::to_string(connection->id())}, {"peer", peer}});
    // Before any server connection is made: a client that never logs in must
    // not hold one of the server's slots beyond the cap.
    const std::string address = config_.listen.kind == config::Address::Kind::tcp ? peer : std::string();
    const attribution::AdmissionVerdict verdict = handshakes_.decide(address);
    if (!verdict.allowed) return wait_for_handshake_slot(*connection, std::move(peer), address, verdict);
    handshakes_.enter(address);
    connection->in_handshake_ = true;
    connection->start_with_client(std::move(peer));
}

// Out of file descriptors (or another accept failure): counted, logged at
// most once a window with how many more there were; the Listener has answered
// the waiting client or paused until the next tick.
void Proxy::on_accept_error(int uv_error, bool refused) {
    metrics_.accept_failed(uv_err_name(uv_error));
    const auto t = now();
    if (last_accept_error_log_ != session::Clock::time_point{} && t - last_accept_error_log_ < rejection_log_window) {
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
    const std::string id = std::to_string(connection.id());
    if (holds_alternative<session::GreetingReceived>(event)) record_upstream(true, {});
    if (const auto* refused = std::get_if<session::UpstreamRefused>(&event)) {
        metrics_.upstream_refused();
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
        const std::string client = attribution::resolve_client_label(label_rules_, login, connection.peer());
        const std::string user = attribution::clean_label_value(login.user);
        metrics::SessionLabels old = connection.labels_;
        const bool had = connection.has_labels_;
        connection.labels_ = metrics_.hold_labels(client, user);
        connection.has_labels_ = true;
        const std::string old_client_key = connection.client_key_;
        const std::string old_user_key = connection.user_key_;
        connection.client_key_ = client;
        connection.user_key_ = login.user;
        if (connection.charged_) {
            // COM_CHANGE_USER: the old identity's charge goes; the new one is
            // admitted (and charged, unless an admin user) by admit(), like a login.
            admission_.release(old_client_key, old_user_key);
            connection.charged_ = false;
        }
        if (had) {
            // COM_CHANGE_USER: the open session moves to its new labels.
            if (connection.counted_open_) {
                metrics_.session_ended_open(old);
                metrics_.session_opened(connection.labels_);
            }
            metrics_.release_labels(old, now());
            log::info("session_reattributed", {{"id", id}, {"client", connection.labels_.client},
                                               {"user", login.user}, {"database", login_database(s)}});
        }
    }
    if (holds_alternative<session::Authenticated>(event)) {
        leave_handshake(connection);
        connection.counted_open_ = true;
        metrics_.session_opened(connection.labels_);
        const codec::Login& login = *s.login();
        log::info("session_opened", {{"id", id},
                                     {"client", connection.labels_.client},
                                     {"user", login.user},
                                     {"database", login_database(s)},
                                     {"peer", connection.peer()},
                                     {"upstream_thread_id", std::to_string(s.upstream_thread_id())}});
    }
    if (const auto* failed = std::get_if<session::AuthFailed>(&event)) {
        metrics_.auth_failed(connection.labels_);
        log::warn("auth_failed", {{"id", id},
                                  {"client", connection.labels_.client},
                                  {"user", s.login() != nullptr ? s.login()->user : std::string()},
                                  {"peer", connection.peer()},
                                  {"detail", failed->detail()}});
    } else if (const auto* desynced = std::get_if<session::Desynced>(&event)) {
        metrics_.desynced(desynced->category);
        log::warn("session_desynced", {{"id", id}, {"client", connection.labels_.client}, {"detail", desynced->detail()}});
    } else if (const std::string note = session::event_detail(event); !note.empty()) {
        // Refusals, an upstream unreachable or misbehaving, abandoned handshakes.
        log::info("session_note", {{"id", id}, {"peer", connection.peer()}, {"phase", std::string(session::phase_name(s.phase()))},
                                   {"detail", note}});
    }
}

session::Admission Proxy::admit(Connection& connection) {
    const attribution::AdmissionVerdict verdict = admission_.decide(connection.client_key_, connection.user_key_);
    if (!verdict.allowed) {
        metrics_.rejected(connection.labels_, attribution::limit_name(verdict.limit));
        log_rejection(connection, verdict);
        return session::Admission::refuse(verdict.error_code, verdict.sql_state, verdict.message);
    }
    if (!verdict.admin) {
        admission_.charge(connection.client_key_, connection.user_key_);
        connection.charged_ = true;
    }
    return session::Admission::allow();
}

// The address a connection's handshake slot is counted under: its IP (the
// peer it already keeps), or none on a unix socket.
const std::string& Proxy::gate_address(const Connection& connection) const {
    static const std::string none;
    return config_.listen.kind == config::Address::Kind::tcp ? connection.peer() : none;
}

void Proxy::leave_handshake(Connection& connection) {
    if (!connection.in_handshake_) return;
    connection.in_handshake_ = false;
    handshakes_.leave(gate_address(connection));
    admit_waiters();  // the slot goes to the oldest waiter that may have it
}

// One line per client label and limit at most every 10 s: a pool that retries
// in a loop must not flood the log, but its name must be in it. Keyed by the
// metrics label, not the raw name the client chose: 100,000 made-up names
// share "_other", one line and one entry.
void Proxy::log_rejection(const Connection& connection, const attribution::AdmissionVerdict& verdict) {
    const auto t = now();
    const std::string& label = connection.has_labels_ ? connection.labels_.client : std::string();
    auto& entry = rejection_logs_[{label, verdict.limit}];
    if (entry.last != session::Clock::time_point{} && t - entry.last < rejection_log_window) {
        ++entry.suppressed;
        return;
    }
    log::warn("connection_rejected", {{"client", connection.client_key_},
                                      {"label", label},
                                      {"user", connection.user_key_},
                                      {"limit", std::string(attribution::limit_name(verdict.limit))},
                                      {"peer", connection.peer()},
                                      {"suppressed", std::to_string(entry.suppressed)},
                                      {"detail", verdict.message}});
    entry.last = t;
    entry.suppressed = 0;
}

// An entry two windows past its last line carries nothing but what it
// suppressed: that is logged now, and the entry goes. (Within the second
// window the next refusal's line still reports the suppressed count itself.)
void Proxy::prune_rejection_logs(session::Clock::time_point t) {
    for (auto it = rejection_logs_.begin(); it != rejection_logs_.end();) {
        if (t - it->second.last < 2 * rejection_log_window) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) {
            log::warn("connection_rejected_suppressed", {{"label", it->first.first},
                                                         {"limit", std::string(attribution::limit_name(it->first.second))},
                                                         {"suppressed", std::to_string(it->second.suppressed)}});
        }
        it = rejection_logs_.erase(it);
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
    leave_handshake(*connection);
    const auto reason = s.close_reason().value_or(session::CloseReason::client_closed);
    const double age = seconds_between(s.started_at(), now());
    metrics_.session_closed(reason, age);
    if (connection->counted_open()) {
        metrics_.session_ended_open(connection->labels_);
        // The incident this proxy exists for: a client vanished and left its
        // server connection behind. tether closed it; count it.
        if (reason == session::CloseReason::client_closed) metrics_.orphan_closed();
    }
    if (connection->has_labels_) metrics_.release_labels(connection->labels_, now());
    if (connection->charged_) admission_.release(connection->client_key_, connection->user_key_);
    log::info("session_closed", {{"id", std::to_string(connection->id())},
                                 {"reason", std::string(session::close_reason_name(reason))},
                                 {"client", connection->has_labels_ ? connection->labels_.client : std::string()},
                                 {"user", s.login() != nullptr ? s.login()->user : std::string()},
                                 {"peer", connection->peer()},
                                 {"upstream_thread_id", std::to_string(s.upstream_thread_id())},
                                 {"age_seconds", fmt_seconds(age)},
                                 {"bytes_from_client", std::to_string(connection->bytes_from_client())},
                                 {"bytes_from_upstream", std::to_string(connection->bytes_from_upstream())},
                                 {"socket_error", connection->socket_error() != nullptr ? connection->socket_error() : ""}});
    delete connection;
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
    listener_.resume();  // if it paused for want of a descriptor
    if (t - last_scan_ >= std::chrono::seconds(1)) {
        last_scan_ = t;
        scan_sessions(t);
        prune_rejection_logs(t);
    }
    if (shutting_down_) {
        if (!closing_all_ && t >= drain_deadline_) {
            log::info("shutdown_grace_over", {{"sessions", std::to_string(connections_.size())}});
            shutdown_now();
        }
        return;
    }
    if (t - last_sweep_ >= sweep_interval) {
        last_sweep_ = t;
        metrics_.sweep(t);
    }
    if (probe_ == nullptr && t - last_upstream_evidence_ >= config_.readiness_interval) start_probe();
}

void Proxy::start_probe() {
    if (shutting_down_) return;
    last_upstream_evidence_ = now();
    probe_ = new Connection(*this, 0, session_config_);
    probe_->start_probe();
}

bool Proxy::ready() { return listening_ && !shutting_down_ && upstream_ok_; }

std::string Proxy::not_ready_reason() {
    if (shutting_down_) return "shutting down";
    if (!listening_) return "not listening";
    return upstream_problem_.empty() ? "upstream unreachable" : upstream_problem_;
}

std::string Proxy::metrics_text() { return metrics_.render(); }

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
    if (stopped_ || !shutting_down_ || !connections_.empty() || probe_ != nullptr) return;
    stopped_ = true;
    log::info("stopping", {});
    admin_.close();
    if (ticker_started_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&ticker_))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&ticker_), nullptr);
    }
    if (on_stopped_) on_stopped_();
}

}  // namespace tether::io
