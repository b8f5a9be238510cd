// The answers a client computes from its password and the server's nonce,
// for the two authentication plugins tether's monitor session speaks.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace tether::monitor {

// mysql_native_password: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))), 20 bytes;
// empty for an empty password (what the server expects then). `nonce` is the
// 20-byte scramble (longer input is cut at 20: servers append a NUL).
std::vector<std::byte> native_password_scramble(std::string_view password, std::span<const std::byte> nonce);

// caching_sha2_password's fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce),
// 32 bytes; empty for an empty password.
std::vector<std::byte> caching_sha2_scramble(std::string_view password, std::span<const std::byte> nonce);

// The 20 bytes of nonce a greeting or an AuthSwitchRequest carries (its
// trailing NUL dropped); shorter input is returned as it is.
std::span<const std::byte> scramble_nonce(std::span<const std::byte> plugin_data);

}  // namespace tether::monitor
