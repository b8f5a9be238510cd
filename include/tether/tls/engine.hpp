// One TLS session over memory buffers, server or client role, driven by the
// caller's bytes: no socket, no thread, no libuv.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "tether/tls/client_context.hpp"
#include "tether/tls/failure.hpp"
#include "tether/tls/server_context.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace tether::tls {

// The caller moves bytes: ciphertext read from the socket goes to feed(),
// ciphertext the engine produced comes out of take_ciphertext() and goes to
// the socket; plaintext goes through write() and read(). After every
// handshake(), read(), write() and shutdown() the caller drains
// pending_ciphertext(): reading can produce output too (an alert, a key
// update's answer), and a failed handshake leaves its alert there, which is
// worth sending before the close so the peer learns why.
//
// Ciphertext is copied out into the caller's buffer rather than lent from the
// engine: OpenSSL appends to (and may reallocate or compact) its memory BIO on
// the next SSL_write, so a pointer into it could not stay valid until an
// asynchronous socket write's callback. The copy is one memcpy of what TLS
// already produced, small beside the encryption, and it lets the engine drop
// the buffer as soon as it is drained.
class Engine {
public:
    enum class State {
        handshaking,  // handshake() has not finished yet
        open,         // handshake done: read() and write() carry data
        peer_closed,  // the peer sent close_notify (or the stream ended after the handshake)
        failed,       // see failure()
    };

    // The default bound on ciphertext waiting for the socket before write()
    // stops taking plaintext: four full records.
    static constexpr std::size_t default_ciphertext_limit = 4 * 16 * 1024 + 4 * 64;

    // nullptr only when OpenSSL cannot allocate a session (or, for a
    // client, cannot take the server name): refuse the connection then.
    static std::unique_ptr<Engine> server(std::shared_ptr<const ServerContext> context);
    static std::unique_ptr<Engine> client(std::shared_ptr<ClientContext> context);

    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Ciphertext read from the socket (copied in; the span may be reused at
    // once). Kept until read() or handshake() consumes it, without a bound
    // of its own: a caller that stops calling read() (the other side is
    // slow) stops reading the socket too, as for plaintext.
    void feed(std::span<const std::uint8_t> ciphertext);
    // The socket reached end of stream: a handshake still running fails with
    // peer_closed; an open session is peer_closed once the fed bytes are read.
    void feed_eof();

    // Advances the handshake with what was fed (the client's first call
    // produces its ClientHello). Returns the state: handshaking, open (done)
    // or failed. Harmless to call again once done.
    State handshake();

    // Decrypted bytes into out; 0 when nothing is readable yet (feed more),
    // the peer closed, or the session failed (see state()).
    std::size_t read(std::span<std::uint8_t> out);
    // Encrypts up to plaintext.size() bytes; returns how many it took. Takes
    // fewer, down to 0, while more than ciphertext_limit bytes wait in
    // pending_ciphertext(): that is the backpressure the socket gives.
    std::size_t write(std::span<const std::uint8_t> plaintext);

    [[nodiscard]] std::size_t pending_ciphertext() const;
    // Moves up to out.size() bytes of pending ciphertext into out; returns how many.
    std::size_t take_ciphertext(std::span<std::uint8_t> out);

    // Queues close_notify (then drain pending_ciphertext()). Once: later calls do nothing.
    void shutdown();

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] const Failure& failure() const { return failure_; }
    // A client under verify-ca / verify-identity: once the handshake is done,
    // why the server's certificate is not trusted (nothing when it is). The
    // handshake itself completes either way (see ClientContext::load): the
    // caller sends nothing secret over a rejected session and ends it.
    [[nodiscard]] const std::optional<Failure>& peer_rejection() const { return peer_rejection_; }
    // "TLSv1.3", "TLSv1.2"; empty before the handshake is done.
    [[nodiscard]] std::string_view version() const;
    // The negotiated cipher suite (OpenSSL's name); empty before.
    [[nodiscard]] std::string_view cipher() const;
    // Whether the handshake resumed an earlier session.
    [[nodiscard]] bool resumed() const;

    void set_ciphertext_limit(std::size_t bytes) { ciphertext_limit_ = bytes; }

private:
    Engine(SSL* ssl, std::shared_ptr<const ServerContext> server, std::shared_ptr<ClientContext> client);
    void fail(int ssl_error);
    void release_drained_buffers();
    BIO* input() const;
    BIO* output() const;

    SSL* ssl_;
    // The context this session started with, kept alive as long as it is.
    std::shared_ptr<const ServerContext> server_context_;
    std::shared_ptr<ClientContext> client_context_;
    State state_ = State::handshaking;
    Failure failure_;
    std::optional<Failure> peer_rejection_;
    std::size_t ciphertext_limit_ = default_ciphertext_limit;
    bool eof_ = false;
    bool shutdown_sent_ = false;
    bool offered_session_ = false;  // a client that offered the context's session for resumption
    bool input_trimmed_ = false;   // the handshake's input buffer was released
    bool output_trimmed_ = false;  // likewise its output buffer
    bool saw_first_byte_ = false;
    bool first_byte_is_tls_ = true;
};

}  // namespace tether::tls
