// Loads the MySQL wire fixtures (tests/fixtures/mysql/*.hex) and the expectations written in their comments.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "../support/hex.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec::test {

struct Fixture {
    std::string name;                 // file name, e.g. "greeting_mysql-8.0.33.hex"
    std::vector<std::byte> bytes;     // exactly what travels on the TCP stream
    std::vector<std::string> kinds;   // one decoder name per packet
    // "p0.caps" -> "0xdfffffff", in file order; values are exact strings.
    std::vector<std::pair<std::string, std::string>> expects;
    std::vector<std::string> anomalies;  // "p0.greeting.truncated"
    bool compressed = false;             // `framing: compressed`
    // `client-caps:` (verify.py defaults to PROTOCOL_41 when absent).
    Capabilities client_capabilities = cap::protocol_41;
};

// The directory named by TETHER_FIXTURES, else the one meson configured.
std::string fixtures_dir();
// Every *.hex file in fixtures_dir(), sorted by name.
std::vector<std::string> fixture_names();
Fixture load_fixture(const std::string& name);

// Splits standard (uncompressed) framing into physical packets pointing into
// `stream`; fails the current test when the framing does not add up.
std::vector<Packet> split_packets(Bytes stream);

using tether::test::from_hex;
using tether::test::to_hex;
// An exact-size heap copy, so the sanitizer build catches any read past the end.
std::vector<std::byte> copy_prefix(Bytes bytes, std::size_t n);

}  // namespace tether::codec::test
