// The lowest TLS version a context accepts, as the flag spells it.
#pragma once

#include <optional>
#include <string_view>

namespace tether::tls {

// TLS 1.0 and 1.1 are deprecated (RFC 8996) and not offered at all.
enum class ProtocolVersion { tls1_2, tls1_3 };

// "TLSv1.2" or "TLSv1.3" (the names MySQL's tls_version and OpenSSL use).
std::optional<ProtocolVersion> parse_protocol_version(std::string_view name);
std::string_view format_protocol_version(ProtocolVersion version);
// The OpenSSL constant (TLS1_2_VERSION, TLS1_3_VERSION).
int openssl_version_number(ProtocolVersion version);

}  // namespace tether::tls
