// Settings both TLS contexts share (private to the tls layer).
#pragma once

#include <string>

#include "tether/tls/protocol_version.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace tether::tls::detail {

// Minimum version, no renegotiation, no compression, small idle buffers,
// partial writes, and no passphrase prompt. Returns an error message, or
// empty when every setting took.
std::string apply_common_settings(SSL_CTX* ctx, ProtocolVersion min_version);

// Loads a PEM certificate chain and its key, and checks that they belong
// together. Returns an error message naming the file that failed, or empty.
std::string load_certificate_and_key(SSL_CTX* ctx, const std::string& certificate_file, const std::string& key_file);

}  // namespace tether::tls::detail
