// The RSA step of caching_sha2_password (and sha256_password) full
// authentication, as MySQL's own clients do it over a plaintext leg.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tether/tls/loaded.hpp"

namespace tether::tls {

// The server sends its public key (PEM, in an AuthMoreData after the client's
// 0x02 "request public key"); the client answers with
//   RSA-OAEP(SHA-1, MGF1-SHA-1)( (password + NUL) XOR scramble )
// where the 20-byte scramble (the greeting's nonce) repeats over the length.
// Fails (message without the password) when the key does not parse, is not
// RSA, or is too small for the password.
Loaded<std::vector<std::uint8_t>> encrypt_password_for_server(std::string_view public_key_pem,
                                                              std::string_view password,
                                                              std::span<const std::uint8_t> scramble);

}  // namespace tether::tls
