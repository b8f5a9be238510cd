// Turns what OpenSSL says about a failed TLS session into a Failure (private to the tls layer).
#pragma once
#include <optional>

#include "tether/tls/failure.hpp"

typedef struct ssl_st SSL;

namespace tether::tls::detail {

// ssl_error is SSL_get_error's answer; the OpenSSL error queue is read and
// emptied. peer_eof: the caller reported end of stream.
Failure classify_failure(SSL* ssl, int ssl_error, bool peer_eof);
// A client session's verification of the server after the handshake
// completed: nothing when the chain (and name) checked out.
std::optional<Failure> verification_failure(SSL* ssl);

}  // namespace tether::tls::detail
