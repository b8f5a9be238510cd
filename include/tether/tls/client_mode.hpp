// How tether's own TLS to the server is asked for and checked
// (--upstream-tls), named as MySQL's clients name their --ssl-mode.
#pragma once

#include <optional>
#include <string_view>

namespace tether::tls {

enum class ClientMode {
    disabled,         // plaintext, even when the server offers TLS
    preferred,        // TLS when the server offers it; the certificate is not checked
    required,         // TLS or no session; the certificate is not checked
    verify_ca,        // TLS, and the server's chain must lead to a trusted CA
    verify_identity,  // verify_ca, and the certificate must name the server
};

// "disabled", "preferred", "required", "verify-ca", "verify-identity".
std::optional<ClientMode> parse_client_mode(std::string_view name);
std::string_view format_client_mode(ClientMode mode);

// Whether a server that does not offer TLS must be refused.
inline bool requires_tls(ClientMode mode) { return mode >= ClientMode::required; }
// Whether the server's certificate chain is verified.
inline bool verifies_peer(ClientMode mode) { return mode >= ClientMode::verify_ca; }

}  // namespace tether::tls
