// Connection-phase messages: greeting, SSLRequest, login (HandshakeResponse41),
// AuthSwitchRequest and AuthMoreData. Decoders take one logical packet's payload.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/connection_attributes.hpp"
#include "tether/codec/decode_result.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec {

// HandshakeV10, the server's first packet (sequence id 0).
struct Greeting {
    std::uint8_t protocol_version = 10;
    std::string server_version;      // as sent, "5.5.5-" prefix included
    std::uint32_t thread_id = 0;     // the id in the server's processlist and KILL
    std::vector<std::byte> auth_plugin_data;  // part 1 (8 bytes) + part 2 as sent
    // Low 32 bits: MySQL capabilities. High 32 bits: MariaDB extended
    // capabilities, read from the reserved bytes only when CLIENT_MYSQL is clear.
    Capabilities capabilities = 0;
    std::uint8_t character_set = 0;
    std::uint16_t status_flags = 0;
    std::uint8_t auth_plugin_data_length = 0;  // the byte as sent (0 when absent)
    std::string auth_plugin_name;              // empty when not sent
    bool auth_plugin_name_terminated = true;   // some servers omit the final NUL
    bool has_extended_fields = true;           // pre-4.1 servers stop after the low capabilities
    // The 10 reserved bytes as sent. encode_greeting writes the last 4 from the
    // high capability bits when CLIENT_MYSQL is clear, so a caller that rewrites
    // `capabilities` never has to touch this.
    std::array<std::byte, 10> reserved{};

    // True for MariaDB: the "5.5.5-" version prefix or "MariaDB" in the version.
    [[nodiscard]] bool is_mariadb() const;
    // The version without MariaDB's replication-compatibility "5.5.5-" prefix.
    [[nodiscard]] std::string_view display_version() const;
};

DecodeResult<Greeting> decode_greeting(Bytes payload);
// Payload only (no header). For every greeting decode_greeting accepts,
// encode_greeting(decode_greeting(p).value) is p up to the end of the last field
// the capabilities announce, with two differences: the filler byte after the
// first scramble part is written as 0, and bytes after that last field (which
// decode_greeting ignores) are not reproduced. Decoding the result gives the same
// Greeting (tests/fuzz/fuzz_codec.cpp checks both).
std::vector<std::byte> encode_greeting(const Greeting& greeting);
// The same payload appended to `out`, announcing `capabilities` instead of the
// greeting's own: how a rewritten greeting is written without copying it.
void append_greeting(std::vector<std::byte>& out, const Greeting& greeting, Capabilities capabilities);

// The first 32 bytes of a login with CLIENT_SSL set: TLS follows.
[[nodiscard]] bool is_ssl_request(Bytes payload);

// The fields of an SSLRequest. Malformed unless it is exactly 32 bytes with
// CLIENT_SSL and CLIENT_PROTOCOL_41 set (scanners such as zgrab2 send it without
// PROTOCOL_41; no server would continue such a handshake).
struct SslRequest {
    Capabilities capabilities = 0;  // high 32 bits: MariaDB extended (from the filler)
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
};
inline constexpr std::size_t ssl_request_size = 32;
DecodeResult<SslRequest> decode_ssl_request(Bytes payload);
// The 32-byte payload: what tether sends a server before its own TLS handshake.
// A server does not parse the login that follows TLS a second time: the
// capabilities, packet size and character set it keeps are these, so they must
// be the ones of the login that follows (CLIENT_SSL is added here).
std::vector<std::byte> encode_ssl_request(const SslRequest& request);

// HandshakeResponse41.
enum class AuthResponseEncoding : std::uint8_t {
    lenenc,           // CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    length_prefixed,  // CLIENT_SECURE_CONNECTION: one length byte
    nul_terminated,   // neither
};

struct Login {
    Capabilities capabilities = 0;  // high 32 bits: MariaDB extended (from the filler)
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    std::string user;
    std::vector<std::byte> auth_response;  // secret-derived: never log it
    AuthResponseEncoding auth_response_encoding = AuthResponseEncoding::lenenc;
    std::optional<std::string> database;
    std::optional<std::string> auth_plugin_name;
    bool auth_plugin_name_terminated = true;  // old clients end the packet without the NUL
    ConnectionAttributes attributes;  // in wire order
    // CLIENT_CONNECT_ATTRS set but no attribute block at all (the mysql 8.0 CLI
    // does this); kept so encode_login reproduces the packet.
    bool attributes_omitted = false;
    // CLIENT_ZSTD_COMPRESSION_ALGORITHM: the level byte after the attributes.
    std::optional<std::uint8_t> zstd_compression_level;
    // Bytes after the last field this decoder knows; servers ignore them, and
    // some clients send them (Prisma repeats its plugin name), so they are kept
    // rather than refused.
    std::vector<std::byte> unparsed_tail;

    // The value of attribute `name`, if it was sent.
    [[nodiscard]] std::optional<std::string_view> attribute(std::string_view name) const { return attributes.find(name); }
};

// Malformed for a pre-4.1 login (HandshakeResponse320), an SSLRequest, or any
// field that runs past the payload.
DecodeResult<Login> decode_login(Bytes payload);
std::vector<std::byte> encode_login(const Login& login);

// COM_CHANGE_USER (0x11) carries a login in another layout; the capabilities
// are the session's (from its login), not in the packet.
DecodeResult<Login> decode_change_user(Bytes payload, Capabilities session_capabilities);

// 0xFE + plugin name + plugin data; sent by the server during authentication.
struct AuthSwitchRequest {
    std::string plugin_name;
    std::vector<std::byte> plugin_data;
};
DecodeResult<AuthSwitchRequest> decode_auth_switch(Bytes payload);

// 0x01 + data: caching_sha2_password's fast-auth result (0x03), request for full
// auth (0x04), or the server's RSA public key.
inline constexpr std::uint8_t caching_sha2_fast_auth_success = 0x03;
inline constexpr std::uint8_t caching_sha2_perform_full_auth = 0x04;
struct AuthMoreData {
    std::vector<std::byte> data;
    // "Fast authentication succeeded": the server's OK follows, the client answers nothing.
    [[nodiscard]] bool is_fast_auth_success() const {
        return data.size() == 1 && std::to_integer<std::uint8_t>(data[0]) == caching_sha2_fast_auth_success;
    }
    // The client must send its password (over TLS, or RSA-encrypted with the server's key).
    [[nodiscard]] bool is_full_auth_request() const {
        return data.size() == 1 && std::to_integer<std::uint8_t>(data[0]) == caching_sha2_perform_full_auth;
    }
};
DecodeResult<AuthMoreData> decode_auth_more_data(Bytes payload);

}  // namespace tether::codec
