// Failure reason labels (see failure.hpp).
#include "tether/tls/failure.hpp"

namespace tether::tls {

std::string_view format_failure_reason(FailureReason reason) {
    switch (reason) {
        case FailureReason::unknown_ca: return "unknown_ca";
        case FailureReason::expired: return "expired";
        case FailureReason::not_yet_valid: return "not_yet_valid";
        case FailureReason::name_mismatch: return "name_mismatch";
        case FailureReason::bad_certificate: return "bad_certificate";
        case FailureReason::no_certificate: return "no_certificate";
        case FailureReason::no_shared_version: return "no_shared_version";
        case FailureReason::no_shared_cipher: return "no_shared_cipher";
        case FailureReason::handshake_failure: return "handshake_failure";
        case FailureReason::not_tls: return "not_tls";
        case FailureReason::peer_closed: return "peer_closed";
        case FailureReason::protocol: return "protocol";
        case FailureReason::other: return "other";
    }
    return "other";
}

}  // namespace tether::tls
