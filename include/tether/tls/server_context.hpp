// The TLS context of the client leg: tether's certificate and key, presented
// to the clients that send an SSLRequest.
#pragma once

#include <memory>
#include <string>

#include "tether/tls/loaded.hpp"
#include "tether/tls/protocol_version.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace tether::tls {

struct ServerOptions {
    std::string certificate_file;  // PEM: the leaf first, then any intermediates
    std::string key_file;          // PEM private key matching the leaf
    ProtocolVersion min_version = ProtocolVersion::tls1_2;
    // OpenSSL cipher list for TLS 1.2 (SSL_CTX_set_cipher_list); empty keeps
    // OpenSSL's default.
    std::string ciphers;
    // TLS 1.3 ciphersuites (SSL_CTX_set_ciphersuites, e.g.
    // "TLS_AES_128_GCM_SHA256"); empty keeps the default three, all AEADs,
    // which few deployments need to restrict.
    std::string ciphersuites;
};

// Owns one SSL_CTX. Shared: every Engine keeps the context it started with,
// so a reload (a new ServerContext) never pulls one out from under an open
// session. Not copyable or movable (OpenSSL points back at it).
class ServerContext {
public:
    static Loaded<std::shared_ptr<const ServerContext>> load(const ServerOptions& options);

    ~ServerContext();
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    [[nodiscard]] SSL_CTX* native() const { return ctx_; }
    [[nodiscard]] const ServerOptions& options() const { return options_; }

private:
    ServerContext(SSL_CTX* ctx, ServerOptions options) : ctx_(ctx), options_(std::move(options)) {}
    SSL_CTX* ctx_;
    ServerOptions options_;
};

}  // namespace tether::tls
