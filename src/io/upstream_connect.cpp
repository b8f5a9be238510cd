// Connection's upstream side: resolve the name on every connect (Kubernetes
// service addresses move), then connect over TCP, each resolved address in turn, or a unix socket.
//
// A TCP connect is confirmed by the server's first bytes, not by the socket
// becoming writable: a MySQL server speaks first (its greeting, or an ERR such
// as 1040 or 1129), so the read that delivers them proves the connection is up,
// and a failed connect reaches the same read as its error. Waiting for
// writability instead costs each connection a wake-up, a getsockopt(SO_ERROR)
// and an epoll_ctl(MOD) to drop the write interest. A server that accepts but
// is slow to greet (a reverse DNS lookup) is confirmed by the next tick instead.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tether/io/connection.hpp"
#include "tether/io/keepalive.hpp"
#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"
#include "uv_text.hpp"

namespace tether::io {

namespace {

// How long a server connection lives before it gets its keepalive options
// (see Connection::upstream_keepalive_at_): detection of a vanished server
// host moves from --upstream-keepalive + probes to at most this (plus a
// janitor tick, 250 ms) later.
constexpr auto upstream_keepalive_delay = std::chrono::seconds(1);

// A connect younger than this is left to its first read: a server greets
// within milliseconds, so only one that has not by then is asked by a tick.
constexpr auto connect_confirm_after = std::chrono::milliseconds(100);

}  // namespace

void Connection::connect_upstream() {
    const auto& address = proxy_.config().upstream;
    // An address literal needs no resolver round trip (libuv runs getaddrinfo
    // on its thread pool), nor any request: a name is resolved on every connect.
    if (const sockaddr* literal = proxy_.upstream_literal()) {
        connect_tcp(literal);
        return;
    }
    connect_requests_ = std::make_unique<ConnectRequests>();
    connect_requests_->resolve.data = this;
    connect_requests_->connect.data = this;
    if (address.kind == config::Address::Kind::unix_socket) {
        uv_pipe_init(proxy_.loop(), &upstream_.uv.pipe, 0);
        upstream_.uv.handle.data = this;
        upstream_.initialized = true;
        ++open_handles_;
        ++pending_requests_;
        uv_pipe_connect(&connect_requests_->connect, &upstream_.uv.pipe, address.path.c_str(), &Connection::connect_cb);
        return;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string port = std::to_string(address.port);
    const int rc = uv_getaddrinfo(proxy_.loop(), &connect_requests_->resolve, &Connection::resolve_cb, address.host.c_str(),
                                  port.c_str(), &hints);
    if (rc != 0) {
        on_resolved(rc, nullptr);
        return;
    }
    connect_requests_->resolving = true;
    ++pending_requests_;
}

void Connection::resolve_cb(uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* self = static_cast<Connection*>(req->data);
    EntryGuard guard(*self);
    --self->pending_requests_;
    self->connect_requests_->resolving = false;
    self->on_resolved(status, result);
}

void Connection::on_resolved(int status, addrinfo* result) {
    session::Actions actions;
    if (upstream_.closed) {  // given up (timeout or the session ended) while resolving
        uv_freeaddrinfo(result);
        maybe_finish();
        return;
    }
    if (status != 0 || result == nullptr) {
        upstream_.closed = true;
        session_.on_upstream_connect_failed("cannot resolve " + proxy_.config().upstream.host + ": " + uv_message(status),
                                            actions);
        uv_freeaddrinfo(result);
        apply(actions, {}, true);
        return;
    }
    auto& requests = *connect_requests_;
    for (const addrinfo* a = result; a != nullptr; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
        sockaddr_storage storage{};
        std::memcpy(&storage, a->ai_addr, a->ai_addrlen);
        requests.addresses.push_back(storage);
    }
    uv_freeaddrinfo(result);
    connect_next_address();
}


// The next resolved address, or the session's failure when none is left.
void Connection::connect_next_address() {
    auto& requests = *connect_requests_;
    if (requests.next >= requests.addresses.size()) {
        session::Actions actions;
        upstream_.closed = true;
        std::string why = requests.addresses.empty() ? "no address for " + proxy_.config().upstream.host : requests.failures;
        session_.on_upstream_connect_failed(why, actions);
        apply(actions, {}, true);
        return;
    }
    connect_tcp(reinterpret_cast<const sockaddr*>(&requests.addresses[requests.next++]));
}

void Connection::connect_tcp(const sockaddr* address) {
    uv_tcp_init(proxy_.loop(), &upstream_.uv.tcp);
    upstream_.uv.handle.data = this;
    upstream_.initialized = true;
    ++open_handles_;
    const int rc = start_tcp_connect(address);
    if (rc != 0) {
        ++proxy_.connection_callbacks().counts().connect_failed_at_once;
        on_address_failed(rc);
        return;
    }
    connect_unconfirmed_ = true;
    connect_started_at_ = proxy_.now();
    // Read interest only: the first read confirms the connect (see the top of this file).
    if (uv_read_start(&upstream_.uv.stream, &Connection::alloc_cb, &Connection::read_cb) == 0) upstream_.reading = true;
}

// The socket is the handle's once uv_tcp_open took it, and closed with it.
int Connection::start_tcp_connect(const sockaddr* address) {
    const int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return uv_translate_sys_error(errno);
    if (const int rc = uv_tcp_open(&upstream_.uv.tcp, fd); rc != 0) {
        ::close(fd);
        return rc;
    }
    uv_tcp_nodelay(&upstream_.uv.tcp, 1);
    const socklen_t length = address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    int rc = 0;
    do {
        rc = ::connect(fd, address, length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINPROGRESS) return uv_translate_sys_error(errno);
    return 0;
}

// The first read of an unconfirmed server socket: bytes or a clean EOF mean
// the server accepted; an error of the handshake itself means the connect
// failed (the next address is tried); any other error came after it was up.
// Returns whether the read is still to be handled.
bool Connection::confirm_connect_by_read(ssize_t nread) {
    const bool failed = nread == UV_ECONNREFUSED || nread == UV_ETIMEDOUT || nread == UV_EHOSTUNREACH ||
                        nread == UV_ENETUNREACH;
    connect_confirmed(failed ? static_cast<int>(nread) : 0);
    return !failed && !upstream_.closed;
}

// From the tick: a server that accepted but has not spoken yet is connected
// all the same (getpeername fails with ENOTCONN until the TCP handshake is done).
void Connection::confirm_connect_by_peer(session::Clock::time_point now) {
    if (!connect_unconfirmed_ || upstream_.closed) return;
    // Asked before the session's connect timeout can end it, however short that is.
    const auto wait = std::min<session::Clock::duration>(connect_confirm_after, proxy_.config().connect_timeout / 2);
    if (now - connect_started_at_ < wait) return;
    sockaddr_storage peer{};
    int length = sizeof peer;
    if (uv_tcp_getpeername(&upstream_.uv.tcp, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return;
    connect_confirmed(0);
}

// Where every connect attempt's outcome lands: a unix socket's from its
// connect callback, a TCP one's from its first read or a tick.
void Connection::connect_confirmed(int status) {
    connect_unconfirmed_ = false;
    on_connected(status);
    proxy_.connection_callbacks().ran(*this, ConnectionCallback::connect);
}

// The attempt on the current address failed (at once or in its callback).
void Connection::on_address_failed(int status) {
    auto* requests = connect_requests_.get();
    const bool listed = requests != nullptr && requests->next > 0 && requests->next <= requests->addresses.size();
    std::string why = uv_message(status);
    if (listed) {
        const std::string address = address_text(requests->addresses[requests->next - 1]);
        why = (requests->failures.empty() ? "" : requests->failures + "; ") + address + ": " + why;
        if (requests->next < requests->addresses.size()) {
            // Another address may answer: close this attempt's handle, then
            // try the next one from its close callback.
            log::debug("upstream_address_failed", {{"id", std::to_string(id_)}, {"address", address},
                                                   {"error", uv_message(status)}});
            requests->failures = std::move(why);
            uv_close(&upstream_.uv.handle, &Connection::retry_close_cb);
            return;
        }
    }
    connect_requests_.reset();
    close_socket(upstream_);
    session::Actions actions;
    session_.on_upstream_connect_failed(why, actions);
    apply(actions, {}, true);
}

void Connection::connect_cb(uv_connect_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    EntryGuard guard(*self);
    --self->pending_requests_;
    self->connect_confirmed(status);
}

// A failed address's handle has closed: its memory may be initialized again
// for the next address (unless the session gave up meanwhile).
void Connection::retry_close_cb(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    EntryGuard guard(*self);
    --self->open_handles_;
    self->upstream_.initialized = false;
    self->upstream_.reading = false;
    self->proxy_.connection_callbacks().ran(*self, ConnectionCallback::close);
    if (self->upstream_.closed) return;  // the guard finishes the connection
    self->connect_next_address();
}

void Connection::on_connected(int status) {
    session::Actions actions;
    if (upstream_.closed) {  // cancelled by a timeout or the session's end
        connect_requests_.reset();
        maybe_finish();
        return;
    }
    if (status != 0) {
        on_address_failed(status);
        return;
    }
    connect_requests_.reset();
    upstream_.connected = true;
    upstream_counted_ = true;
    if (proxy_.config().upstream.kind == config::Address::Kind::tcp && proxy_.config().upstream_keepalive.count() > 0) {
        upstream_keepalive_at_ = proxy_.now() + upstream_keepalive_delay;  // armed by tick()
    }
    proxy_.on_upstream_connected(*this);
    session_.on_upstream_connected(proxy_.now(), actions);
    start_reading(upstream_);
    apply(actions, {}, false);
}

}  // namespace tether::io
