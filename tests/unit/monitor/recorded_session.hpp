// Loads tests/fixtures/monitor/*.hex: a recorded session as chunks, each
// marked server-to-client or client-to-server.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tether::monitor::test {

struct Chunk {
    bool from_server = false;
    std::vector<std::byte> bytes;
};

// The directory named by TETHER_MONITOR_FIXTURES, else the one meson configured.
std::string fixtures_dir();
std::vector<Chunk> load_session(const std::string& name);
// The n-th chunk one side sent (0-based).
const Chunk& nth(const std::vector<Chunk>& chunks, bool from_server, std::size_t n);

}  // namespace tether::monitor::test
