// TCP keepalive settings (see keepalive.hpp).
#include "tether/io/keepalive.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

namespace tether::io {

namespace {

constexpr int probes = 3;

struct Timing {
    int idle_seconds;
    int interval_seconds;
    unsigned user_timeout_ms;
};

Timing timing(std::chrono::milliseconds idle) {
    const int idle_seconds = std::max(1, static_cast<int>(idle.count() / 1000));
    const int interval_seconds = std::max(1, idle_seconds / 3);
    return {idle_seconds, interval_seconds, static_cast<unsigned>((idle_seconds + interval_seconds * probes) * 1000)};
}

void set_user_timeout(uv_os_fd_t fd, unsigned milliseconds) {
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &milliseconds, sizeof milliseconds);
}

void set_user_timeout(uv_tcp_t* tcp, unsigned milliseconds) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) != 0) return;
    set_user_timeout(fd, milliseconds);
}

}  // namespace

void enable_keepalive(uv_os_fd_t fd, std::chrono::milliseconds idle) {
    if (idle.count() <= 0) return;
    const Timing t = timing(idle);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &t.idle_seconds, sizeof t.idle_seconds);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &t.interval_seconds, sizeof t.interval_seconds);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
    set_user_timeout(fd, t.user_timeout_ms);
}

void enable_keepalive(uv_tcp_t* tcp, std::chrono::milliseconds idle) {
    uv_os_fd_t fd;
    if (idle.count() <= 0 || uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) != 0) return;
    enable_keepalive(fd, idle);
}

void suspend_user_timeout(uv_tcp_t* tcp) { set_user_timeout(tcp, 0); }

void restore_user_timeout(uv_tcp_t* tcp, std::chrono::milliseconds idle) {
    if (idle.count() <= 0) return;
    set_user_timeout(tcp, timing(idle).user_timeout_ms);
}

}  // namespace tether::io
