// Hex and test-data directory helpers (see hex.hpp).
#include "hex.hpp"

#include <cstdlib>
#include <stdexcept>

namespace tether::test {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    int high = -1;
    for (char c : hex) {
        const int digit = hex_digit(c);
        if (digit < 0) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
            throw std::runtime_error("not a hex digit");
        }
        if (high < 0) {
            high = digit;
        } else {
            out.push_back(static_cast<std::byte>(high * 16 + digit));
            high = -1;
        }
    }
    if (high >= 0) throw std::runtime_error("odd number of hex digits");
    return out;
}

std::string to_hex(std::span<const std::byte> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        const auto v = std::to_integer<unsigned>(b);
        out.push_back(digits[v >> 4]);
        out.push_back(digits[v & 0xF]);
    }
    return out;
}

std::string dir_from_env(const char* var, const char* fallback) {
    const char* dir = std::getenv(var);
    if (dir != nullptr && *dir != '\0') return dir;
    if (fallback != nullptr && *fallback != '\0') return fallback;
    throw std::runtime_error(std::string(var) + " is not set");
}

}  // namespace tether::test
