// TLS minimum versions by name (see protocol_version.hpp).
#include "tether/tls/protocol_version.hpp"

#include <openssl/ssl.h>

namespace tether::tls {

std::optional<ProtocolVersion> parse_protocol_version(std::string_view name) {
    if (name == "TLSv1.2") return ProtocolVersion::tls1_2;
    if (name == "TLSv1.3") return ProtocolVersion::tls1_3;
    return std::nullopt;
}

std::string_view format_protocol_version(ProtocolVersion version) {
    return version == ProtocolVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

int openssl_version_number(ProtocolVersion version) {
    return version == ProtocolVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

}  // namespace tether::tls
