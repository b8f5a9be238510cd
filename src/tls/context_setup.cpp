// The settings both TLS contexts share (see context_setup.hpp).
#include "context_setup.hpp"

#include <openssl/ssl.h>

#include "openssl_error.hpp"

namespace tether::tls::detail {

namespace {
// An encrypted key would make OpenSSL prompt on the terminal for a
// passphrase and block the process; refusing it makes the load fail with
// an error the operator can read instead.
int no_passphrase(char*, int, int, void*) { return 0; }
}  // namespace

std::string apply_common_settings(SSL_CTX* ctx, ProtocolVersion min_version) {
    clear_openssl_errors();
    if (SSL_CTX_set_min_proto_version(ctx, openssl_version_number(min_version)) != 1)
        return openssl_error("cannot set the minimum TLS version");
    // Renegotiation lets a peer make the proxy redo expensive handshakes
    // inside one connection, and MySQL clients never need it; compression is
    // the CRIME attack. (OpenSSL 3 builds without zlib, but say so anyway.)
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // RELEASE_BUFFERS: an idle session frees its 16 KiB record buffers.
    // PARTIAL_WRITE + ACCEPT_MOVING_WRITE_BUFFER: a write may take part of
    // the plaintext and be continued from another address (the caller's queue).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    return {};
}

std::string load_certificate_and_key(SSL_CTX* ctx, const std::string& certificate_file, const std::string& key_file) {
    clear_openssl_errors();
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate_file.c_str()) != 1)
        return openssl_error("cannot load the certificate chain from", certificate_file);
    // Fails by itself when the key does not match the certificate ("key
    // values mismatch"), and for an encrypted key (no passphrase is given).
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        return openssl_error("cannot use the private key in", key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return openssl_error("the private key does not match the certificate: key", key_file);
    return {};
}

}  // namespace tether::tls::detail
