// The admin HTTP listener on the proxy's loop: sockets here, parsing and routes in admin/.
#pragma once

#include <uv.h>

#include <string>

#include "tether/admin/admin_api.hpp"
#include "tether/config/address.hpp"

namespace tether::io {

class AdminServer {
public:
    AdminServer(uv_loop_t* loop, admin::ProxyView& proxy) : loop_(loop), proxy_(proxy) {}
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Returns 0 or a libuv error code.
    int start(const config::Address& address, admin::AdminAccess access);
    // Stops listening and closes every admin connection.
    void close();

private:
    struct Client;
    static void accept_cb(uv_stream_t* server, int status);
    void on_accept();

    uv_loop_t* loop_;
    admin::ProxyView& proxy_;
    admin::AdminAccess access_;
    uv_tcp_t listener_{};
    bool listening_ = false;
    bool stopping_ = false;
    Client* clients_ = nullptr;  // intrusive list, so close() can reach every one
};

}  // namespace tether::io
