// Admin HTTP connections on libuv (see admin_server.hpp).
#include "tether/io/admin_server.hpp"

#include <netinet/in.h>

#include "tether/util/log.hpp"

namespace tether::io {

struct AdminServer::Client {
    uv_tcp_t tcp{};
    AdminServer* server = nullptr;
    Client* prev = nullptr;
    Client* next = nullptr;
    admin::HttpRequestParser parser;
    std::vector<admin::HttpRequest> requests;
    int pending_writes = 0;
    bool closing = false;
    bool close_after_write = false;
    bool handling = false;  // inside on_read: a response is about to be queued
    char buffer[4096];

    struct Write {
        uv_write_t req{};
        Client* client = nullptr;
        std::string bytes;
    };

    void send(std::string bytes) {
        auto* w = new Write;
        w->client = this;
        w->bytes = std::move(bytes);
        w->req.data = w;
        uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
        if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1, &write_cb) != 0) {
            delete w;
            close();
            return;
        }
        ++pending_writes;
    }

    void close() {
        if (closing) return;
        closing = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &close_cb);
    }

    void on_read(ssize_t nread, const uv_buf_t* buf) {
        if (nread == 0) return;
        if (nread < 0) return close();
        requests.clear();
        const bool ok = parser.feed(std::string_view(buf->base, static_cast<std::size_t>(nread)), requests);
        handling = true;
        for (const auto& request : requests) {
            admin::HttpResponse response = admin::handle_admin_request(request, server->proxy_, server->access_);
            std::string bytes = admin::serialize(response, request.keep_alive);
            if (request.method == "HEAD") bytes.resize(bytes.find("\r\n\r\n") + 4);
            send(std::move(bytes));
            if (!request.keep_alive || response.close) {
                close_after_write = true;
                break;
            }
        }
        if (!ok && !close_after_write) {
            send(admin::serialize(admin::bad_request(parser.error()), false));
            close_after_write = true;
        }
        handling = false;
        // The server stopped while this request was handled (POST /quitquitquit
        // with nothing open): answer first, then close.
        if (server->stopping_) close_after_write = true;
        if (close_after_write) {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
            if (pending_writes == 0) close();
        }
    }

    static void alloc_cb(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* self = static_cast<Client*>(handle->data);
        *buf = uv_buf_init(self->buffer, sizeof self->buffer);
    }
    static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        static_cast<Client*>(stream->data)->on_read(nread, buf);
    }
    static void write_cb(uv_write_t* req, int status) {
        auto* w = static_cast<Write*>(req->data);
        Client* self = w->client;
        delete w;
        --self->pending_writes;
        if (status < 0 || (self->close_after_write && self->pending_writes == 0)) self->close();
    }
    static void close_cb(uv_handle_t* handle) {
        auto* self = static_cast<Client*>(handle->data);
        AdminServer* server = self->server;
        if (self->prev != nullptr) self->prev->next = self->next;
        else server->clients_ = self->next;
        if (self->next != nullptr) self->next->prev = self->prev;
        // Writes still pending were cancelled by uv_close and their callbacks ran first.
        delete self;
    }
};

int AdminServer::start(const config::Address& address, admin::AdminAccess access) {
    access_ = std::move(access);
    sockaddr_storage storage{};
    int rc = uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&storage));
    if (rc != 0) rc = uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&storage));
    if (rc != 0) return rc;
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    listening_ = true;
    rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, &AdminServer::accept_cb);
    return rc;
}

void AdminServer::accept_cb(uv_stream_t* server, int status) {
    if (status < 0) return;
    static_cast<AdminServer*>(server->data)->on_accept();
}

void AdminServer::on_accept() {
    auto* client = new Client;
    client->server = this;
    uv_tcp_init(loop_, &client->tcp);
    client->tcp.data = client;
    client->next = clients_;
    if (clients_ != nullptr) clients_->prev = client;
    clients_ = client;
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&client->tcp)) != 0) {
        client->close();
        return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&client->tcp), &Client::alloc_cb, &Client::read_cb);
}

void AdminServer::close() {
    stopping_ = true;
    if (listening_) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    }
    for (Client* c = clients_; c != nullptr; c = c->next) {
        if (c->handling || c->pending_writes > 0) {
            c->close_after_write = true;  // let the response in progress go out
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
        } else {
            c->close();
        }
    }
}

}  // namespace tether::io
