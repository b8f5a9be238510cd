// Client/upstream socket pair around a Session (see connection.hpp).
#include "tether/io/connection.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "tether/io/keepalive.hpp"
#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

// Under AddressSanitizer every Connection is freed for real, so that a use
// after its deletion (a callback that outlives it) is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool reuse_connections = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool reuse_connections = false;
#else
constexpr bool reuse_connections = true;
#endif
#else
constexpr bool reuse_connections = true;
#endif

// Storage of deleted Connections, for the next ones (see operator new); one
// list per thread, though only the loop's thread makes Connections. Freed
// for real when the thread ends.
struct SpareConnections {
    std::vector<void*> storage;
    SpareConnections() { storage.reserve(Connection::spare_connections_kept); }
    ~SpareConnections() {
        for (void* s : storage) ::operator delete(s);
    }
    SpareConnections(const SpareConnections&) = delete;
    SpareConnections& operator=(const SpareConnections&) = delete;
};

std::vector<void*>& spare_connections() {
    thread_local SpareConnections spares;
    return spares.storage;
}

}  // namespace

void* Connection::operator new(std::size_t size) {
    auto& spares = spare_connections();
    if (size == sizeof(Connection) && !spares.empty()) {
        void* storage = spares.back();
        spares.pop_back();
        return storage;
    }
    return ::operator new(size);
}

void Connection::operator delete(void* storage, std::size_t size) noexcept {
    auto& spares = spare_connections();
    if (reuse_connections && size == sizeof(Connection) && spares.size() < spare_connections_kept) {
        spares.push_back(storage);  // reserved: never allocates
        return;
    }
    ::operator delete(storage);
}

namespace {

// What a refused client may still send before tether closes anyway: a login of
// up to 16 MiB and a little more. Reads are dropped, so this bounds time, not memory.
constexpr std::size_t max_drain_bytes = 32 * 1024 * 1024;

}  // namespace

// A write that could not complete at once: owns the bytes until libuv's
// callback, as libuv requires.
struct Connection::WriteRequest {
    uv_write_t req{};
    Connection* connection = nullptr;
    Socket* socket = nullptr;
    std::vector<std::byte> bytes;
};

Connection::Connection(Proxy& proxy, std::uint64_t id, const session::SessionConfig& config)
    : proxy_(proxy), id_(id), session_(config, proxy.now()) {
    client_.uv.handle.data = this;
    upstream_.uv.handle.data = this;
}

void Connection::start_with_client(std::string peer) {
    EntryGuard guard(*this);
    peer_ = std::move(peer);
    client_.initialized = true;
    client_.connected = true;
    ++open_handles_;
    client_.uv.handle.data = this;
    session::Actions actions;
    session_.start(actions);
    apply(actions, {}, true);
    start_reading(client_);
}

void Connection::start_refused(std::string peer, const session::Admission& refusal) {
    EntryGuard guard(*this);
    peer_ = std::move(peer);
    client_.initialized = true;
    client_.connected = true;
    ++open_handles_;
    session::Actions actions;
    session_.refuse_at_accept(refusal, actions);
    apply(actions, {}, true);
}

void Connection::start_waiting(std::string peer) {
    EntryGuard guard(*this);
    peer_ = std::move(peer);
    client_.initialized = true;
    client_.connected = true;
    ++open_handles_;
    waiting_ = true;
    start_reading(client_);
}

void Connection::start_after_wait() {
    EntryGuard guard(*this);
    waiting_ = false;
    session::Actions actions;
    session_.start(proxy_.now(), actions);
    apply(actions, {}, true);
    if (!waiting_bytes_.empty() && session_.phase() != session::Phase::closed) {
        // Replayed as if they had just arrived: the session treats them as it
        // treats any client that speaks before its greeting.
        const std::vector<std::byte> held = std::move(waiting_bytes_);
        session::Actions next;
        session_.on_client_bytes(held, proxy_.now(), next);
        apply(next, held, true);
    }
    std::vector<std::byte>().swap(waiting_bytes_);
}

void Connection::refuse_waiting(const session::Admission& refusal) {
    EntryGuard guard(*this);
    stop_waiting();
    session::Actions actions;
    session_.refuse_at_accept(refusal, actions);
    apply(actions, {}, true);
}

// Out of the Proxy's queue, whatever ended the wait.
void Connection::stop_waiting() {
    if (!waiting_) return;
    waiting_ = false;
    proxy_.leave_queue(*this);
    std::vector<std::byte>().swap(waiting_bytes_);
}

void Connection::on_waiting_bytes(ssize_t nread, const uv_buf_t* buf) {
    client_.bytes_in += static_cast<std::uint64_t>(nread);
    const auto* bytes = reinterpret_cast<const std::byte*>(buf->base);
    waiting_bytes_.insert(waiting_bytes_.end(), bytes, bytes + nread);  // alloc_cb bounded the read
    if (waiting_bytes_.size() >= max_waiting_bytes) stop_reading(client_);
}

void Connection::start_probe() {
    EntryGuard guard(*this);
    probe_ = true;
    peer_ = "readiness-probe";
    client_.closed = true;
    session::Actions actions;
    session_.start(actions);
    session_.on_client_closed(actions);  // nobody is there: finish a refused login on our own
    apply(actions, {}, true);
}

void Connection::start_reading(Socket& socket) {
    if (socket.reading || socket.closed || !socket.connected) return;
    if (uv_read_start(&socket.uv.stream, &Connection::alloc_cb, &Connection::read_cb) == 0) socket.reading = true;
}

void Connection::stop_reading(Socket& socket) {
    if (!socket.reading) return;
    uv_read_stop(&socket.uv.stream);
    socket.reading = false;
}

// Stop reading a side while the other side has unwritten bytes: memory per
// session stays bounded by one read per direction.
void Connection::update_backpressure() {
    hold_or_release(client_, upstream_);
    hold_or_release(upstream_, client_);
}

// Called after every step: most find the side already as it should be.
void Connection::hold_or_release(Socket& socket, const Socket& dest) {
    if (socket.closed || socket.close_after_flush || socket.draining || !socket.connected) return;
    const bool hold = dest.queued > 0;
    if (hold != socket.reading) return;  // held and not reading, or free and reading
    if (&socket == &client_ && waiting_ && waiting_bytes_.size() >= max_waiting_bytes) return;
    if (hold) {
        stop_reading(socket);
    } else {
        start_reading(socket);
    }
}

void Connection::alloc_cb(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(handle->data);
    *buf = self->proxy_.read_buffer();
    if (self->waiting_ && handle == &self->client_.uv.handle) {
        buf->len = static_cast<decltype(buf->len)>(
            std::min<std::size_t>(buf->len, max_waiting_bytes - self->waiting_bytes_.size()));
    }
}

void Connection::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(stream->data);
    Socket& from = reinterpret_cast<uv_stream_t*>(&self->client_.uv.stream) == stream ? self->client_ : self->upstream_;
    EntryGuard guard(*self);
    self->on_read(from, nread, buf);
    self->proxy_.connection_callbacks().ran(*self, ConnectionCallback::read);
}

void Connection::on_read(Socket& from, ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0) return;  // EAGAIN: not end of stream
    if (from.draining) return on_drain_read(from, nread);
    if (waiting_ && &from == &client_) {
        if (nread > 0) return on_waiting_bytes(nread, buf);
        stop_waiting();  // gone while waiting: out of the queue at once, then closed as usual
    }
    const bool from_client = &from == &client_;
    if (!from_client && connect_unconfirmed_ && !confirm_connect_by_read(nread)) return;
    session::Actions actions;
    if (nread < 0) return end_socket(from, nread != UV_EOF ? uv_err_name(static_cast<int>(nread)) : nullptr);
    from.bytes_in += static_cast<std::uint64_t>(nread);
    const codec::Bytes chunk(reinterpret_cast<const std::byte*>(buf->base), static_cast<std::size_t>(nread));
    if (from.tls) return on_tls_read(from, chunk);
    if (from_client) {
        session_.on_client_bytes(chunk, proxy_.now(), actions);
    } else {
        session_.on_upstream_bytes(chunk, proxy_.now(), actions);
    }
    apply(actions, chunk, from_client);
}

void Connection::apply(session::Actions& actions, codec::Bytes input, bool from_client) {
    if (actions.forward && !input.empty()) write(from_client ? upstream_ : client_, input);
    if (!actions.to_client.empty()) write(client_, actions.to_client);
    if (!actions.to_upstream.empty()) write(upstream_, actions.to_upstream);
    // After those writes: an SSLRequest goes in clear, the TLS handshake after it.
    if (actions.start_client_tls || actions.start_upstream_tls) start_tls_from(actions);
    if (!actions.events.empty()) handle_events(actions);
    if (actions.connect_upstream) connect_upstream();
    if (actions.close_client) {
        client_.drain_on_close = client_.drain_on_close || actions.drain_client;
        request_close(client_);
    }
    if (actions.close_upstream) request_close(upstream_);
    update_backpressure();
    maybe_finish();
}

void Connection::handle_events(session::Actions& actions) {
    proxy_.on_session_events(*this, actions);
    for (const session::SessionEvent& event : actions.events) {
        if (std::holds_alternative<session::LoginReceived>(event)) {
            session::Actions next;
            session_.admit(proxy_.admit(*this), next);
            apply(next, {}, true);
        }
        if (std::holds_alternative<session::ChangeUserAccepted>(event)) {
            session::Actions next;
            session_.admit_change_user(proxy_.admit(*this), next);  // a change of user is admitted like a login
            apply(next, {}, false);
        }
    }
}

void Connection::write(Socket& to, codec::Bytes bytes) {
    if (to.tls) return write_tls(to, bytes);
    write_raw(to, bytes);
}

// Bytes as they go on the wire (ciphertext on a TLS leg).
void Connection::write_raw(Socket& to, codec::Bytes bytes) {
    if (to.closed || !to.connected || to.close_after_flush) return;
    std::size_t written = 0;
    if (to.queued == 0) {
        // The fast path: the kernel takes the bytes now, nothing is copied or allocated.
        uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                                   static_cast<unsigned>(bytes.size()));
        const int rc = uv_try_write(&to.uv.stream, &buf, 1);
        if (rc >= 0) {
            written = static_cast<std::size_t>(rc);
        } else if (rc != UV_EAGAIN) {
            ++proxy_.connection_callbacks().counts().write_failed_at_once;
            on_socket_error(to, rc);
            return;
        }
    }
    if (written < bytes.size()) queue_write(to, bytes, written);
}

void Connection::queue_write(Socket& to, codec::Bytes bytes, std::size_t already_written) {
    auto* request = new WriteRequest;
    request->connection = this;
    request->socket = &to;
    request->bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(already_written), bytes.end());
    request->req.data = request;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()), static_cast<unsigned>(request->bytes.size()));
    const int rc = uv_write(&request->req, &to.uv.stream, &buf, 1, &Connection::write_cb);
    if (rc != 0) {
        delete request;
        ++proxy_.connection_callbacks().counts().write_failed_at_once;
        on_socket_error(to, rc);
        return;
    }
    ++proxy_.connection_callbacks().counts().writes_queued;
    if (to.queued == 0) on_backlog_changed(to, true);
    to.queued += request->bytes.size();
    ++pending_requests_;
}

// See suspend_user_timeout(): a slow reader is not a vanished host.
// The server socket's keepalive and TCP_USER_TIMEOUT, a second after connect
// (see upstream_keepalive_at_); suspended at once if writes are backed up.
void Connection::arm_upstream_keepalive() {
    upstream_keepalive_at_ = {};
    if (upstream_.closed || !upstream_.connected) return;
    enable_keepalive(&upstream_.uv.tcp, proxy_.config().upstream_keepalive);
    if (upstream_.queued > 0) suspend_user_timeout(&upstream_.uv.tcp);
}

void Connection::on_backlog_changed(Socket& socket, bool backlogged) {
    const bool client_side = &socket == &client_;
    // Not armed yet: no user timeout to suspend or restore (arming looks at the backlog).
    if (!client_side && upstream_keepalive_at_ != session::Clock::time_point{}) return;
    const auto& config = proxy_.config();
    const auto keepalive = client_side ? config.client_keepalive : config.upstream_keepalive;
    const auto kind = client_side ? config.listen.kind : config.upstream.kind;
    if (keepalive.count() == 0 || kind != config::Address::Kind::tcp || socket.closed) return;
    if (backlogged) {
        suspend_user_timeout(&socket.uv.tcp);
    } else {
        restore_user_timeout(&socket.uv.tcp, keepalive);
    }
}

void Connection::write_cb(uv_write_t* req, int status) {
    auto* request = static_cast<WriteRequest*>(req->data);
    Connection* self = request->connection;
    Socket& to = *request->socket;
    const std::size_t size = request->bytes.size();
    delete request;
    EntryGuard guard(*self);
    --self->pending_requests_;
    if (status == UV_ECANCELED) ++self->proxy_.connection_callbacks().counts().write_cancelled;
    self->on_written(to, size, status);
    self->proxy_.connection_callbacks().ran(*self, ConnectionCallback::write);
}

void Connection::on_written(Socket& to, std::size_t bytes, int status) {
    to.queued -= bytes;
    if (to.queued == 0 && status >= 0) on_backlog_changed(to, false);
    if (status < 0 && status != UV_ECANCELED) {
        on_socket_error(to, status);
        return;
    }
    if (to.queued == 0 && to.close_after_flush) {
        to.close_after_flush = false;
        request_close(to);
    }
    update_backpressure();
    maybe_finish();
}

void Connection::on_socket_error(Socket& socket, int status) { end_socket(socket, uv_err_name(status)); }

// A socket ended under the session (EOF, a reset, an error, the TLS peer's
// close_notify): closed, and the session told which side is gone. `error`:
// why, when it was not a plain end of stream (the first one is kept).
void Connection::end_socket(Socket& socket, const char* error) {
    if (socket.closed) return;
    if (error != nullptr && socket_error_ == nullptr) socket_error_ = error;
    stop_reading(socket);
    close_socket(socket);
    session::Actions actions;
    if (&socket == &client_) {
        session_.on_client_closed(actions);
    } else {
        session_.on_upstream_closed(actions);
    }
    apply(actions, {}, &socket == &client_);
}

// Close once what was queued for the socket has been written.
void Connection::request_close(Socket& socket) {
    if (socket.closed || socket.draining) return;
    if (socket.tls) close_tls(socket);  // close_notify goes out before the FIN
    stop_reading(socket);
    if (socket.queued > 0 && socket.connected) {
        socket.close_after_flush = true;
        return;
    }
    if (socket.drain_on_close && socket.connected) return start_drain(socket);
    close_socket(socket);
}

// Everything for the peer is written: send FIN, then read and drop what it
// still sends until it closes, the budget is spent or the handshake timeout
// passes (tick). Its ERR arrives intact instead of being lost to a reset.
void Connection::start_drain(Socket& socket) {
    socket.draining = true;
    drain_deadline_ = proxy_.now() + proxy_.config().handshake_timeout;
    drain_budget_ = max_drain_bytes;
    auto* req = new uv_shutdown_t;
    req->data = this;
    if (uv_shutdown(req, &socket.uv.stream, &Connection::shutdown_cb) != 0) {
        delete req;
        close_socket(socket);
        return;
    }
    ++pending_requests_;
    if (uv_read_start(&socket.uv.stream, &Connection::alloc_cb, &Connection::read_cb) == 0) {
        socket.reading = true;
    } else {
        close_socket(socket);
    }
}

void Connection::on_drain_read(Socket& socket, ssize_t nread) {
    if (nread < 0 || static_cast<std::size_t>(nread) >= drain_budget_) {
        close_socket(socket);  // read_cb's EntryGuard finishes the connection
        return;
    }
    drain_budget_ -= static_cast<std::size_t>(nread);
}

void Connection::shutdown_cb(uv_shutdown_t* req, int) {
    auto* self = static_cast<Connection*>(req->data);
    delete req;
    --self->pending_requests_;
    self->maybe_finish();
}

void Connection::close_socket(Socket& socket) {
    if (socket.closed) return;
    socket.closed = true;
    socket.reading = false;
    if (&socket == &upstream_ && connect_requests_ && connect_requests_->resolving) {
        uv_cancel(reinterpret_cast<uv_req_t*>(&connect_requests_->resolve));  // still resolving
    }
    if (socket.initialized && !uv_is_closing(&socket.uv.handle)) uv_close(&socket.uv.handle, &Connection::close_cb);
}

void Connection::close_cb(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    EntryGuard guard(*self);
    --self->open_handles_;
    self->proxy_.connection_callbacks().ran(*self, ConnectionCallback::close);
    self->maybe_finish();
}

void Connection::maybe_finish() {
    if (finished_ || entry_depth_ > 0) return;  // the outermost EntryGuard comes back here
    if (session_.phase() != session::Phase::closed) return;
    // The session is done: make sure both sockets are on their way out.
    request_close(client_);
    request_close(upstream_);
    if (open_handles_ > 0 || pending_requests_ > 0) return;
    finished_ = true;
    ++proxy_.connection_callbacks().counts().finished;
    proxy_.on_connection_finished(this);  // deletes this
}

void Connection::tick(session::Clock::time_point now) {
    EntryGuard guard(*this);
    if (waiting_) return;  // the Proxy ends waits (HandshakeQueue::take_expired)
    if (upstream_keepalive_at_ != session::Clock::time_point{} && now >= upstream_keepalive_at_) arm_upstream_keepalive();
    if (client_.draining && !client_.closed && now > drain_deadline_) {
        close_socket(client_);  // the guard's exit finishes the connection
        return;
    }
    if (session_.phase() == session::Phase::closed) return;
    confirm_connect_by_peer(now);  // before the session judges its connect timeout
    session::Actions actions;
    session_.on_tick(now, actions);
    apply(actions, {}, true);
}

void Connection::close(session::CloseReason reason) {
    EntryGuard guard(*this);
    if (client_.draining) close_socket(client_);  // admin or shutdown: no more waiting for it
    stop_waiting();
    session::Actions actions;
    session_.close(reason, actions);
    apply(actions, {}, true);
    // Closed from outside (admin, shutdown, idle policy): a peer that has
    // stopped reading would keep what is queued to it, and this Connection
    // (and a shutdown waiting for it), forever. Its writes are cancelled.
    for (Socket* socket : {&client_, &upstream_}) {
        if (socket->close_after_flush) close_socket(*socket);
    }
}

}  // namespace tether::io
