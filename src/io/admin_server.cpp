// Admin HTTP connections on libuv (see admin_server.hpp).
#include "tether/io/admin_server.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <deque>

#include "tether/util/log.hpp"

namespace tether::io {

namespace {

// Written with uv_try_write to a connection over the cap: a few bytes the
// socket buffer of a fresh connection always takes, so nothing waits on it.
const std::string over_capacity_response = [] {
    admin::HttpResponse r;
    r.status = 503;
    r.body = "too many admin connections\n";
    r.close = true;
    return admin::serialize(r, false);
}();

}  // namespace

struct AdminServer::Client {
    uv_tcp_t tcp{};
    AdminServer* server = nullptr;
    Client* prev = nullptr;
    Client* next = nullptr;
    admin::HttpRequestParser parser;
    // Parsed and not answered yet: at most one read's worth, because reading
    // stops while any wait.
    std::deque<admin::HttpRequest> waiting;
    std::size_t queued_bytes = 0;  // response bytes handed to libuv, not written yet
    std::size_t pending_writes = 0;
    std::uint64_t last_progress_ms = 0;  // accepted, a request completed, or a response drained
    bool counted = false;                // counts against max_connections
    bool reading = false;
    bool parse_failed = false;
    bool closing = false;
    bool close_after_write = false;
    bool handling = false;  // inside pump: a response is about to be queued
    char buffer[4096];

    struct Write {
        uv_write_t req{};
        Client* client = nullptr;
        std::string head;
        std::string body;
    };

    [[nodiscard]] bool over_budget() const {
        return queued_bytes > server->limits_.max_queued_bytes ||
               pending_writes >= server->limits_.max_queued_responses;
    }

    void send(std::string head, std::string body) {
        auto* w = new Write;
        w->client = this;
        w->head = std::move(head);
        w->body = std::move(body);
        w->req.data = w;
        uv_buf_t bufs[2] = {uv_buf_init(w->head.data(), static_cast<unsigned>(w->head.size())),
                            uv_buf_init(w->body.data(), static_cast<unsigned>(w->body.size()))};
        const unsigned count = w->body.empty() ? 1 : 2;
        const std::size_t size = w->head.size() + w->body.size();
        if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), bufs, count, &write_cb) != 0) {
            delete w;
            close();
            return;
        }
        ++pending_writes;
        queued_bytes += size;
    }

    void start_reading() {
        if (reading || closing) return;
        if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp), &alloc_cb, &read_cb) == 0) reading = true;
    }
    void stop_reading() {
        if (!reading) return;
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
        reading = false;
    }

    void close() {
        if (closing) return;
        closing = true;
        reading = false;
        waiting.clear();
        if (counted) {
            counted = false;
            --server->served_;
        }
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &close_cb);
    }

    void answer(const admin::HttpRequest& request) {
        admin::HttpResponse response = admin::handle_admin_request(request, server->proxy_, server->access_);
        std::string head = admin::serialize_head(response, request.keep_alive);
        // HEAD: the same head (Content-Length included), no body.
        send(std::move(head), request.method == "HEAD" ? std::string() : std::move(response.body));
        if (!request.keep_alive || response.close) close_after_write = true;
    }

    // Answers waiting requests while the responses queued stay within budget,
    // then reads again only if every request is answered and the queue is short.
    void pump() {
        if (closing) return;
        handling = true;
        while (!waiting.empty() && !close_after_write && !closing && !over_budget()) {
            const admin::HttpRequest request = std::move(waiting.front());
            waiting.pop_front();
            answer(request);
        }
        if (waiting.empty() && parse_failed && !close_after_write && !closing) {
            send(admin::serialize(admin::bad_request(parser.error()), false), {});
            close_after_write = true;
        }
        handling = false;
        if (closing) return;
        // The server stopped while this request was handled (POST /quitquitquit
        // with nothing open): answer first, then close.
        if (server->stopping_) close_after_write = true;
        if (close_after_write) {
            stop_reading();
            waiting.clear();
            if (pending_writes == 0) close();
            return;
        }
        if (waiting.empty() && !parse_failed && !over_budget()) {
            start_reading();
        } else {
            stop_reading();
        }
    }

    void on_read(ssize_t nread, const uv_buf_t* buf) {
        if (nread == 0) return;
        if (nread < 0) return close();
        std::vector<admin::HttpRequest> parsed;
        if (!parser.feed(std::string_view(buf->base, static_cast<std::size_t>(nread)), parsed)) parse_failed = true;
        if (!parsed.empty()) last_progress_ms = uv_now(server->loop_);
        for (auto& request : parsed) waiting.push_back(std::move(request));
        pump();
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
        self->queued_bytes -= w->head.size() + w->body.size();
        --self->pending_writes;
        delete w;
        if (self->closing) return;  // cancelled by uv_close
        self->last_progress_ms = uv_now(self->server->loop_);
        if (status < 0) return self->close();
        if (self->close_after_write) {
            if (self->pending_writes == 0) self->close();
            return;
        }
        self->pump();
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

int AdminServer::start(const config::Address& address, admin::AdminAccess access, AdminLimits limits) {
    access_ = std::move(access);
    limits_ = limits;
    sockaddr_storage storage{};
    int rc = uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(&storage));
    if (rc != 0) rc = uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(&storage));
    if (rc != 0) return rc;
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    listening_ = true;
    rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, &AdminServer::accept_cb);
    if (rc != 0) return rc;
    // Sweep often enough that a connection outlives its idle timeout by at most a quarter of it.
    const auto sweep = std::clamp<std::int64_t>(limits_.idle_timeout.count() / 4, 50, 1000);
    uv_timer_init(loop_, &idle_timer_);
    idle_timer_.data = this;
    timer_started_ = true;
    uv_timer_start(&idle_timer_, &AdminServer::idle_cb, static_cast<std::uint64_t>(sweep),
                   static_cast<std::uint64_t>(sweep));
    uv_unref(reinterpret_cast<uv_handle_t*>(&idle_timer_));  // never what keeps the loop alive
    return 0;
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
    if (served_ >= limits_.max_connections) {
        refuse(client);
        return;
    }
    client->counted = true;
    ++served_;
    client->last_progress_ms = uv_now(loop_);
    client->start_reading();
}

// Over the cap: a 503 if the socket takes it at once, then closed. A client
// that already sent its request may see a reset instead; either way it holds
// no descriptor past this loop iteration.
void AdminServer::refuse(Client* client) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(over_capacity_response.data()),
                               static_cast<unsigned>(over_capacity_response.size()));
    uv_try_write(reinterpret_cast<uv_stream_t*>(&client->tcp), &buf, 1);
    client->close();
    // One line per 10 s at most: a flood of connections must not flood the log.
    const std::uint64_t now = uv_now(loop_);
    ++refusals_unlogged_;
    if (last_refusal_log_ms_ == 0 || now - last_refusal_log_ms_ >= 10'000) {
        log::warn("admin_connection_refused", {{"open", std::to_string(served_)},
                                               {"refused", std::to_string(refusals_unlogged_)},
                                               {"detail", "--admin-max-connections " +
                                                              std::to_string(limits_.max_connections) + " reached"}});
        last_refusal_log_ms_ = now;
        refusals_unlogged_ = 0;
    }
}

void AdminServer::idle_cb(uv_timer_t* timer) { static_cast<AdminServer*>(timer->data)->close_idle(); }

void AdminServer::close_idle() {
    const std::uint64_t now = uv_now(loop_);
    const auto timeout = static_cast<std::uint64_t>(limits_.idle_timeout.count());
    for (Client* c = clients_; c != nullptr; c = c->next) {
        if (c->closing || now - c->last_progress_ms < timeout) continue;
        log::debug("admin_idle_closed", {{"queued_bytes", std::to_string(c->queued_bytes)}});
        c->close();
    }
}

void AdminServer::close() {
    stopping_ = true;
    if (listening_) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    }
    if (timer_started_) {
        timer_started_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), nullptr);
    }
    for (Client* c = clients_; c != nullptr; c = c->next) {
        if (c->closing) continue;
        if (c->handling || c->pending_writes > 0) {
            c->close_after_write = true;  // let the response in progress go out
            c->waiting.clear();
            c->stop_reading();
        } else {
            c->close();
        }
    }
}

}  // namespace tether::io
