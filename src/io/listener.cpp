// The client listener (see listener.hpp).
#include "tether/io/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tether/codec/response.hpp"
#include "tether/io/keepalive.hpp"

namespace tether::io {

namespace {

// One accept per readiness callback, as nginx does by default (multi_accept
// off). The poll is level-triggered, so a backlog is taken one connection per
// loop iteration, between the events of the sessions already open; and the
// common case, one connection waiting, costs one accept4() instead of a second
// that only says EAGAIN. Only EINTR and ECONNABORTED (nothing was taken) and the
// refusal of a client for want of descriptors try again at once, boundedly.
constexpr int accept_attempts_per_wakeup = 8;
constexpr int backlog = 1024;

}  // namespace

Listener::~Listener() {
    if (spare_fd_ >= 0) ::close(spare_fd_);
}

int Listener::start(const config::Address& address, const AcceptedSocketOptions& options, OnAccepted on_accepted,
                    OnAcceptError on_error) {
    on_accepted_ = std::move(on_accepted);
    on_error_ = std::move(on_error);
    // Sent instead of a greeting (sequence id 0) to a client refused for want of descriptors.
    codec::append_err(out_of_fds_err_, 0, 1040, "08004",
                      "tether: out of file descriptors (raise its ulimit -n); try again later");
    int rc = 0;
    if (address.kind == config::Address::Kind::unix_socket) {
        uv_pipe_init(loop_, &socket_.pipe, 0);
        socket_initialized_ = true;
        ::unlink(address.path.c_str());  // a stale socket file from an earlier run
        rc = uv_pipe_bind(&socket_.pipe, address.path.c_str());
        if (rc == 0) ::chmod(address.path.c_str(), 0666);
    } else {
        uv_tcp_init(loop_, &socket_.tcp);
        socket_initialized_ = true;
        sockaddr_storage storage{};
        rc = uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&storage));
        if (rc != 0) rc = uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&storage));
        if (rc == 0) rc = uv_tcp_bind(&socket_.tcp, reinterpret_cast<const sockaddr*>(&storage), 0);
        // uv_tcp_bind keeps EADDRINUSE for uv_listen to report; this listener
        // calls listen() itself, which would bind an unbound socket to a random
        // port. A bound socket has a port: no port means the bind failed.
        sockaddr_storage bound{};
        int length = sizeof bound;
        if (rc == 0) rc = uv_tcp_getsockname(&socket_.tcp, reinterpret_cast<sockaddr*>(&bound), &length);
        if (rc == 0 && reinterpret_cast<const sockaddr_in*>(&bound)->sin_port == 0) rc = UV_EADDRINUSE;
    }
    uv_os_fd_t fd = -1;
    if (rc == 0) rc = uv_fileno(&socket_.handle, &fd);
    if (rc == 0 && address.kind == config::Address::Kind::tcp) {
        // Inherited by every accepted socket (see AcceptedSocketOptions).
        const int on = options.nodelay ? 1 : 0;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) rc = -errno;
        enable_keepalive(fd, options.keepalive);
    }
    if (rc == 0 && ::listen(fd, backlog) != 0) rc = -errno;
    if (rc != 0) return rc;
    fd_ = fd;
    open_spare();
    rc = uv_poll_init_socket(loop_, &poll_, fd_);
    if (rc != 0) return rc;
    poll_initialized_ = true;
    poll_.data = this;
    started_ = true;
    return uv_poll_start(&poll_, UV_READABLE, &Listener::poll_cb);
}

int Listener::local_port() const {
    if (fd_ < 0 || closed_) return 0;
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
    if (bound.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    if (bound.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
    return 0;
}

void Listener::open_spare() {
    if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Listener::poll_cb(uv_poll_t* poll, int status, int) {
    auto* self = static_cast<Listener*>(poll->data);
    if (status < 0) {
        self->on_error_(status, false);
        self->pause();
        return;
    }
    self->on_readable();
}

void Listener::on_readable() {
    for (int i = 0; i < accept_attempts_per_wakeup && !closed_ && !paused_; ++i) {
        sockaddr_storage peer{};
        socklen_t peer_length = sizeof peer;
        const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            on_accepted_(fd, peer);
            return;
        }
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) return;
        if (error == EINTR || error == ECONNABORTED) continue;
        if (error == EMFILE || error == ENFILE) {
            const Refusal refusal = refuse_one_waiting();
            // accept() reports the lack of a descriptor before it looks at the
            // backlog: when nobody is waiting (the last one was just refused), nothing failed.
            if (refusal == Refusal::nobody_waiting) return;
            on_error_(-error, refusal == Refusal::refused);
            if (refusal != Refusal::refused) pause();
            continue;
        }
        // ENOBUFS, ENOMEM...: try again at the next tick rather than spin.
        on_error_(-error, false);
        pause();
        return;
    }
}

// Out of descriptors: free the spare, accept the oldest waiting connection
// with it, tell that client why in a MySQL ERR, close it, take the spare back.
// Without this the connection would wait in the backlog and the listener would
// be readable forever (a busy loop).
Listener::Refusal Listener::refuse_one_waiting() {
    if (spare_fd_ < 0) return Refusal::not_refused;
    ::close(spare_fd_);
    spare_fd_ = -1;
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    const bool nobody_waiting = fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (fd >= 0) {
        // A fresh socket's send buffer takes these few bytes at once.
        (void)::send(fd, out_of_fds_err_.data(), out_of_fds_err_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        ::close(fd);
    }
    open_spare();
    if (nobody_waiting) return Refusal::nobody_waiting;
    return fd >= 0 && spare_fd_ >= 0 ? Refusal::refused : Refusal::not_refused;
}

void Listener::pause() {
    if (paused_ || closed_) return;
    paused_ = true;
    uv_poll_stop(&poll_);
}

void Listener::resume() {
    if (!paused_ || closed_) return;
    open_spare();
    paused_ = false;
    uv_poll_start(&poll_, UV_READABLE, &Listener::poll_cb);
}

void Listener::close() {
    if (closed_) return;
    closed_ = true;
    // The poll first: it watches the socket's descriptor, which closing the socket handle closes.
    if (poll_initialized_) uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
    if (socket_initialized_) uv_close(&socket_.handle, nullptr);
    if (spare_fd_ >= 0) {
        ::close(spare_fd_);
        spare_fd_ = -1;
    }
}

}  // namespace tether::io
