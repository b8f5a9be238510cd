// The monitor's session to the server (see monitor_link.hpp): its life
// (start, stop), the status reads, requests, reconnects and the ticker. The
// socket side (connect, bytes, TLS) is in monitor_link_socket.cpp.
#include "tether/io/monitor_link.hpp"

#include <unistd.h>

#include <algorithm>

#include "monitor_link_attempt.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

using namespace monitor_link_detail;

MonitorLink::MonitorLink(uv_loop_t* loop, const config::Config& config, const TlsSetup& tls)
    : loop_(loop),
      config_(config),
      tls_(tls),
      jitter_(static_cast<std::minstd_rand::result_type>(::getpid()) ^
              static_cast<std::minstd_rand::result_type>(uv_hrtime())) {}

MonitorLink::~MonitorLink() {
    // The loop has ended: every handle's close callback ran (stop() closed them).
    if (resolve_ != nullptr) resolve_->link = nullptr;
    if (attempt_ != nullptr) attempt_->link = nullptr;
}

bool MonitorLink::configured() const { return config_.monitor.configured(); }
bool MonitorLink::up() const { return up_; }
const ServerState& MonitorLink::server_state() const { return state_; }

session::Clock::time_point MonitorLink::now() const {
    return session::Clock::time_point(std::chrono::milliseconds(uv_now(loop_)));
}

monitor::MonitorSettings MonitorLink::settings() const {
    monitor::MonitorSettings s;
    s.user = config_.monitor.user;
    if (password_) s.password = password_->current();
    s.reserved_user = config_.reserved_user;
    if (!tls_.client() || config_.upstream.kind != config::Address::Kind::tcp) {
        s.tls = monitor::TlsWish::disabled;
    } else {
        s.tls = tls_.upstream_mode() == session::UpstreamTls::preferred ? monitor::TlsWish::preferred
                                                                        : monitor::TlsWish::required;
    }
    return s;
}

void MonitorLink::start() {
    if (!configured() || started_) return;
    started_ = true;
    next_password_check_ = now() + password_check_interval;
    log::info("monitor_starting", {{"user", config_.monitor.user}, {"upstream", config_.upstream.text},
                                   {"interval", seconds_text(config_.monitor.interval)}});
    begin_attempt();
}

void MonitorLink::stop() {
    if (stopped_) return;
    stopped_ = true;
    up_ = false;
    metrics_.set_up(false);
    fail_requests("tether is stopping", true);
    if (resolve_ != nullptr) {
        uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->req));
        resolve_->link = nullptr;  // its callback frees it
        resolve_ = nullptr;
    }
    // Earlier attempts still writing their last packet: the loop is ending, they close now.
    const auto lingering = lingering_;
    for (Attempt* attempt : lingering) {
        if (attempt->closing) continue;
        attempt->closing = true;
        uv_close(&attempt->uv.handle, &MonitorLink::close_cb);
    }
    if (attempt_ != nullptr) {
        Attempt& attempt = *attempt_;
        attempt_ = nullptr;
        attempt.link = nullptr;
        if (attempt.session.ready()) {
            // A clean COM_QUIT (no Aborted_clients), handed to the kernel now
            // or not at all: nothing may hold the loop open at exit.
            monitor::MonitorOutput out;
            attempt.session.quit(out);
            write_now(attempt, out.to_server);
        }
        if (!attempt.closing) {
            attempt.closing = true;
            uv_close(&attempt.uv.handle, &MonitorLink::close_cb);
        }
    }
}

// Best effort and synchronous (uv_try_write): the plaintext, through TLS and
// followed by close_notify when the leg has it.
void MonitorLink::write_now(Attempt& attempt, codec::Bytes plaintext) {
    if (!attempt.connected || attempt.closing || attempt.pending_writes > 0) return;
    std::vector<std::byte> wire;
    if (!attempt.tls) {
        wire.assign(plaintext.begin(), plaintext.end());
    } else if (attempt.tls->state() == tls::Engine::State::open) {
        attempt.tls->write({reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size()});
        attempt.tls->shutdown();
        std::array<std::uint8_t, 1024> chunk{};
        while (attempt.tls->pending_ciphertext() > 0) {
            const std::size_t n = attempt.tls->take_ciphertext(chunk);
            if (n == 0) break;
            wire.insert(wire.end(), reinterpret_cast<const std::byte*>(chunk.data()),
                        reinterpret_cast<const std::byte*>(chunk.data()) + n);
        }
    }
    if (wire.empty()) return;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(wire.data()), static_cast<unsigned>(wire.size()));
    (void)uv_try_write(&attempt.uv.stream, &buf, 1);
}

// -- outcomes --------------------------------------------------------------------------

void MonitorLink::on_logged_in(Attempt& attempt) {
    ++logins_;
    attempt.deadline = session::Clock::time_point::max();
    log::debug("monitor_logged_in", {{"user", config_.monitor.user},
                                     {"server_version", std::string(attempt.session.server_version())},
                                     {"thread_id", std::to_string(attempt.session.thread_id())},
                                     {"tls", attempt.session.tls_negotiated() && attempt.tls
                                                 ? std::string(attempt.tls->version()) : std::string("off")}});
    start_read();  // at once: the first figures, and the evidence that it answers
}

// The session ended (or never began): everything in flight fails, the next
// attempt comes after the backoff, and the log hears of it when the outcome changed.
void MonitorLink::attempt_failed(Attempt* attempt, monitor::MonitorFailure failure) {
    if (attempt != nullptr) close_attempt(*attempt);
    const bool was_up = up_;
    up_ = false;
    read_in_flight_ = false;
    metrics_.set_up(false);
    problem_ = "monitor session: " + failure.message;
    fail_requests("the monitor session ended before the answer: " + failure.message, false);
    if (stopped_) return;
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
        backoff_ * (0.8 + 0.4 * std::uniform_real_distribution<double>(0, 1)(jitter_)));
    next_attempt_at_ = now() + delay;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(max_backoff));
    const std::string outcome = std::string(monitor::failure_kind_name(failure.kind)) + ": " + failure.message;
    if (outcome != last_logged_failure_ || was_up) {
        last_logged_failure_ = outcome;
        logged_up_ = false;
        log::warn("monitor_down", {{"user", config_.monitor.user},
                                   {"reason", std::string(monitor::failure_kind_name(failure.kind))},
                                   {"error_code", std::to_string(failure.error_code)},
                                   {"detail", failure.message},
                                   {"retry_in", seconds_text(delay)}});
    } else {
        log::debug("monitor_retry_failed", {{"reason", std::string(monitor::failure_kind_name(failure.kind))},
                                            {"retry_in", seconds_text(delay)}});
    }
}

void MonitorLink::start_read() {
    if (read_in_flight_ || attempt_ == nullptr) return;
    read_in_flight_ = true;
    next_read_at_ = now() + config_.monitor.interval;
    reading_ = {};
    submit({std::string(monitor::global_status_query),
            [this](const monitor::QueryResult& result) {
                std::string error;
                if (!result.ok) return on_read_done(false, "SHOW GLOBAL STATUS: " + result.error);
                if (!monitor::read_global_status(result.rows, reading_, error)) return on_read_done(false, error);
            },
            now(), true});
    submit({std::string(monitor::connection_limits_query),
            [this](const monitor::QueryResult& result) {
                std::string error;
                if (!read_in_flight_) return;  // the status read already failed
                if (!result.ok) return on_read_done(false, "SELECT @@max_connections: " + result.error);
                if (!monitor::read_connection_limits(result.rows, reading_, error)) return on_read_done(false, error);
                on_read_done(true, {});
            },
            now(), true});
}

void MonitorLink::on_read_done(bool ok, std::string error) {
    if (!read_in_flight_) return;
    read_in_flight_ = false;
    if (!ok) {
        // Not what a server says to anyone: the link is not worth keeping.
        if (attempt_ != nullptr) attempt_failed(attempt_, {monitor::MonitorFailure::Kind::protocol, 0, error});
        return;
    }
    state_.known = true;
    state_.threads_connected = reading_.threads_connected;
    state_.max_connections = reading_.max_connections;
    state_.max_user_connections = reading_.max_user_connections;
    state_.aborted_clients = reading_.aborted_clients;
    state_.aborted_connects = reading_.aborted_connects;
    state_.read_at = now();
    metrics_.set_figures({state_.threads_connected, state_.max_connections, state_.aborted_clients, state_.aborted_connects});
    metrics_.set_up(true);
    backoff_ = initial_backoff;
    if (!up_) {
        up_ = true;
        problem_.clear();
        if (!logged_up_) {
            logged_up_ = true;
            last_logged_failure_.clear();
            log::info("monitor_up", {{"user", config_.monitor.user},
                                     {"server_version", attempt_ ? std::string(attempt_->session.server_version()) : ""},
                                     {"thread_id", attempt_ ? std::to_string(attempt_->session.thread_id()) : "0"},
                                     {"tls", attempt_ && attempt_->tls ? std::string(attempt_->tls->version()) : "off"},
                                     {"threads_connected", std::to_string(state_.threads_connected)},
                                     {"max_connections", std::to_string(state_.max_connections)}});
        }
    }
    // A copy: a callback may add another.
    const auto callbacks = state_callbacks_;
    for (const auto& callback : callbacks) callback(state_);
}

// -- requests --------------------------------------------------------------------------

void MonitorLink::submit(Request request) {
    queue_.push_back(std::move(request));
    pump();
}

void MonitorLink::pump() {
    if (in_flight_ || queue_.empty() || attempt_ == nullptr || attempt_->closing || !attempt_->session.ready()) return;
    Attempt& attempt = *attempt_;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    attempt.deadline = now() + answer_limit;
    monitor::MonitorOutput out;
    attempt.session.send_query(in_flight_->sql, out);
    apply(attempt, out);
}

void MonitorLink::kill(std::uint32_t thread_id, KillDone done) {
    submit_external("KILL " + std::to_string(thread_id), [done = std::move(done)](const monitor::QueryResult& result) {
        done(result.ok, result.error_code, result.error);
    });
}

void MonitorLink::query(std::string sql, std::function<void(bool ok, const Rows& rows, std::string error)> done) {
    submit_external(std::move(sql), [done = std::move(done)](const monitor::QueryResult& result) {
        done(result.ok, result.rows, result.error);
    });
}

// A request from elsewhere in tether. Answered at once, inside this call,
// when no monitor is configured, it has stopped, or max_queued wait already.
void MonitorLink::submit_external(std::string sql, std::function<void(const monitor::QueryResult&)> done) {
    monitor::QueryResult refused;
    if (!configured() || stopped_) {
        refused.error = configured() ? "tether is stopping" : "no --monitor-user is configured";
    } else if (external_waiting_ >= max_queued) {
        refused.error = "the monitor session's queue is full (" + std::to_string(max_queued) + " requests)";
    }
    if (!refused.error.empty()) {
        done(refused);
        return;
    }
    ++external_waiting_;
    submit({std::move(sql), std::move(done), now(), false});
}

void MonitorLink::on_server_state(std::function<void(const ServerState&)> callback) {
    state_callbacks_.push_back(std::move(callback));
}

void MonitorLink::fail_requests(const std::string& why, bool include_queued) {
    std::vector<Request> failed;
    if (in_flight_) {
        failed.push_back(std::move(*in_flight_));
        in_flight_.reset();
    }
    std::deque<Request> kept;
    for (auto& request : queue_) {
        if (include_queued || request.internal) {
            failed.push_back(std::move(request));
        } else {
            kept.push_back(std::move(request));
        }
    }
    queue_ = std::move(kept);
    monitor::QueryResult result;
    result.error = why;
    for (auto& request : failed) {
        if (request.internal) continue;
        --external_waiting_;
        request.done(result);
    }
}

void MonitorLink::expire_requests(session::Clock::time_point t) {
    if (up_) return;
    std::vector<Request> expired;
    std::deque<Request> kept;
    for (auto& request : queue_) {
        if (!request.internal && t - request.queued_at >= request_wait_limit) {
            expired.push_back(std::move(request));
        } else {
            kept.push_back(std::move(request));
        }
    }
    queue_ = std::move(kept);
    monitor::QueryResult result;
    result.error = "the monitor session is not up: " + problem_;
    for (auto& request : expired) {
        --external_waiting_;
        request.done(result);
    }
}

// -- the ticker ------------------------------------------------------------------------

void MonitorLink::tick() {
    if (!started_ || stopped_) return;
    const auto t = now();
    check_password(t);
    expire_requests(t);
    if (attempt_ != nullptr && t >= attempt_->deadline) {
        const char* what = !attempt_->connected          ? "the connect did not complete within --connect-timeout"
                           : !attempt_->session.ready() && !in_flight_ ? "the login did not complete within --handshake-timeout"
                                                                     : "the server did not answer a query within 10s";
        attempt_failed(attempt_, {monitor::MonitorFailure::Kind::closed, 0, what});
        return;
    }
    if (attempt_ == nullptr && resolve_ == nullptr && t >= next_attempt_at_) {
        begin_attempt();
        return;
    }
    if (attempt_ != nullptr && attempt_->session.ready() && !read_in_flight_ && t >= next_read_at_) start_read();
}

void MonitorLink::check_password(session::Clock::time_point t) {
    if (!password_ || !password_->from_file() || t < next_password_check_) return;
    next_password_check_ = t + password_check_interval;
    std::string error;
    const bool changed = password_->reload_if_changed(error);
    if (!error.empty()) {
        if (error != last_password_error_) log::warn("monitor_password_unreadable", {{"detail", error}, {"kept", "the previous password"}});
        last_password_error_ = error;
        return;
    }
    last_password_error_.clear();
    if (!changed) return;
    log::info("monitor_password_changed", {{"file", config_.monitor.password_file}});
    // A session that is logged in stays; one that is failing tries the new password now.
    if (!up_ && attempt_ == nullptr && resolve_ == nullptr) {
        next_attempt_at_ = t;
        backoff_ = initial_backoff;
    }
}

}  // namespace tether::io
