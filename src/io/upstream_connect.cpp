// Connection's upstream side: resolve the name on every connect (Kubernetes
// service addresses move), then connect over TCP or a unix socket.
#include <cstring>

#include "tether/io/connection.hpp"
#include "tether/io/keepalive.hpp"
#include "tether/io/proxy.hpp"

namespace tether::io {

namespace {

std::string uv_message(int status) { return std::string(uv_strerror(status)); }

}  // namespace

void Connection::connect_upstream() {
    const auto& address = proxy_.config().upstream;
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
    // An address literal needs no resolver round trip (libuv runs getaddrinfo
    // on its thread pool); a name is resolved on every connect.
    sockaddr_storage literal{};
    if (uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&literal)) == 0 ||
        uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&literal)) == 0) {
        connect_tcp(reinterpret_cast<const sockaddr*>(&literal));
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
    ++pending_requests_;
}

void Connection::resolve_cb(uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* self = static_cast<Connection*>(req->data);
    EntryGuard guard(*self);
    --self->pending_requests_;
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
    connect_tcp(result->ai_addr);
    uv_freeaddrinfo(result);
}

void Connection::connect_tcp(const sockaddr* address) {
    session::Actions actions;
    uv_tcp_init(proxy_.loop(), &upstream_.uv.tcp);
    upstream_.uv.handle.data = this;
    upstream_.initialized = true;
    ++open_handles_;
    uv_tcp_nodelay(&upstream_.uv.tcp, 1);
    const int rc = uv_tcp_connect(&connect_requests_->connect, &upstream_.uv.tcp, address, &Connection::connect_cb);
    if (rc != 0) {
        close_socket(upstream_);
        session_.on_upstream_connect_failed(uv_message(rc), actions);
        apply(actions, {}, true);
        return;
    }
    ++pending_requests_;
}

void Connection::connect_cb(uv_connect_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    EntryGuard guard(*self);
    --self->pending_requests_;
    self->connect_requests_.reset();
    self->on_connected(status);
}

void Connection::on_connected(int status) {
    session::Actions actions;
    if (upstream_.closed) {  // cancelled by a timeout or the session's end
        maybe_finish();
        return;
    }
    if (status != 0) {
        close_socket(upstream_);
        session_.on_upstream_connect_failed(uv_message(status), actions);
        apply(actions, {}, true);
        return;
    }
    upstream_.connected = true;
    upstream_counted_ = true;
    if (proxy_.config().upstream.kind == config::Address::Kind::tcp) {
        enable_keepalive(&upstream_.uv.tcp, proxy_.config().upstream_keepalive);
    }
    proxy_.on_upstream_connected(*this);
    session_.on_upstream_connected(proxy_.now(), actions);
    start_reading(upstream_);
    apply(actions, {}, false);
}

}  // namespace tether::io
