// The TLS context of the server leg: what tether trusts, which name it
// expects, the client certificate it may present, and the session it resumes.
#pragma once

#include <memory>
#include <string>

#include "tether/tls/client_mode.hpp"
#include "tether/tls/loaded.hpp"
#include "tether/tls/protocol_version.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_session_st SSL_SESSION;
typedef struct ssl_st SSL;

namespace tether::tls {

struct ClientOptions {
    ClientMode mode = ClientMode::preferred;
    // PEM CA bundle. Empty under verify-*: the system store (OpenSSL's
    // default paths, /etc/ssl/certs on Debian).
    std::string ca_file;
    // A client certificate (PEM, chain allowed) and its key, for servers that
    // require one (REQUIRE X509); both or neither.
    std::string certificate_file;
    std::string key_file;
    // Sent as SNI (unless it is an IP literal, which SNI may not carry) and,
    // under verify-identity, the name the certificate must hold: a DNS name
    // or an IP address.
    std::string server_name;
    ProtocolVersion min_version = ProtocolVersion::tls1_2;
};

// Owns one SSL_CTX and the most recent session the server handed out: tether
// talks to one upstream, so the next connection offers that session and skips
// the full handshake (TLS 1.2 session ids or tickets, TLS 1.3 tickets, which
// arrive after the handshake, through OpenSSL's new-session callback).
// Shared by the Engines started from it; one libuv loop, so no locking.
class ClientContext {
public:
    // mode disabled needs no context and is refused here.
    static Loaded<std::shared_ptr<ClientContext>> load(const ClientOptions& options);

    ~ClientContext();
    ClientContext(const ClientContext&) = delete;
    ClientContext& operator=(const ClientContext&) = delete;

    [[nodiscard]] SSL_CTX* native() const { return ctx_; }
    [[nodiscard]] const ClientOptions& options() const { return options_; }
    [[nodiscard]] bool server_name_is_ip() const { return server_name_is_ip_; }

    // The session to offer on the next connection (nullptr: none yet, or
    // the last one is no longer resumable). Not owned by the caller.
    [[nodiscard]] SSL_SESSION* resumable_session() const;
    // Drops the remembered session (e.g. after a handshake offering it failed).
    void forget_session();

private:
    ClientContext(SSL_CTX* ctx, ClientOptions options);
    static int on_new_session(SSL* ssl, SSL_SESSION* session);

    SSL_CTX* ctx_;
    ClientOptions options_;
    bool server_name_is_ip_ = false;
    SSL_SESSION* session_ = nullptr;  // owned (one reference)
};

}  // namespace tether::tls
