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

}  // namespace

std::string fixtures_dir() {
#ifdef TETHER_FIXTURES_DEFAULT
    return tether::test::dir_from_env("TETHER_FIXTURES", TETHER_FIXTURES_DEFAULT);
#else
    return tether::test::dir_from_env("TETHER_FIXTURES", nullptr);
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
