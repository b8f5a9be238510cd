// Recorded sessions (see recorded_session.hpp).
#include "recorded_session.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "../support/hex.hpp"

namespace tether::monitor::test {

std::string fixtures_dir() { return tether::test::dir_from_env("TETHER_MONITOR_FIXTURES", TETHER_MONITOR_FIXTURES_DEFAULT); }

std::vector<Chunk> load_session(const std::string& name) {
    std::ifstream in(fixtures_dir() + "/" + name);
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    std::vector<Chunk> chunks;
    std::string hex;
    auto flush = [&] {
        if (!chunks.empty() && !hex.empty()) chunks.back().bytes = tether::test::from_hex(hex);
        hex.clear();
    };
    std::string line;
    while (std::getline(in, line)) {
        if (line == "# s2c" || line == "# c2s") {
            flush();
            chunks.push_back({line == "# s2c", {}});
        } else if (!line.empty() && line[0] != '#' && !chunks.empty()) {
            hex += line + " ";
        }
    }
    flush();
    return chunks;
}

const Chunk& nth(const std::vector<Chunk>& chunks, bool from_server, std::size_t n) {
    for (const Chunk& c : chunks) {
        if (c.from_server != from_server) continue;
        if (n-- == 0) return c;
    }
    throw std::runtime_error("no such chunk in the fixture");
}

}  // namespace tether::monitor::test
