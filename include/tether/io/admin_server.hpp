// The admin HTTP listener on the proxy's loop: sockets here, parsing and routes in admin/.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tether/admin/admin_api.hpp"
#include "tether/config/address.hpp"

namespace tether::io {

// What keeps the admin server small under abuse: it shares the loop and the
// descriptor limit with the MySQL sessions it exists to watch.
struct AdminLimits {
    // A connection that completes no request (and has no response drain) for
    // this long is closed: idle keep-alive sockets and slowloris clients.
    std::chrono::milliseconds idle_timeout{90'000};
    // Connections past this are answered 503 and closed at accept, so admin
    // clients can never take the descriptors MySQL clients need.
    std::size_t max_connections = 64;
    // A connection stops being read while its unsent responses exceed either
    // bound (a client pipelining requests without reading the answers), and is
    // read again once they drain.
    std::size_t max_queued_bytes = 1024 * 1024;
    std::size_t max_queued_responses = 8;
};

class AdminServer {
public:
    AdminServer(uv_loop_t* loop, admin::ProxyView& proxy) : loop_(loop), proxy_(proxy) {}
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Returns 0 or a libuv error code.
    int start(const config::Address& address, admin::AdminAccess access, AdminLimits limits = {});
    // Stops listening and closes every admin connection.
    void close();

private:
    struct Client;
    static void accept_cb(uv_stream_t* server, int status);
    static void idle_cb(uv_timer_t* timer);
    void on_accept();
    void refuse(Client* client);
    void close_idle();

    uv_loop_t* loop_;
    admin::ProxyView& proxy_;
    admin::AdminAccess access_;
    AdminLimits limits_;
    uv_tcp_t listener_{};
    uv_timer_t idle_timer_{};  // one sweep for every connection, not a timer each
    bool listening_ = false;
    bool timer_started_ = false;
    bool stopping_ = false;
    Client* clients_ = nullptr;  // intrusive list, so close() can reach every one
    std::size_t served_ = 0;     // connections counted against max_connections
    std::uint64_t last_refusal_log_ms_ = 0;
    std::size_t refusals_unlogged_ = 0;
};

}  // namespace tether::io
