// The server leg's TLS context and its remembered session (see client_context.hpp).
#include "tether/tls/client_context.hpp"

#include <arpa/inet.h>
#include <ctime>
#include <openssl/ssl.h>

#include "context_setup.hpp"
#include "openssl_error.hpp"

namespace tether::tls {

namespace {

// Lets the handshake go on past a verification error; OpenSSL keeps the
// error, which SSL_get_verify_result reports once the handshake is done.
int judge_after_handshake(int, X509_STORE_CTX*) { return 1; }

}  // namespace

namespace {
bool is_ip_literal(const std::string& name) {
    unsigned char address[16];
    return inet_pton(AF_INET, name.c_str(), address) == 1 || inet_pton(AF_INET6, name.c_str(), address) == 1;
}
}  // namespace

Loaded<std::shared_ptr<ClientContext>> ClientContext::load(const ClientOptions& options) {
    using Result = Loaded<std::shared_ptr<ClientContext>>;
    if (options.mode == ClientMode::disabled) return Result::failed("upstream TLS is disabled: no TLS context to load");
    if (options.certificate_file.empty() != options.key_file.empty())
        return Result::failed("a client certificate needs both a certificate file and a key file");
    if (options.mode == ClientMode::verify_identity && options.server_name.empty())
        return Result::failed("verify-identity needs the server's name to check its certificate against");
    detail::clear_openssl_errors();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return Result::failed(detail::openssl_error("cannot create a TLS client context"));
    std::shared_ptr<ClientContext> context(new ClientContext(ctx, options));

    if (auto error = detail::apply_common_settings(ctx, options.min_version); !error.empty())
        return Result::failed(error);
    // A CA file given under preferred/required is still loaded, so a wrong
    // path is reported at start rather than when someone raises the mode.
    if (!options.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1)
            return Result::failed(detail::openssl_error("cannot load the CA certificates from", options.ca_file));
    } else if (verifies_peer(options.mode)) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return Result::failed(detail::openssl_error("cannot load the system's CA certificates"));
    }
    // preferred and required encrypt without checking who answers, as
    // MySQL's clients do in those modes; only verify-* checks the chain.
    // The check is judged after the handshake (Engine::peer_rejection), not
    // by aborting it: a server whose TLS handshake breaks off counts that
    // against tether's address (max_connect_errors), where a completed one
    // followed by tether's refused reserved-user login (no secret crosses
    // the untrusted channel) ends as a failed login.
    SSL_CTX_set_verify(ctx, verifies_peer(options.mode) ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       verifies_peer(options.mode) ? &judge_after_handshake : nullptr);
    if (!options.certificate_file.empty()) {
        if (auto error = detail::load_certificate_and_key(ctx, options.certificate_file, options.key_file);
            !error.empty())
            return Result::failed(error);
    }
    // Client-side caching without OpenSSL's internal store: the callback
    // keeps the one newest session, which is all one upstream needs.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &ClientContext::on_new_session);
    return Result::ok(std::move(context));
}

ClientContext::ClientContext(SSL_CTX* ctx, ClientOptions options)
    : ctx_(ctx), options_(std::move(options)), server_name_is_ip_(is_ip_literal(options_.server_name)) {
    // The callback finds this object through its SSL_CTX; the object never
    // moves (held by shared_ptr, neither copyable nor movable).
    SSL_CTX_set_app_data(ctx_, this);
}

ClientContext::~ClientContext() {
    SSL_SESSION_free(session_);
    SSL_CTX_free(ctx_);
}

int ClientContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    if (self == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
    // A server that failed verification must not be resumed into trust later.
    if (verifies_peer(self->options_.mode) && SSL_get_verify_result(ssl) != X509_V_OK) return 0;
    // TLS 1.3 servers send tickets in twos (OpenSSL's default): the later
    // replaces the earlier, and each stays reusable for the next connections.
    SSL_SESSION_free(self->session_);
    self->session_ = session;
    return 1;  // we keep the reference OpenSSL handed over
}

SSL_SESSION* ClientContext::resumable_session() const {
    if (session_ == nullptr || SSL_SESSION_is_resumable(session_) != 1) return nullptr;
    // Past its lifetime the server would refuse it anyway; offering it only
    // costs the ClientHello the ticket's bytes.
    if (SSL_SESSION_get_time(session_) + SSL_SESSION_get_timeout(session_) < std::time(nullptr)) return nullptr;
    return session_;
}

void ClientContext::forget_session() {
    SSL_SESSION_free(session_);
    session_ = nullptr;
}

}  // namespace tether::tls
