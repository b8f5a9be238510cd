// Shared setup for the Session tests: a server greeting, a client login, a logged-in session.
#pragma once

#include <doctest/doctest.h>

#include "replay.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"
#include "wire_builder.hpp"

namespace tether::session::test {

// What the test server offers: everything a modern client uses, plus TLS
// (which tether must hide) and zlib compression (which it decodes).
inline constexpr codec::Capabilities server_caps =
    modern_caps | codec::cap::deprecate_eof | codec::cap::ssl | codec::cap::compress;

inline ByteVec greeting_bytes(codec::Capabilities caps = server_caps, std::string plugin = "mysql_native_password") {
    return frame(0, codec::encode_greeting(test_greeting(caps, std::move(plugin))));
}

inline ByteVec login_bytes(codec::Capabilities caps = modern_caps, std::string user = "app",
                           std::vector<std::pair<std::string, std::string>> attributes = {{"_client_name", "libtest"},
                                                                                          {"program_name", "billing"}}) {
    return frame(1, codec::encode_login(test_login(caps, std::move(user), "tether_test", std::move(attributes))));
}

// A logical packet with its own copy of the payload (a test's bytes are often temporaries).
struct OwnedPacket {
    std::uint8_t first_sequence_id = 0;
    std::uint8_t last_sequence_id = 0;
    ByteVec payload;
};

// Decodes the one logical packet that makes up `bytes` (REQUIREs that it does).
inline OwnedPacket single_packet(const ByteVec& bytes) {
    auto p = codec::decode_logical_packet(bytes, 1 << 24);
    REQUIRE(p.ok());
    CHECK(p.consumed == bytes.size());
    return {p.value.first_sequence_id, p.value.last_sequence_id, ByteVec(p.value.payload.begin(), p.value.payload.end())};
}

struct ErrSeen {
    std::uint8_t sequence_id = 0;
    std::uint16_t code = 0;
    std::string sql_state;
    std::string message;
};

inline ErrSeen single_err(const ByteVec& bytes) {
    auto p = single_packet(bytes);
    auto err = codec::decode_err(p.payload);
    REQUIRE(err.ok());
    return {p.first_sequence_id, err.value.code, std::string(err.value.sql_state), std::string(err.value.message)};
}

// Greeting relayed, login admitted and forwarded, server OK: the command phase.
inline void log_in(Driver& d, codec::Capabilities client_caps = modern_caps) {
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes(client_caps));
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.upstream(Stream(2).ok(codec::status::autocommit).bytes());
    REQUIRE(d.session().phase() == Phase::command);
    REQUIRE(d.session().authenticated());
    d.clear_output();
}

}  // namespace tether::session::test
