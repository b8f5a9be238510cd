// The monitor's connection to the server (see monitor_link.hpp): connect,
// TLS, the session's bytes, the status reads, requests and reconnects.
#include "tether/io/monitor_link.hpp"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "tether/tls/engine.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

constexpr auto initial_backoff = std::chrono::milliseconds(1000);
constexpr auto max_backoff = std::chrono::milliseconds(30'000);
// A request waits this long for a link that is down, then is answered with an error.
constexpr auto request_wait_limit = std::chrono::seconds(10);
// The server must answer a query within this (a KILL or a status read takes milliseconds).
constexpr auto answer_limit = std::chrono::seconds(10);
constexpr auto password_check_interval = std::chrono::seconds(2);
constexpr std::size_t tls_plaintext_size = 16 * 1024;
constexpr std::size_t tls_ciphertext_size = 64 * 1024;

std::string uv_message(int status) { return std::string(uv_strerror(status)) + " (" + uv_err_name(status) + ")"; }

std::string address_text(const sockaddr_storage& storage) {
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET6) {
        uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage), text, sizeof text);
        return std::string("[") + text + "]";
    }
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage), text, sizeof text);
    return text;
}

std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + "s";
}

}  // namespace

// One connection to the server: its handle (at a stable heap address until
// its close callback, which deletes it), the TLS engine and the session.
struct MonitorLink::Attempt {
    explicit Attempt(MonitorLink* owner_link, monitor::MonitorSettings settings)
        : link(owner_link), owner(owner_link), session(std::move(settings)) {}
    MonitorLink* link;   // null once abandoned: its callbacks only clean up
    MonitorLink* owner;  // never null: the link outlives every handle (the loop ends first)
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } uv{};
    uv_connect_t connect{};
    bool connected = false;
    bool closing = false;
    bool close_after_write = false;
    int pending_writes = 0;
    std::string address;  // for the log
    session::Clock::time_point deadline{};  // the connect and login, or the answer in flight, must end by then
    std::unique_ptr<tls::Engine> tls;
    monitor::MonitorSession session;
};

struct MonitorLink::Resolve {
    MonitorLink* link;
    uv_getaddrinfo_t req{};
};

// A write's bytes live here until its callback; wiped then (a login or a
// password sent inside TLS passes through them).
struct MonitorLink::WriteRequest {
    uv_write_t req{};
    Attempt* attempt = nullptr;
    std::vector<std::byte> bytes;
    ~WriteRequest() {
        if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    }
};

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

// -- connecting ------------------------------------------------------------------------

void MonitorLink::begin_attempt() {
    if (stopped_ || attempt_ != nullptr || resolve_ != nullptr) return;
    ++attempts_;
    const auto& address = config_.upstream;
    addresses_.clear();
    next_address_ = 0;
    address_failures_.clear();
    if (address.kind == config::Address::Kind::unix_socket) {
        auto* attempt = new Attempt(this, settings());
        attempt_ = attempt;
        attempt->address = address.text;
        attempt->deadline = now() + config_.connect_timeout;
        uv_pipe_init(loop_, &attempt->uv.pipe, 0);
        attempt->uv.handle.data = attempt;
        attempt->connect.data = attempt;
        uv_pipe_connect(&attempt->connect, &attempt->uv.pipe, address.path.c_str(), &MonitorLink::connect_cb);
        return;
    }
    sockaddr_storage literal{};
    if (uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&literal)) == 0 ||
        uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&literal)) == 0) {
        addresses_.push_back(literal);
        connect_next();
        return;
    }
    // A name: resolved on every attempt (Kubernetes service addresses move).
    auto* resolve = new Resolve{this};
    resolve->req.data = resolve;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string port = std::to_string(address.port);
    const int rc = uv_getaddrinfo(loop_, &resolve->req, &MonitorLink::resolve_cb, address.host.c_str(), port.c_str(), &hints);
    if (rc != 0) {
        delete resolve;
        attempt_failed(nullptr, {monitor::MonitorFailure::Kind::closed, 0,
                                 "cannot resolve " + address.host + ": " + uv_message(rc)});
        return;
    }
    resolve_ = resolve;
}

void MonitorLink::resolve_cb(uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* resolve = static_cast<Resolve*>(req->data);
    MonitorLink* link = resolve->link;
    delete resolve;
    if (link == nullptr) {
        uv_freeaddrinfo(result);
        return;
    }
    link->resolve_ = nullptr;
    link->on_resolved(status, result);
}

void MonitorLink::on_resolved(int status, addrinfo* result) {
    if (status != 0 || result == nullptr) {
        uv_freeaddrinfo(result);
        attempt_failed(nullptr, {monitor::MonitorFailure::Kind::closed, 0,
                                 "cannot resolve " + config_.upstream.host + ": " + uv_message(status)});
        return;
    }
    for (const addrinfo* a = result; a != nullptr; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
        sockaddr_storage storage{};
        std::memcpy(&storage, a->ai_addr, a->ai_addrlen);
        addresses_.push_back(storage);
    }
    uv_freeaddrinfo(result);
    connect_next();
}

// The next resolved address (after the previous one failed), or the attempt's failure.
void MonitorLink::connect_next() {
    if (next_address_ >= addresses_.size()) {
        attempt_failed(nullptr, {monitor::MonitorFailure::Kind::closed, 0,
                                 addresses_.empty() ? "no address for " + config_.upstream.host
                                                    : "cannot connect to " + config_.upstream.text + ": " + address_failures_});
        return;
    }
    const sockaddr_storage& address = addresses_[next_address_++];
    connect_to(reinterpret_cast<const sockaddr*>(&address), address_text(address));
}

void MonitorLink::connect_to(const sockaddr* address, std::string text) {
    auto* attempt = new Attempt(this, settings());
    attempt_ = attempt;
    attempt->address = std::move(text);
    attempt->deadline = now() + config_.connect_timeout;
    uv_tcp_init(loop_, &attempt->uv.tcp);
    attempt->uv.handle.data = attempt;
    attempt->connect.data = attempt;
    uv_tcp_nodelay(&attempt->uv.tcp, 1);
    const int rc = uv_tcp_connect(&attempt->connect, &attempt->uv.tcp, address, &MonitorLink::connect_cb);
    if (rc != 0) on_connected(*attempt, rc);
}

void MonitorLink::connect_cb(uv_connect_t* req, int status) {
    auto* attempt = static_cast<Attempt*>(req->data);
    if (attempt->link == nullptr || attempt->closing) return;
    attempt->link->on_connected(*attempt, status);
}

void MonitorLink::on_connected(Attempt& attempt, int status) {
    if (status != 0) {
        const std::string why = attempt.address + ": " + uv_message(status);
        address_failures_ = address_failures_.empty() ? why : address_failures_ + "; " + why;
        attempt.link = nullptr;
        close_attempt(attempt);
        attempt_ = nullptr;
        if (config_.upstream.kind == config::Address::Kind::unix_socket) {
            attempt_failed(nullptr, {monitor::MonitorFailure::Kind::closed, 0,
                                     "cannot connect to " + config_.upstream.text + ": " + uv_message(status)});
            return;
        }
        connect_next();
        return;
    }
    attempt.connected = true;
    // The greeting and the login must come within the handshake timeout, as a client's.
    attempt.deadline = now() + config_.handshake_timeout;
    const int rc = uv_read_start(&attempt.uv.stream, &MonitorLink::alloc_cb, &MonitorLink::read_cb);
    if (rc != 0) attempt_failed(&attempt, {monitor::MonitorFailure::Kind::closed, 0, "cannot read: " + uv_message(rc)});
}

// -- bytes -----------------------------------------------------------------------------

void MonitorLink::alloc_cb(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* attempt = static_cast<Attempt*>(handle->data);
    MonitorLink* link = attempt->link;
    if (link == nullptr) {
        *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS; the handle is closing anyway
        return;
    }
    if (!link->read_buffer_) link->read_buffer_ = std::make_unique<std::array<char, 16 * 1024>>();
    *buf = uv_buf_init(link->read_buffer_->data(), static_cast<unsigned>(link->read_buffer_->size()));
}

void MonitorLink::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* attempt = static_cast<Attempt*>(stream->data);
    if (attempt->link == nullptr || attempt->closing) return;
    attempt->link->on_read(*attempt, nread, buf);
}

void MonitorLink::on_read(Attempt& attempt, ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0) return;
    if (nread < 0) {
        monitor::MonitorOutput out;
        attempt.session.on_closed(nread == UV_EOF ? std::string_view() : uv_err_name(static_cast<int>(nread)), out);
        apply(attempt, out);
        return;
    }
    const codec::Bytes bytes(reinterpret_cast<const std::byte*>(buf->base), static_cast<std::size_t>(nread));
    if (attempt.tls) return feed_tls(attempt, bytes);
    monitor::MonitorOutput out;
    attempt.session.on_server_bytes(bytes, out);
    apply(attempt, out);
}

void MonitorLink::feed_tls(Attempt& attempt, codec::Bytes ciphertext) {
    attempt.tls->feed({reinterpret_cast<const std::uint8_t*>(ciphertext.data()), ciphertext.size()});
    if (attempt.tls->state() == tls::Engine::State::handshaking) {
        const auto state = attempt.tls->handshake();
        flush_tls(attempt);
        if (state == tls::Engine::State::handshaking) return;
        monitor::MonitorOutput out;
        if (state == tls::Engine::State::failed) {
            const tls::Failure& failure = attempt.tls->failure();
            attempt.session.on_tls_failed(std::string(tls::format_failure_reason(failure.reason)) + ": " + failure.detail,
                                          false, out);
        } else if (const auto& rejection = attempt.tls->peer_rejection()) {
            // Completed, not trusted: the session ends the login with the reserved user, no secret.
            attempt.session.on_tls_failed(std::string(tls::format_failure_reason(rejection->reason)) + ": " + rejection->detail,
                                          true, out);
        } else {
            attempt.session.on_tls_ready(out);
        }
        apply(attempt, out);
        if (attempt.closing || attempt.link == nullptr) return;
    }
    deliver_plaintext(attempt);
}

void MonitorLink::deliver_plaintext(Attempt& attempt) {
    if (!tls_buffer_) tls_buffer_ = std::make_unique<std::uint8_t[]>(tls_plaintext_size + tls_ciphertext_size);
    const std::span<std::uint8_t> buffer(tls_buffer_.get(), tls_plaintext_size);
    while (!attempt.closing && attempt.link != nullptr && attempt.tls) {
        const std::size_t n = attempt.tls->read(buffer);
        flush_tls(attempt);
        if (n == 0) break;
        monitor::MonitorOutput out;
        attempt.session.on_server_bytes(codec::Bytes(reinterpret_cast<const std::byte*>(buffer.data()), n), out);
        apply(attempt, out);
    }
    if (attempt.closing || attempt.link == nullptr || !attempt.tls) return;
    const auto state = attempt.tls->state();
    if (state == tls::Engine::State::peer_closed || state == tls::Engine::State::failed) {
        monitor::MonitorOutput out;
        attempt.session.on_closed(state == tls::Engine::State::failed ? "TLS error" : "TLS close_notify", out);
        apply(attempt, out);
    }
}

// What the session asked for: bytes, TLS, the login's end, answers, the end.
void MonitorLink::apply(Attempt& attempt, monitor::MonitorOutput& out) {
    if (!out.to_server.empty()) write(attempt, out.to_server);
    if (!out.to_server.empty()) OPENSSL_cleanse(out.to_server.data(), out.to_server.size());
    if (out.start_tls && !attempt.closing) {
        attempt.tls = tls_.client() ? tls::Engine::client(tls_.client()) : nullptr;
        if (!attempt.tls) {
            monitor::MonitorOutput failed;
            attempt.session.on_tls_failed("no TLS session could be made", false, failed);
            return apply(attempt, failed);
        }
        attempt.tls->handshake();  // the ClientHello
        flush_tls(attempt);
    }
    if (out.logged_in) on_logged_in(attempt);
    for (auto& result : out.results) {
        attempt.deadline = session::Clock::time_point::max();
        if (!in_flight_) continue;
        Request request = std::move(*in_flight_);
        in_flight_.reset();
        if (!request.internal) --external_waiting_;
        request.done(result);
        if (attempt_ != &attempt || attempt.closing) return;  // the callback stopped the link
    }
    if (out.failure) {
        attempt_failed(&attempt, std::move(*out.failure));
        return;
    }
    if (out.close) {
        close_attempt(attempt);
        return;
    }
    pump();
}

void MonitorLink::write(Attempt& attempt, codec::Bytes plaintext) {
    if (attempt.closing || !attempt.connected) return;
    if (!attempt.tls) return write_raw(attempt, plaintext);
    if (attempt.tls->state() != tls::Engine::State::open) return;
    auto rest = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size());
    while (!rest.empty()) {
        const std::size_t n = attempt.tls->write(rest);
        flush_tls(attempt);
        if (n == 0) return;  // the engine failed; the read side reports it
        rest = rest.subspan(n);
    }
}

void MonitorLink::flush_tls(Attempt& attempt) {
    if (!attempt.tls) return;
    if (!tls_buffer_) tls_buffer_ = std::make_unique<std::uint8_t[]>(tls_plaintext_size + tls_ciphertext_size);
    const std::span<std::uint8_t> scratch(tls_buffer_.get() + tls_plaintext_size, tls_ciphertext_size);
    while (attempt.tls->pending_ciphertext() > 0) {
        const std::size_t n = attempt.tls->take_ciphertext(scratch);
        if (n == 0) break;
        write_raw(attempt, codec::Bytes(reinterpret_cast<const std::byte*>(scratch.data()), n));
    }
}

void MonitorLink::write_raw(Attempt& attempt, codec::Bytes bytes) {
    if (attempt.closing || bytes.empty()) return;
    auto* request = new WriteRequest;
    request->attempt = &attempt;
    request->bytes.assign(bytes.begin(), bytes.end());
    request->req.data = request;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()), static_cast<unsigned>(request->bytes.size()));
    const int rc = uv_write(&request->req, &attempt.uv.stream, &buf, 1, &MonitorLink::write_cb);
    if (rc != 0) {
        delete request;
        if (attempt.link != nullptr) {
            attempt_failed(&attempt, {monitor::MonitorFailure::Kind::closed, 0, "cannot write: " + uv_message(rc)});
        }
        return;
    }
    ++attempt.pending_writes;
}

void MonitorLink::write_cb(uv_write_t* req, int status) {
    auto* request = static_cast<WriteRequest*>(req->data);
    Attempt* attempt = request->attempt;
    delete request;
    --attempt->pending_writes;
    if (attempt->link == nullptr) {
        // Abandoned with a last packet on its way (COM_QUIT): close now it is written.
        if (attempt->close_after_write && attempt->pending_writes == 0 && !attempt->closing) {
            attempt->closing = true;
            uv_close(&attempt->uv.handle, &MonitorLink::close_cb);
        }
        return;
    }
    if (status != 0 && status != UV_ECANCELED && !attempt->closing) {
        attempt->link->attempt_failed(attempt, {monitor::MonitorFailure::Kind::closed, 0, "write failed: " + uv_message(status)});
    }
}

// Closes the handle once what was written has gone (a COM_QUIT, the end of a
// refused login); the Attempt is deleted in the close callback.
void MonitorLink::close_attempt(Attempt& attempt) {
    if (attempt_ == &attempt) attempt_ = nullptr;
    attempt.link = nullptr;
    if (attempt.closing) return;
    if (attempt.tls && attempt.tls->state() == tls::Engine::State::open) {
        attempt.tls->shutdown();
        // flush_tls needs the link's buffer; the engine's alert is small: take it here.
        std::array<std::uint8_t, 256> alert{};
        const std::size_t n = attempt.tls->take_ciphertext(alert);
        if (n > 0 && attempt.connected) {
            auto* request = new WriteRequest;
            request->attempt = &attempt;
            request->bytes.assign(reinterpret_cast<const std::byte*>(alert.data()),
                                  reinterpret_cast<const std::byte*>(alert.data()) + n);
            request->req.data = request;
            uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()), static_cast<unsigned>(n));
            if (uv_write(&request->req, &attempt.uv.stream, &buf, 1, &MonitorLink::write_cb) == 0) {
                ++attempt.pending_writes;
            } else {
                delete request;
            }
        }
    }
    if (attempt.pending_writes > 0 && !stopped_) {
        attempt.close_after_write = true;
        uv_read_stop(&attempt.uv.stream);
        lingering_.push_back(&attempt);
        return;
    }
    attempt.closing = true;
    uv_close(&attempt.uv.handle, &MonitorLink::close_cb);
}

void MonitorLink::close_cb(uv_handle_t* handle) {
    auto* attempt = static_cast<Attempt*>(handle->data);
    auto& lingering = attempt->owner->lingering_;
    lingering.erase(std::remove(lingering.begin(), lingering.end(), attempt), lingering.end());
    delete attempt;
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
