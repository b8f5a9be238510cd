// Turns what OpenSSL says about a failed TLS session into a Failure (private to the tls layer).
#pragma once

#include "tether/tls/failure.hpp"

typedef struct ssl_st SSL;

namespace tether::tls::detail {

// ssl_error is SSL_get_error's answer; the OpenSSL error queue is read and
// emptied. peer_eof: the caller reported end of stream.
Failure classify_failure(SSL* ssl, int ssl_error, bool peer_eof);

}  // namespace tether::tls::detail
