// Why a TLS session failed: a short stable label for metrics and a detail for logs.
#pragma once

#include <string>
#include <string_view>

namespace tether::tls {

// A closed set, so tether_tls_handshake_failures_total{side,reason} stays
// bounded whatever a peer sends. The labels are format_failure_reason's.
enum class FailureReason {
    unknown_ca,          // the chain does not lead to a trusted CA (either side noticed)
    expired,             // a certificate is past its notAfter
    not_yet_valid,       // a certificate is before its notBefore
    name_mismatch,       // the server's certificate does not name the server (verify-identity)
    bad_certificate,     // any other certificate problem (revoked, wrong usage, bad signature, ...)
    no_certificate,      // the peer sent no certificate where one was required
    no_shared_version,   // no TLS version both sides accept
    no_shared_cipher,    // no cipher suite both sides accept
    handshake_failure,   // the peer refused with the generic handshake_failure alert
    not_tls,             // the bytes are not TLS at all (e.g. a plaintext login or HTTP)
    peer_closed,         // the peer ended the connection before the handshake completed
    protocol,            // malformed or unexpected TLS messages
    other,
};

std::string_view format_failure_reason(FailureReason reason);

struct Failure {
    FailureReason reason = FailureReason::other;
    // For the log: OpenSSL's reason string, or the X509 verification error
    // ("certificate has expired") when verifying the peer failed. Never holds
    // key material or application data.
    std::string detail;
};

}  // namespace tether::tls
