// The client leg's TLS context (see server_context.hpp).
#include "tether/tls/server_context.hpp"

#include <openssl/ssl.h>

#include "context_setup.hpp"
#include "openssl_error.hpp"

namespace tether::tls {

Loaded<std::shared_ptr<const ServerContext>> ServerContext::load(const ServerOptions& options) {
    using Result = Loaded<std::shared_ptr<const ServerContext>>;
    if (options.certificate_file.empty() || options.key_file.empty())
        return Result::failed("a TLS certificate needs both a certificate file and a key file");
    detail::clear_openssl_errors();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return Result::failed(detail::openssl_error("cannot create a TLS server context"));
    // Owned from here on, so every early return frees it.
    std::shared_ptr<const ServerContext> context(new ServerContext(ctx, options));

    if (auto error = detail::apply_common_settings(ctx, options.min_version); !error.empty())
        return Result::failed(error);
    if (auto error = detail::load_certificate_and_key(ctx, options.certificate_file, options.key_file);
        !error.empty())
        return Result::failed(error);
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1)
        return Result::failed(detail::openssl_error("no usable cipher in the TLS 1.2 cipher list \"" +
                                                    options.ciphers + "\""));
    if (!options.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1)
        return Result::failed(detail::openssl_error("no usable suite in the TLS 1.3 ciphersuites \"" +
                                                    options.ciphersuites + "\""));
    // The clients choose their cipher within what both accept, but the
    // server's order wins: it keeps weak ones last when an old client offers them.
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Resumption through stateless tickets only (on by default, and cheap:
    // the state travels with the client). The server-side session cache is
    // off: it would hold up to 20,480 sessions for clients that come back
    // or not, memory keyed by what clients do.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // One TLS 1.3 ticket per handshake instead of OpenSSL's two: few MySQL
    // clients resume at all, and each ticket is sealed and sent for nothing then.
    SSL_CTX_set_num_tickets(ctx, 1);
    return Result::ok(std::move(context));
}

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

}  // namespace tether::tls
