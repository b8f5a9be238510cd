// Loads the traffic captures (tests/captures/*.hex) and the shared fixtures for the session tests.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "../support/hex.hpp"

namespace tether::session::test {

enum class Direction { client, server };  // client -> server ('C'), server -> client ('S')

struct Chunk {
    Direction direction = Direction::client;
    std::vector<std::byte> bytes;
};

// One capture file: '#' comment lines ("key: value" ones kept), then one chunk a line.
struct Capture {
    std::string name;
    std::map<std::string, std::string> keys;  // e.g. "closed-first" -> "client"
    std::vector<Chunk> chunks;

    // The concatenation of every chunk in one direction.
    [[nodiscard]] std::vector<std::byte> stream(Direction d) const;
    // `framing: compressed`: the session negotiated the compressed protocol, so
    // every chunk after the greeting, the login and the server's OK (chunks 0-2)
    // is a run of whole compressed frames.
    [[nodiscard]] bool compressed() const;
    // The ordinary packets a chunk carries: its bytes, or what its frames inflate to.
    [[nodiscard]] std::vector<std::byte> packets(std::size_t chunk_index) const;
};

// TETHER_CAPTURES (meson sets it), else the directory meson configured.
std::string captures_dir();
std::vector<std::string> capture_names();
Capture load_capture(const std::string& name);

// TETHER_FIXTURES: tests/fixtures/mysql. A fixture's bytes, comments skipped.
std::string fixtures_dir();
std::vector<std::byte> load_fixture_bytes(const std::string& name);

using tether::test::from_hex;
using tether::test::to_hex;

}  // namespace tether::session::test
