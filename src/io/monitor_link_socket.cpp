// The monitor's socket (see monitor_link.hpp): resolve and connect (each
// address in turn), read and write, TLS through tls::Engine, and the close.
#include <algorithm>
#include <cstring>

#include "monitor_link_attempt.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

using namespace monitor_link_detail;

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

}  // namespace tether::io
