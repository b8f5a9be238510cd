// The client listener. It accepts connections itself (readiness from a
// uv_poll_t, then accept4) instead of through uv_listen: when the process is
// out of file descriptors libuv accepts and drops the waiting connections
// with no callback, so nothing would see, count or answer them.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <vector>

#include "tether/config/address.hpp"
#include "tether/io/stream_handle.hpp"

namespace tether::io {

// TCP options every accepted client socket gets. They are set once, on the
// listening socket: Linux gives each socket accept() returns a copy of the
// listener's options (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
// TCP_KEEPCNT, TCP_USER_TIMEOUT) and arms its keepalive timer, so a client
// connection costs no setsockopt call at all (it was eight).
struct AcceptedSocketOptions {
    bool nodelay = true;
    std::chrono::milliseconds keepalive{0};  // see enable_keepalive(); 0: off
};

class Listener {
public:
    // A connection was accepted: the callee owns `fd` (non-blocking, close-on-exec).
    // `peer` is its address as accept() gave it (AF_UNIX, unnamed, on a unix
    // socket), so nobody needs a getpeername() call for it.
    using OnAccepted = std::function<void(int fd, const sockaddr_storage& peer)>;
    // accept() failed with `uv_error`. For EMFILE/ENFILE, `refused` says whether
    // a waiting connection was answered (with an ERR 1040) and closed through
    // the spare descriptor; when no spare was left, accepting pauses until resume().
    using OnAcceptError = std::function<void(int uv_error, bool refused)>;

    explicit Listener(uv_loop_t* loop) : loop_(loop) {}
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener();

    // Binds, listens and starts accepting. Returns 0 or a libuv error code.
    // `options` apply to TCP listeners only.
    int start(const config::Address& address, const AcceptedSocketOptions& options, OnAccepted on_accepted,
              OnAcceptError on_error);
    // Accepting again after a pause (the janitor calls this every tick).
    void resume();
    // Stops accepting and closes the listening socket; new clients are refused by the kernel.
    void close();
    [[nodiscard]] bool listening() const { return started_ && !closed_; }
    // The bound TCP port (a --listen port 0 gets one from the kernel), or 0.
    [[nodiscard]] int local_port() const;

private:
    static void poll_cb(uv_poll_t* poll, int status, int events);
    void on_readable();
    // refused: a waiting client got the ERR and the spare is back; not_refused:
    // no spare, or it could not be taken back (accepting pauses).
    enum class Refusal { refused, nobody_waiting, not_refused };
    Refusal refuse_one_waiting();
    void pause();
    void open_spare();

    uv_loop_t* loop_;
    StreamHandle socket_{};
    uv_poll_t poll_{};
    bool socket_initialized_ = false;
    bool poll_initialized_ = false;
    bool started_ = false;
    bool paused_ = false;
    bool closed_ = false;
    int fd_ = -1;
    // Kept open so that one descriptor is free to accept and answer a waiting
    // connection when the process has none left (the trick libuv uses too).
    int spare_fd_ = -1;
    std::vector<std::byte> out_of_fds_err_;
    OnAccepted on_accepted_;
    OnAcceptError on_error_;
};

}  // namespace tether::io
