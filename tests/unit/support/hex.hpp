// Hex text <-> bytes and test-data directories, shared by the unit tests that read fixture files.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tether::test {

// "0a 38 2e" -> bytes; whitespace ignored; throws on anything else or an odd count.
std::vector<std::byte> from_hex(std::string_view hex);
std::string to_hex(std::span<const std::byte> bytes);
// The directory in environment variable `var` (meson test sets it), else `fallback`; throws when neither is set.
std::string dir_from_env(const char* var, const char* fallback);

}  // namespace tether::test
