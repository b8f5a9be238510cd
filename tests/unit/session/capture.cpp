// Capture and fixture loading: '#' comments, then 'C '/'S ' hex lines (captures) or plain hex (fixtures).
#include "capture.hpp"

#include "compressed_frames.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace tether::session::test {

using tether::test::dir_from_env;

namespace {

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::vector<std::byte> Capture::stream(Direction d) const {
    std::vector<std::byte> out;
    for (const auto& c : chunks) {
        if (c.direction == d) out.insert(out.end(), c.bytes.begin(), c.bytes.end());
    }
    return out;
}

bool Capture::compressed() const {
    auto it = keys.find("framing");
    return it != keys.end() && it->second == "compressed";
}

std::vector<std::byte> Capture::packets(std::size_t chunk_index) const {
    const auto& bytes = chunks.at(chunk_index).bytes;
    if (!compressed() || chunk_index < 3) return bytes;
    return inflate_frames(bytes);
}

std::string captures_dir() {
#ifdef TETHER_CAPTURES_DEFAULT
    return dir_from_env("TETHER_CAPTURES", TETHER_CAPTURES_DEFAULT);
#else
    return dir_from_env("TETHER_CAPTURES", nullptr);
#endif
}

std::string fixtures_dir() {
#ifdef TETHER_FIXTURES_DEFAULT
    return dir_from_env("TETHER_FIXTURES", TETHER_FIXTURES_DEFAULT);
#else
    return dir_from_env("TETHER_FIXTURES", nullptr);
#endif
}

std::vector<std::string> capture_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(captures_dir())) {
        if (entry.path().extension() == ".hex") names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

Capture load_capture(const std::string& name) {
    std::ifstream in(std::filesystem::path(captures_dir()) / name);
    if (!in) throw std::runtime_error("cannot open capture " + name);
    Capture capture;
    capture.name = name;
    std::string line;
    while (std::getline(in, line)) {
        const std::string_view s = trim(line);
        if (s.empty()) continue;
        if (s.front() == '#') {
            const std::string_view body = trim(s.substr(1));
            const auto colon = body.find(':');
            if (colon != std::string_view::npos && body.substr(0, colon).find(' ') == std::string_view::npos) {
                capture.keys[std::string(body.substr(0, colon))] = std::string(trim(body.substr(colon + 1)));
            }
            continue;
        }
        if (s.size() < 2 || (s[0] != 'C' && s[0] != 'S') || s[1] != ' ') {
            throw std::runtime_error("capture " + name + ": a chunk line must start with 'C ' or 'S '");
        }
        capture.chunks.push_back({s[0] == 'C' ? Direction::client : Direction::server, from_hex(s.substr(2))});
    }
    return capture;
}

std::vector<std::byte> load_fixture_bytes(const std::string& name) {
    std::ifstream in(std::filesystem::path(fixtures_dir()) / name);
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    std::string hex;
    std::string line;
    while (std::getline(in, line)) {
        const std::string_view s = trim(line);
        if (s.empty() || s.front() == '#') continue;
        hex.append(s);
        hex.push_back(' ');
    }
    return from_hex(hex);
}

}  // namespace tether::session::test
