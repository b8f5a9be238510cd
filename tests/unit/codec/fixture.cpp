// Fixture loading: '#' comment lines with kinds/expect/anomaly keys, then hex bytes.
#include "fixture.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tether/codec/packet.hpp"

namespace tether::codec::test {

namespace {

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string fixtures_dir() {
    const char* dir = std::getenv("TETHER_FIXTURES");
    if (dir != nullptr && *dir != '\0') return dir;
#ifdef TETHER_FIXTURES_DEFAULT
    return TETHER_FIXTURES_DEFAULT;
#else
    throw std::runtime_error("TETHER_FIXTURES is not set");
#endif
}

std::vector<std::string> fixture_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
        if (entry.path().extension() == ".hex") names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    int high = -1;
    for (char c : hex) {
        const int digit = hex_digit(c);
        if (digit < 0) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
            throw std::runtime_error("not a hex digit in fixture");
        }
        if (high < 0) {
            high = digit;
        } else {
            out.push_back(static_cast<std::byte>(high * 16 + digit));
            high = -1;
        }
    }
    if (high >= 0) throw std::runtime_error("odd number of hex digits in fixture");
    return out;
}

std::string to_hex(Bytes bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        const auto v = std::to_integer<unsigned>(b);
        out.push_back(digits[v >> 4]);
        out.push_back(digits[v & 0xF]);
    }
    return out;
}

std::vector<std::byte> copy_prefix(Bytes bytes, std::size_t n) {
    return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)};
}

Fixture load_fixture(const std::string& name) {
    std::ifstream in(std::filesystem::path(fixtures_dir()) / name);
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    Fixture f;
    f.name = name;
    std::string hex;
    std::string line;
    while (std::getline(in, line)) {
        const std::string_view s = trim(line);
        if (s.empty()) continue;
        if (s.front() != '#') {
            hex.append(s);
            hex.push_back(' ');
            continue;
        }
        // Same reading as verify.py: "key: value", and for expect "name=value".
        const std::string_view body = trim(s.substr(1));
        const auto colon = body.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view key = trim(body.substr(0, colon));
        const std::string_view value = trim(body.substr(colon + 1));
        if (key == "kinds") {
            std::string_view rest = value;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const auto kind = trim(rest.substr(0, comma));
                if (!kind.empty()) f.kinds.emplace_back(kind);
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
        } else if (key == "expect") {
            const auto eq = value.find('=');
            if (eq == std::string_view::npos) continue;
            f.expects.emplace_back(std::string(trim(value.substr(0, eq))), std::string(value.substr(eq + 1)));
        } else if (key == "anomaly") {
            f.anomalies.emplace_back(value);
        } else if (key == "framing") {
            f.compressed = value == "compressed";
        } else if (key == "client-caps") {
            f.client_capabilities = std::stoull(std::string(value), nullptr, 16);
        }
    }
    f.bytes = from_hex(hex);
    return f;
}

std::vector<Packet> split_packets(Bytes stream) {
    std::vector<Packet> packets;
    while (!stream.empty()) {
        auto packet = decode_packet(stream);
        REQUIRE_MESSAGE(packet.ok(), "fixture framing does not add up");
        packets.push_back(packet.value);
        stream = stream.subspan(packet.consumed);
    }
    return packets;
}

}  // namespace tether::codec::test
