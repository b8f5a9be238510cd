// HandshakeV10: the server greeting, MySQL and MariaDB flavours, decoded and re-encoded byte for byte.
#include <algorithm>

#include "tether/codec/handshake.hpp"
#include "tether/codec/wire.hpp"

namespace tether::codec {

namespace {

constexpr std::size_t scramble_part1_size = 8;
// Servers always send at least 13 bytes of part 2 (12 scramble bytes and a NUL),
// whatever auth_plugin_data_length says.
constexpr std::size_t scramble_part2_min_size = 13;
constexpr std::size_t mariadb_caps_offset = 6;  // within the 10 reserved bytes
constexpr std::string_view mariadb_version_prefix = "5.5.5-";

std::size_t scramble_part2_size(std::uint8_t auth_plugin_data_length) {
    return std::max<std::size_t>(scramble_part2_min_size,
                                 auth_plugin_data_length > scramble_part1_size
                                     ? auth_plugin_data_length - scramble_part1_size
                                     : 0);
}

}  // namespace

bool Greeting::is_mariadb() const {
    return server_version.starts_with(mariadb_version_prefix) ||
           server_version.find("MariaDB") != std::string::npos;
}

std::string_view Greeting::display_version() const {
    std::string_view v = server_version;
    if (v.starts_with(mariadb_version_prefix) && v.size() > mariadb_version_prefix.size()) {
        v.remove_prefix(mariadb_version_prefix.size());
    }
    return v;
}

DecodeResult<Greeting> decode_greeting(Bytes payload) {
    using Result = DecodeResult<Greeting>;
    WireReader r(payload);
    Greeting g;

    auto protocol = r.u8();
    if (!protocol) return Result::bad("empty greeting");
    if (*protocol == 0xFF) return Result::bad("server sent an ERR packet instead of a greeting");
    if (*protocol != 10) return Result::bad("unsupported handshake protocol version");
    g.protocol_version = *protocol;

    auto version = r.nul_string();
    auto thread_id = r.u32();
    auto part1 = r.bytes(scramble_part1_size);
    r.skip(1);  // filler, always 0
    auto caps_low = r.u16();
    if (!r.ok()) return Result::bad("greeting truncated");
    g.server_version = std::string(*version);
    g.thread_id = *thread_id;
    g.auth_plugin_data.reserve(scramble_part1_size + scramble_part2_min_size);
    g.auth_plugin_data.assign(part1->begin(), part1->end());
    g.capabilities = *caps_low;

    // Servers before 4.1 end here.
    if (r.at_end()) {
        g.has_extended_fields = false;
        return Result::success(std::move(g), payload.size());
    }

    auto charset = r.u8();
    auto status = r.u16();
    auto caps_high = r.u16();
    auto auth_data_length = r.u8();
    auto reserved = r.bytes(g.reserved.size());
    if (!r.ok()) return Result::bad("greeting truncated");
    g.character_set = *charset;
    g.status_flags = *status;
    g.capabilities |= static_cast<Capabilities>(*caps_high) << 16;
    g.auth_plugin_data_length = *auth_data_length;
    std::copy(reserved->begin(), reserved->end(), g.reserved.begin());
    if ((g.capabilities & cap::client_mysql) == 0) {
        g.capabilities |= static_cast<Capabilities>(little_endian_u32(reserved->subspan(mariadb_caps_offset))) << 32;
    }

    if (g.capabilities & cap::secure_connection) {
        auto part2 = r.bytes(scramble_part2_size(g.auth_plugin_data_length));
        if (!part2) return Result::bad("greeting auth-plugin-data truncated");
        g.auth_plugin_data.insert(g.auth_plugin_data.end(), part2->begin(), part2->end());
    }

    if (g.capabilities & cap::plugin_auth) {
        // MySQL before 5.5.10 omitted the NUL (Bug#59453): the name then runs to
        // the end of the packet.
        g.auth_plugin_name = std::string(r.nul_or_rest_string(g.auth_plugin_name_terminated));
    }
    // Bytes after the plugin name are ignored, as libmysql does: refusing them
    // would lock clients out of a server that works for them.
    return Result::success(std::move(g), payload.size());
}

std::vector<std::byte> encode_greeting(const Greeting& g) {
    std::vector<std::byte> out;
    append_greeting(out, g, g.capabilities);
    return out;
}

void append_greeting(std::vector<std::byte>& out, const Greeting& g, Capabilities capabilities) {
    // One allocation for the whole packet (a greeting is rewritten for every
    // connection): the fixed fields take 44 bytes at most.
    out.reserve(out.size() + 64 + g.server_version.size() + scramble_part2_size(g.auth_plugin_data_length) +
                g.auth_plugin_name.size());
    WireWriter w(out);
    w.u8(g.protocol_version);
    w.nul_string(g.server_version);
    w.u32(g.thread_id);
    std::array<std::byte, scramble_part1_size> part1{};
    const std::size_t part1_size = std::min(part1.size(), g.auth_plugin_data.size());
    std::copy_n(g.auth_plugin_data.begin(), part1_size, part1.begin());
    w.bytes(part1);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(capabilities));
    if (!g.has_extended_fields) return;

    w.u8(g.character_set);
    w.u16(g.status_flags);
    w.u16(static_cast<std::uint16_t>(capabilities >> 16));
    w.u8(g.auth_plugin_data_length);
    auto reserved = g.reserved;
    if ((capabilities & cap::client_mysql) == 0) {
        const auto mariadb_caps = static_cast<std::uint32_t>(capabilities >> 32);
        for (std::size_t i = 0; i < 4; ++i) {
            reserved[mariadb_caps_offset + i] = static_cast<std::byte>((mariadb_caps >> (8 * i)) & 0xFF);
        }
    }
    w.bytes(reserved);
    if (capabilities & cap::secure_connection) {
        // What the greeting carried of the scramble's second part, zero-padded to its length.
        const std::size_t part2_size = scramble_part2_size(g.auth_plugin_data_length);
        const std::size_t have = g.auth_plugin_data.size() > scramble_part1_size
                                     ? std::min(part2_size, g.auth_plugin_data.size() - scramble_part1_size)
                                     : 0;
        w.bytes(std::span(g.auth_plugin_data).subspan(std::min(scramble_part1_size, g.auth_plugin_data.size()), have));
        w.zeros(part2_size - have);
    }
    if (capabilities & cap::plugin_auth) {
        if (g.auth_plugin_name_terminated) {
            w.nul_string(g.auth_plugin_name);
        } else {
            w.text(g.auth_plugin_name);
        }
    }
}

}  // namespace tether::codec
