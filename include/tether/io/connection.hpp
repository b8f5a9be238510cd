// One client connection: the client socket, its upstream socket and the Session
// between them. Owns both libuv handles; deletes itself after both have closed.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tether/io/stream_handle.hpp"
#include "tether/ledger/session_account.hpp"
#include "tether/metrics/metrics.hpp"
#include "tether/session/session.hpp"
#include "tether/tls/engine.hpp"

namespace tether::io {

class Proxy;

// A socket end: TCP or unix. The union keeps the handle at a stable address for
// its whole life (the Connection is never moved).
struct Socket {
    StreamHandle uv{};
    bool initialized = false;    // uv_*_init ran: the handle must be uv_close()d
    bool connected = false;
    bool reading = false;
    bool close_after_flush = false;
    bool drain_on_close = false; // half-close and read what the peer still sends before closing
    bool draining = false;       // shut down for writing; reads are dropped until EOF or a bound
    bool closed = false;         // uv_close was called
    std::size_t queued = 0;      // bytes in write requests not completed yet
    std::uint64_t bytes_in = 0;  // read from this socket
    // TLS on this leg (connection_tls.cpp): from the SSLRequest on, every byte
    // read is ciphertext for the engine and every byte written goes through it.
    std::unique_ptr<tls::Engine> tls;
};

class Connection {
public:
    // `client` is null for a readiness probe: a session whose client is gone
    // from the start, so it only finishes a reserved-user login.
    Connection(Proxy& proxy, std::uint64_t id, const session::SessionConfig& config);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // A Connection is about 2 KB, above glibc's per-thread cache: under churn
    // each one freed went through the allocator's coalescing and the next one
    // back. Freed ones are kept for reuse instead, at most
    // spare_connections_kept of them (about 130 KB) per thread.
    static void* operator new(std::size_t size);
    static void operator delete(void* storage, std::size_t size) noexcept;
    static constexpr std::size_t spare_connections_kept = 64;

    // Takes the accepted client (already initialized by the listener).
    void start_with_client(std::string peer);
    void start_probe();
    // Takes the accepted client, refused at accept: it gets `refusal` as its
    // first packet, no server connection is made.
    void start_refused(std::string peer, const session::Admission& refusal);
    // Takes the accepted client, over the handshake caps: it waits in the
    // Proxy's HandshakeQueue holding only its socket (no Session started, no
    // server connection). Its socket is read so that a client that leaves is
    // noticed at once; what it sends before its greeting (a MySQL client
    // sends nothing) is held, up to max_waiting_bytes, for its session.
    void start_waiting(std::string peer);
    // A handshake slot is its: from here it is a normal session.
    void start_after_wait();
    // Its wait ended without a slot (timeout, queue full): `refusal` is its first packet.
    void refuse_waiting(const session::Admission& refusal);
    [[nodiscard]] bool waiting() const { return waiting_; }

    // Held bytes of a waiting client; past this tether stops reading it (the
    // kernel's buffer holds the rest) until it gets a slot or its wait ends.
    static constexpr std::size_t max_waiting_bytes = 4 * 1024;

    void tick(session::Clock::time_point now);
    void close(session::CloseReason reason);

    [[nodiscard]] std::uint64_t id() const { return id_; }
    [[nodiscard]] const session::Session& session() const { return session_; }
    // The client's address without the port: what the `addr` label uses.
    [[nodiscard]] const std::string& peer() const { return peer_; }
    [[nodiscard]] std::uint16_t peer_port() const { return peer_port_; }
    void set_peer_port(std::uint16_t port) { peer_port_ = port; }
    [[nodiscard]] bool is_probe() const { return probe_; }
    [[nodiscard]] std::uint64_t bytes_from_client() const { return client_.bytes_in; }
    [[nodiscard]] std::uint64_t bytes_from_upstream() const { return upstream_.bytes_in; }
    [[nodiscard]] const metrics::SessionLabels* labels() const { return account_.labels(); }
    [[nodiscard]] bool counted_open() const { return account_.counted_open(); }
    // The janitor judged it a leak suspect in its current idle spell.
    [[nodiscard]] bool leak_suspect() const { return suspect_logged_; }
    // What the session is counted under in the Proxy's SessionLedger; only the ledger changes it.
    [[nodiscard]] const ledger::SessionAccount& account() const { return account_; }
    ledger::SessionAccount& account() { return account_; }
    [[nodiscard]] bool upstream_was_connected() const { return upstream_counted_; }
    [[nodiscard]] const char* socket_error() const { return socket_error_; }
    // The TLS version of each leg ("TLSv1.3"), or empty when it is plaintext.
    [[nodiscard]] std::string_view client_tls_version() const { return client_.tls ? client_.tls->version() : ""; }
    [[nodiscard]] std::string_view upstream_tls_version() const { return upstream_.tls ? upstream_.tls->version() : ""; }

    Socket& client_socket() { return client_; }

private:
    friend class Proxy;
    struct WriteRequest;

    void apply(session::Actions& actions, codec::Bytes input, bool from_client);
    void handle_events(session::Actions& actions);
    void write(Socket& to, codec::Bytes bytes);
    void write_raw(Socket& to, codec::Bytes bytes);
    // connection_tls.cpp
    void start_tls(Socket& socket, std::unique_ptr<tls::Engine> engine, codec::Bytes already_read);
    void on_tls_read(Socket& from, codec::Bytes ciphertext);
    void advance_tls_handshake(Socket& socket);
    void on_tls_established(Socket& socket);
    void on_tls_failed(Socket& socket, const tls::Failure& failure);
    void deliver_tls_plaintext(Socket& from);
    void write_tls(Socket& to, codec::Bytes plaintext);
    void flush_tls(Socket& socket);
    void close_tls(Socket& socket);
    void start_tls_from(session::Actions& actions);
    void queue_write(Socket& to, codec::Bytes bytes, std::size_t already_written);
    void close_socket(Socket& socket);
    void request_close(Socket& socket);
    void start_drain(Socket& socket);
    void on_drain_read(Socket& socket, ssize_t nread);
    void start_reading(Socket& socket);
    void stop_reading(Socket& socket);
    void update_backpressure();
    void hold_or_release(Socket& socket, const Socket& dest);
    void connect_upstream();
    void on_resolved(int status, addrinfo* result);
    void connect_tcp(const sockaddr* address);
    int start_tcp_connect(const sockaddr* address);
    bool confirm_connect_by_read(ssize_t nread);
    void confirm_connect_by_peer(session::Clock::time_point now);
    void connect_confirmed(int status);
    void connect_next_address();
    void on_address_failed(int status);
    void on_connected(int status);
    void on_read(Socket& from, ssize_t nread, const uv_buf_t* buf);
    void on_written(Socket& to, std::size_t bytes, int status);
    void on_backlog_changed(Socket& socket, bool backlogged);
    void arm_upstream_keepalive();
    void on_socket_error(Socket& socket, int status);
    void end_socket(Socket& socket, const char* error);
    void on_socket_closed();
    void maybe_finish();
    void stop_waiting();
    void on_waiting_bytes(ssize_t nread, const uv_buf_t* buf);
    // Held by every entry point into a Connection (libuv callbacks, the
    // Proxy's calls): the Connection is finished (and deleted) only when the
    // outermost one returns, never while a caller up the stack still uses it
    // (a synchronous libuv failure inside apply(), a callback closing its own
    // connection).
    class EntryGuard {
    public:
        explicit EntryGuard(Connection& c) : c_(c) { ++c_.entry_depth_; }
        EntryGuard(const EntryGuard&) = delete;
        EntryGuard& operator=(const EntryGuard&) = delete;
        ~EntryGuard() {
            if (--c_.entry_depth_ == 0) c_.maybe_finish();  // may delete c_: nothing after this
        }

    private:
        Connection& c_;
    };
    Socket& other(Socket& s) { return &s == &client_ ? upstream_ : client_; }

    static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void write_cb(uv_write_t* req, int status);
    static void close_cb(uv_handle_t* handle);
    static void shutdown_cb(uv_shutdown_t* req, int status);
    static void resolve_cb(uv_getaddrinfo_t* req, int status, addrinfo* result);
    static void connect_cb(uv_connect_t* req, int status);
    static void retry_close_cb(uv_handle_t* handle);

    Proxy& proxy_;
    std::uint64_t id_;
    session::Session session_;
    Socket client_;
    Socket upstream_;
    // Requests of the upstream connect; allocated only while connecting, so an
    // established session does not carry them.
    struct ConnectRequests {
        uv_getaddrinfo_t resolve{};
        uv_connect_t connect{};
        bool resolving = false;
        // Every address the name resolved to, tried in order (IPv6 and IPv4
        // for one name, several A records for a cluster endpoint) within
        // --connect-timeout in total.
        std::vector<sockaddr_storage> addresses;
        std::size_t next = 0;
        std::string failures;  // why each one failed, for the client's ERR
    };
    std::unique_ptr<ConnectRequests> connect_requests_;
    int pending_requests_ = 0;  // resolve/connect/write/shutdown requests whose callbacks have not run
    int open_handles_ = 0;      // initialized handles whose close callbacks have not run
    bool probe_ = false;
    bool finished_ = false;
    int entry_depth_ = 0;  // EntryGuards on the stack
    bool upstream_counted_ = false;
    // A TCP connect was started and no read or tick has confirmed it yet (upstream_connect.cpp).
    bool connect_unconfirmed_ = false;
    session::Clock::time_point connect_started_at_{};
    std::uint16_t peer_port_ = 0;  // next to the flags: no padding of its own
    std::string peer_;
    // Its handshake slot (under Proxy::gate_address, the peer's IP), admission
    // charge, labels and open-session series.
    ledger::SessionAccount account_;
    // In the Proxy's HandshakeQueue; what the client sent meanwhile (allocated only if it sent anything).
    bool waiting_ = false;
    std::vector<std::byte> waiting_bytes_;
    bool suspect_logged_ = false;  // a leak suspect now: the leak_suspect line for this idle spell was written
    const char* socket_error_ = nullptr;  // why a socket ended, when it was not a plain EOF
    // A refused client being drained (see Actions::drain_client): until when, and how much is left.
    session::Clock::time_point drain_deadline_{};
    std::size_t drain_budget_ = 0;
    // When the server socket gets its keepalive options (zero: set, or not
    // due). Not at connect: a connection that ends within a second (one per
    // request, the churn of PHP apps) never needs a probe that starts after
    // --upstream-keepalive of silence, and the five setsockopt calls are a
    // sixth of its system calls.
    session::Clock::time_point upstream_keepalive_at_{};
};

}  // namespace tether::io
