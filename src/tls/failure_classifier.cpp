// OpenSSL's errors and X509 verification results mapped to the bounded
// FailureReason set (see failure_classifier.hpp).
#include "failure_classifier.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace tether::tls::detail {

namespace {

// Our own verification of the peer's chain failed: X509_V_ERR_* says why.
FailureReason from_verify_result(long result) {
    switch (result) {
        case X509_V_ERR_CERT_HAS_EXPIRED: return FailureReason::expired;
        case X509_V_ERR_CERT_NOT_YET_VALID: return FailureReason::not_yet_valid;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH: return FailureReason::name_mismatch;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_UNTRUSTED: return FailureReason::unknown_ca;
        default: return FailureReason::bad_certificate;
    }
}

// An SSL-library reason: either what we noticed, or an alert the peer sent
// (SSL_R_*ALERT* reasons), which is how the server side learns that the
// client refused its certificate.
FailureReason from_ssl_reason(int reason) {
    switch (reason) {
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA: return FailureReason::unknown_ca;
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: return FailureReason::expired;
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_TLSV1_ALERT_DECRYPT_ERROR: return FailureReason::bad_certificate;
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: return FailureReason::no_certificate;
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_WRONG_SSL_VERSION: return FailureReason::no_shared_version;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_CIPHERS_AVAILABLE:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY: return FailureReason::no_shared_cipher;
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE: return FailureReason::handshake_failure;
        // What a plaintext MySQL login, an HTTP request or random bytes look
        // like to a TLS record layer.
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_HTTP_REQUEST:
        case SSL_R_HTTPS_PROXY_REQUEST:
        case SSL_R_UNKNOWN_PROTOCOL: return FailureReason::not_tls;
        case SSL_R_UNEXPECTED_EOF_WHILE_READING: return FailureReason::peer_closed;
        default: return FailureReason::protocol;
    }
}

}  // namespace

std::optional<Failure> verification_failure(SSL* ssl) {
    if (SSL_get0_peer_certificate(ssl) == nullptr) {
        return Failure{FailureReason::no_certificate, "the server presented no certificate"};
    }
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) return std::nullopt;
    return Failure{from_verify_result(result), X509_verify_cert_error_string(result)};
}

Failure classify_failure(SSL* ssl, int ssl_error, bool peer_eof) {
    // The first queued error is the cause; later ones are its consequences.
    const unsigned long code = ERR_peek_error();
    ERR_clear_error();
    if (ssl_error == SSL_ERROR_ZERO_RETURN) return {FailureReason::peer_closed, "close_notify before the handshake ended"};
    if (code == 0) {
        if (peer_eof) return {FailureReason::peer_closed, "end of stream before the handshake ended"};
        return {FailureReason::other, "TLS failed without an OpenSSL reason"};
    }
    const char* text = ERR_reason_error_string(code);
    std::string detail = text != nullptr ? text : "unknown OpenSSL error";
    if (ERR_GET_LIB(code) != ERR_LIB_SSL) return {FailureReason::other, std::move(detail)};
    const int reason = ERR_GET_REASON(code);
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long result = SSL_get_verify_result(ssl);
        return {from_verify_result(result), X509_verify_cert_error_string(result)};
    }
    return {from_ssl_reason(reason), std::move(detail)};
}

}  // namespace tether::tls::detail
