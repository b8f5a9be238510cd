// Inside the session library, what its handshake files share: packet bounds, tether's own error codes, buffer helpers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string.h>  // explicit_bzero
#include <string>
#include <string_view>
#include <vector>

#include "tether/codec/response.hpp"
#include "tether/session/early_client_bytes.hpp"
#include "tether/session/events.hpp"

namespace tether::session::detail {

// Generous limits for the few handshake packets tether reassembles; real ones
// are a few hundred bytes (connection attributes are capped at 64 KiB by MySQL).
inline constexpr std::size_t max_greeting = 64 * 1024;
inline constexpr std::size_t max_login = 256 * 1024;
inline constexpr std::size_t max_auth_packet = 1024 * 1024;
static_assert(max_auth_packet == EarlyClientBytes::limit, "what the client sends during authentication is bounded like the auth packets");

// tether's own error for "no usable server connection", sent instead of a
// greeting. Not a 2xxx code: those are client-library codes, and libmariadb
// reports a server packet carrying one as "malformed packet" and drops the
// message. SQLSTATE 08S01 makes JDBC drivers treat it as a connection failure.
inline constexpr std::uint16_t er_tether_upstream = 9001;
inline constexpr std::string_view upstream_sql_state = "08S01";
// ER_HANDSHAKE_ERROR: tether refuses a login it cannot relay (or read).
inline constexpr std::uint16_t er_handshake_error = 1043;
// ER_SECURE_TRANSPORT_REQUIRED: what a server with require_secure_transport
// answers a plaintext login; tether's --client-tls required says the same.
inline constexpr std::uint16_t er_secure_transport_required = 3159;
// CR_SSL_CONNECTION_ERROR: clients report it as "SSL connection error".
inline constexpr std::uint16_t cr_ssl_connection_error = 2026;
inline constexpr std::string_view general_sql_state = "HY000";
inline constexpr std::string_view handshake_sql_state = "08S01";

// "5s", "1500ms": a configured limit as the log and the client's ERR show it.
inline std::string duration_text(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

inline void erase_front(std::vector<std::byte>& buffer, std::size_t n) {
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

// Zeroed before it is freed: handshake buffers hold the client's scramble.
inline void release(std::vector<std::byte>& buffer) {
    if (!buffer.empty()) explicit_bzero(buffer.data(), buffer.size());
    std::vector<std::byte>().swap(buffer);
}

// The server's words from an ERR payload, copied for the event that reports
// them; empty when the ERR does not decode.
inline std::optional<ServerError> server_error(codec::Bytes err_payload) {
    auto err = codec::decode_err(err_payload);
    if (!err.ok()) return std::nullopt;
    return ServerError{err.value.code, std::string(err.value.message)};
}

}  // namespace tether::session::detail
