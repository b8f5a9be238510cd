// A Connection's TLS legs: the engine between socket and session (see
// Socket::tls). The session keeps seeing plaintext; only this file knows TLS.
#include <algorithm>

#include "tether/io/connection.hpp"
#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

std::span<const std::uint8_t> as_u8(codec::Bytes bytes) {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

}  // namespace

// Actions::start_client_tls (after the client's SSLRequest) and
// start_upstream_tls (after tether's, written just before).
void Connection::start_tls_from(session::Actions& actions) {
    if (actions.start_client_tls && !client_.closed) {
        auto engine = proxy_.tls().server() ? tls::Engine::server(proxy_.tls().server()) : nullptr;
        if (!engine) {
            on_tls_failed(client_, {tls::FailureReason::other, "no TLS session could be made"});
        } else {
            start_tls(client_, std::move(engine), actions.client_tls_bytes);
        }
    }
    if (actions.start_upstream_tls && !upstream_.closed) {
        auto engine = proxy_.tls().client() ? tls::Engine::client(proxy_.tls().client()) : nullptr;
        if (!engine) {
            on_tls_failed(upstream_, {tls::FailureReason::other, "no TLS session could be made"});
        } else {
            start_tls(upstream_, std::move(engine), {});
        }
    }
}

void Connection::start_tls(Socket& socket, std::unique_ptr<tls::Engine> engine, codec::Bytes already_read) {
    socket.tls = std::move(engine);
    if (!already_read.empty()) socket.tls->feed(as_u8(already_read));
    advance_tls_handshake(socket);  // a client engine writes its ClientHello here
}

void Connection::on_tls_read(Socket& from, codec::Bytes ciphertext) {
    from.tls->feed(as_u8(ciphertext));
    if (from.tls->state() == tls::Engine::State::handshaking) return advance_tls_handshake(from);
    deliver_tls_plaintext(from);
}

void Connection::advance_tls_handshake(Socket& socket) {
    const auto state = socket.tls->handshake();
    flush_tls(socket);
    if (state == tls::Engine::State::handshaking) return;
    if (state == tls::Engine::State::failed) return on_tls_failed(socket, socket.tls->failure());
    on_tls_established(socket);
}

void Connection::on_tls_established(Socket& socket) {
    if (&socket == &upstream_) {
        session::Actions actions;
        if (const auto& rejection = socket.tls->peer_rejection()) {
            // Completed, not trusted: the session refuses its client and ends
            // the server's login with the reserved user, which carries no secret.
            proxy_.on_tls_failure(*this, "upstream", *rejection);
            session_.on_upstream_tls_failed(rejection->detail, true, actions);
        } else {
            proxy_.on_upstream_tls_ready();
            session_.on_upstream_tls_ready(actions);
        }
        apply(actions, {}, false);
    }
    // The peer's first data may have come with its last handshake message
    // (a client's login right behind its Finished).
    deliver_tls_plaintext(socket);
}

// The handshake failed (its alert is on its way to the peer) or could not start.
void Connection::on_tls_failed(Socket& socket, const tls::Failure& failure) {
    const bool client_side = &socket == &client_;
    proxy_.on_tls_failure(*this, client_side ? "client" : "upstream", failure);
    if (socket_error_ == nullptr) socket_error_ = "tls_handshake_failed";
    session::Actions actions;
    if (client_side) {
        // Nothing more goes to this client but the alert; its server side is
        // finished like any abandoned handshake's.
        request_close(client_);
        session_.on_client_closed(actions);
    } else {
        session_.on_upstream_tls_failed(failure.detail, false, actions);
    }
    apply(actions, {}, client_side);
}

// Every plaintext byte the engine can give, to the session as if it had just
// been read. One buffer per side: delivering on one leg can complete the
// other leg's handshake, which delivers in turn.
void Connection::deliver_tls_plaintext(Socket& from) {
    const bool from_client = &from == &client_;
    const std::span<std::uint8_t> buffer = proxy_.tls_plaintext_buffer(from_client);
    while (from.tls && !from.closed) {
        const std::size_t n = from.tls->read(buffer);
        flush_tls(from);  // reading can produce output (a key update's answer, an alert)
        if (n == 0) break;
        const codec::Bytes chunk(reinterpret_cast<const std::byte*>(buffer.data()), n);
        session::Actions actions;
        if (from_client) {
            session_.on_client_bytes(chunk, proxy_.now(), actions);
        } else {
            session_.on_upstream_bytes(chunk, proxy_.now(), actions);
        }
        apply(actions, chunk, from_client);
    }
    if (!from.tls || from.closed) return;
    const auto state = from.tls->state();
    if (state == tls::Engine::State::open) return;
    // close_notify, or a TLS error inside the session: the leg has ended.
    end_socket(from, state == tls::Engine::State::failed ? "tls_error" : nullptr);
}

void Connection::write_tls(Socket& to, codec::Bytes plaintext) {
    if (to.closed || !to.connected || to.close_after_flush) return;
    // The session writes to a leg only once its handshake is done (it waits
    // for on_upstream_tls_ready; a client speaks first inside TLS).
    if (to.tls->state() != tls::Engine::State::open) return;
    auto rest = as_u8(plaintext);
    while (!rest.empty()) {
        const std::size_t n = to.tls->write(rest);
        flush_tls(to);
        if (n == 0) {
            if (to.tls->state() == tls::Engine::State::failed) on_socket_error(to, UV_EPROTO);
            return;
        }
        rest = rest.subspan(n);
    }
}

// Ciphertext the engine made, onto the socket (copied into a write request
// only when the socket cannot take it at once).
void Connection::flush_tls(Socket& socket) {
    if (!socket.tls) return;
    const std::span<std::uint8_t> scratch = proxy_.tls_ciphertext_buffer();
    while (socket.tls->pending_ciphertext() > 0) {
        const std::size_t n = socket.tls->take_ciphertext(scratch);
        if (n == 0) break;
        write_raw(socket, codec::Bytes(reinterpret_cast<const std::byte*>(scratch.data()), n));
    }
}

void Connection::close_tls(Socket& socket) {
    if (socket.closed || !socket.connected || socket.tls->state() != tls::Engine::State::open) return;
    socket.tls->shutdown();
    flush_tls(socket);
}

}  // namespace tether::io
