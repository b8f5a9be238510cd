// Protocol byte builders for synthetic streams (see wire_builder.hpp).
#include "wire_builder.hpp"

#include "tether/codec/command.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

namespace tether::session::test {

ByteVec bytes_of(std::string_view text) {
    auto b = codec::as_bytes(text);
    return {b.begin(), b.end()};
}

ByteVec frame(std::uint8_t sequence_id, const ByteVec& payload) {
    ByteVec out;
    codec::append_packet(out, sequence_id, payload);
    return out;
}

Stream& Stream::packet(const ByteVec& payload) {
    // Framed apart and appended: append_packet reserves the exact size it
    // needs, which would make building a result of many rows quadratic.
    ByteVec framed;
    seq_ = codec::append_packet(framed, seq_, payload);
    out_.insert(out_.end(), framed.begin(), framed.end());
    return *this;
}

Stream& Stream::raw(const ByteVec& bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return *this;
}

Stream& Stream::ok(std::uint16_t status, std::uint8_t header, std::uint64_t affected) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(header);
    w.lenenc_int(affected);
    w.lenenc_int(0);
    w.u16(status);
    w.u16(0);
    return packet(p);
}

Stream& Stream::eof(std::uint16_t status) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0xFE);
    w.u16(0);
    w.u16(status);
    return packet(p);
}

Stream& Stream::err(std::uint16_t code, std::string_view state, std::string_view message) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0xFF);
    w.u16(code);
    w.u8('#');
    w.text(state);
    w.text(message);
    return packet(p);
}

Stream& Stream::progress_report(std::uint8_t stage, std::uint8_t max_stage, std::uint32_t progress_per_mille) {
    // MariaDB: 0xFF, 0xFFFF, then 1, stage, max_stage, progress (3 bytes, 1/1000 %), lenenc proc info.
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0xFF);
    w.u16(0xFFFF);
    w.u8(1);
    w.u8(stage);
    w.u8(max_stage);
    w.u24(progress_per_mille);
    w.lenenc_string("copy to tmp table");
    return packet(p);
}

Stream& Stream::column_count(std::uint64_t n) {
    ByteVec p;
    codec::WireWriter w(p);
    w.lenenc_int(n);
    return packet(p);
}

Stream& Stream::column_definition(std::string_view name) {
    ByteVec p;
    codec::WireWriter w(p);
    w.lenenc_string("def");
    w.lenenc_string("tether_test");
    w.lenenc_string("items");
    w.lenenc_string("items");
    w.lenenc_string(name);
    w.lenenc_string(name);
    w.lenenc_int(0x0C);
    w.u16(33);       // character set
    w.u32(255);      // column length
    w.u8(0xFD);      // VAR_STRING
    w.u16(0);        // flags
    w.u8(0);         // decimals
    w.u16(0);        // filler
    return packet(p);
}

Stream& Stream::text_row(const std::vector<std::string>& values) {
    ByteVec p;
    codec::WireWriter w(p);
    for (const auto& v : values) w.lenenc_string(v);
    return packet(p);
}

Stream& Stream::text_result(const std::vector<std::string>& columns, const std::vector<std::vector<std::string>>& rows,
                            bool deprecate_eof, std::uint16_t status) {
    column_count(columns.size());
    for (const auto& c : columns) column_definition(c);
    if (!deprecate_eof) eof(status);
    for (const auto& r : rows) text_row(r);
    if (deprecate_eof) return ok(status, 0xFE);
    return eof(status);
}

Stream& Stream::stmt_prepare_ok(std::uint32_t statement_id, std::uint16_t columns, std::uint16_t params) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x00);
    w.u32(statement_id);
    w.u16(columns);
    w.u16(params);
    w.u8(0);
    w.u16(0);  // warnings
    return packet(p);
}

Stream& Stream::local_infile_request(std::string_view file_name) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0xFB);
    w.text(file_name);
    return packet(p);
}

ByteVec com_query(std::string_view sql) {
    ByteVec p{std::byte{0x03}};
    auto b = bytes_of(sql);
    p.insert(p.end(), b.begin(), b.end());
    return frame(0, p);
}

ByteVec com_simple(std::uint8_t command) { return frame(0, ByteVec{std::byte{command}}); }

ByteVec com_stmt_prepare(std::string_view sql) {
    ByteVec p{std::byte{0x16}};
    auto b = bytes_of(sql);
    p.insert(p.end(), b.begin(), b.end());
    return frame(0, p);
}

ByteVec com_stmt_execute(std::uint32_t statement_id, std::int32_t param) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x17);
    w.u32(statement_id);
    w.u8(0);    // no cursor
    w.u32(1);   // iteration count
    w.u8(0);    // NULL bitmap (1 parameter)
    w.u8(1);    // new params bound
    w.u16(3);   // MYSQL_TYPE_LONG
    w.u32(static_cast<std::uint32_t>(param));
    return frame(0, p);
}

ByteVec com_stmt_close(std::uint32_t statement_id) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x19);
    w.u32(statement_id);
    return frame(0, p);
}

ByteVec com_change_user(std::string_view user, std::string_view database, std::string_view plugin,
                        const std::vector<std::pair<std::string, std::string>>& attributes) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x11);
    w.nul_string(user);
    w.u8(20);  // SECURE_CONNECTION: one length byte, then the scramble
    for (int i = 0; i < 20; ++i) w.u8(static_cast<std::uint8_t>(0x40 + i));
    w.nul_string(database);
    w.u16(33);
    w.nul_string(plugin);
    ByteVec block;
    codec::WireWriter b(block);
    for (const auto& [k, v] : attributes) {
        b.lenenc_string(k);
        b.lenenc_string(v);
    }
    w.lenenc_bytes(block);
    return frame(0, p);
}

codec::Greeting test_greeting(codec::Capabilities capabilities, std::string plugin) {
    codec::Greeting g;
    g.protocol_version = 10;
    g.server_version = "5.5.5-10.11.19-MariaDB-0+deb12u1";
    g.thread_id = 4242;
    for (int i = 0; i < 20; ++i) g.auth_plugin_data.push_back(static_cast<std::byte>(0x21 + i));
    g.auth_plugin_data.push_back(std::byte{0});
    g.capabilities = capabilities;
    g.character_set = 45;
    g.status_flags = codec::status::autocommit;
    g.auth_plugin_data_length = 21;
    g.auth_plugin_name = std::move(plugin);
    return g;
}

codec::Login test_login(codec::Capabilities capabilities, std::string user, std::optional<std::string> database,
                        std::vector<std::pair<std::string, std::string>> attributes) {
    codec::Login l;
    l.capabilities = capabilities;
    l.max_packet_size = 16 * 1024 * 1024;
    l.character_set = 45;
    l.user = std::move(user);
    for (int i = 0; i < 20; ++i) l.auth_response.push_back(static_cast<std::byte>(0x61 + i));
    l.auth_response_encoding = codec::AuthResponseEncoding::lenenc;
    l.database = std::move(database);
    l.auth_plugin_name = "mysql_native_password";
    l.attributes = std::move(attributes);
    return l;
}

}  // namespace tether::session::test
