// What the session knows of TLS: whether each leg offers or requires it, and
// whether it was negotiated. The TLS itself (certificates, the engine) is io's.
#pragma once

#include <cstdint>

namespace tether::session {

// The client leg (--client-tls).
enum class ClientTls : std::uint8_t {
    disabled,   // the greeting hides CLIENT_SSL; an SSLRequest is refused
    preferred,  // the greeting offers CLIENT_SSL; a plaintext login is accepted too
    required,   // a plaintext login gets ERR 3159, as the server's require_secure_transport
};

// The server leg (--upstream-tls; the verify modes are io's business: to the
// session they are `required`).
enum class UpstreamTls : std::uint8_t {
    disabled,   // never send an SSLRequest
    preferred,  // TLS when the server's greeting offers it, plaintext otherwise
    required,   // a server that does not offer TLS refuses the login
};

// The sequence id of a leg's login: 1, or 2 after an SSLRequest.
constexpr std::uint8_t login_sequence_id(bool tls) { return tls ? 2 : 1; }

}  // namespace tether::session
