// Fixture and built MySQL bytes for the io tests (see mysql_bytes.hpp).
#include "mysql_bytes.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "../../session/wire_builder.hpp"
#include "../../support/hex.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"

#ifndef TETHER_FIXTURES_DEFAULT
#define TETHER_FIXTURES_DEFAULT ""
#endif

namespace tether::io::test {

Bytes fixture_bytes(const std::string& name) {
    const std::string path = tether::test::dir_from_env("TETHER_FIXTURES", TETHER_FIXTURES_DEFAULT) + "/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string hex;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] == '#') continue;
        hex += line + "\n";
    }
    return tether::test::from_hex(hex);
}

Bytes greeting() { return fixture_bytes("greeting_mariadb-10.8.2.hex"); }
Bytes login() { return fixture_bytes("response41_libmariadb-3.0.8_mariadb-ext-caps_attrs.hex"); }
Bytes ok_after_login() { return fixture_bytes("ok_autocommit.hex"); }
Bytes com_quit() { return fixture_bytes("com_quit.hex"); }

Bytes com_query(std::string_view sql) {
    Bytes payload{std::byte{0x03}};
    for (char c : sql) payload.push_back(static_cast<std::byte>(c));
    Bytes out;
    codec::append_packet(out, 0, payload);
    return out;
}

Bytes large_com_query(std::size_t size) {
    std::string sql = "SELECT '";
    sql.append(size, 'x');
    sql += "'";
    return com_query(sql);
}

Bytes large_result(std::size_t rows, std::size_t row_size, char fill) {
    session::test::Stream stream(1);
    std::vector<std::vector<std::string>> values(rows, std::vector<std::string>{std::string(row_size, fill)});
    stream.text_result({"payload"}, values, false, 0x0002);
    return stream.bytes();
}

Bytes err(std::uint8_t sequence_id, std::uint16_t code, std::string_view sql_state, std::string_view message) {
    return codec::encode_err(sequence_id, code, sql_state, message);
}

std::uint16_t err_code(const Bytes& packet) {
    if (packet.size() < 7 || packet[4] != std::byte{0xFF}) return 0;
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(packet[5]) | (std::to_integer<unsigned>(packet[6]) << 8));
}

bool is_greeting(const Bytes& packet) { return packet.size() > 4 && packet[4] == std::byte{0x0A}; }

bool ends_with_com_quit(const Bytes& bytes) {
    const Bytes quit = com_quit();
    return bytes.size() >= quit.size() && std::equal(quit.begin(), quit.end(), bytes.end() - static_cast<std::ptrdiff_t>(quit.size()));
}

}  // namespace tether::io::test
