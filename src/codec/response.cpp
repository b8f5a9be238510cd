// Server responses: OK, ERR and EOF decoded as views into the payload, and the ERR packets tether writes.
#include "tether/codec/response.hpp"

#include "tether/codec/wire.hpp"

namespace tether::codec {

namespace {

constexpr std::size_t sql_state_size = 5;
constexpr char sql_state_marker = '#';
constexpr std::string_view default_sql_state = "HY000";
constexpr std::size_t eof_max_size = 9;  // an 0xFE packet this long or longer is an OK or a row
constexpr std::size_t eof_41_size = 5;

}  // namespace

DecodeResult<OkPacket> decode_ok(Bytes payload, Capabilities capabilities) {
    using Result = DecodeResult<OkPacket>;
    WireReader r(payload);
    OkPacket ok;
    auto header = r.u8();
    if (!header) return Result::bad("empty OK packet");
    if (*header != ok_header && *header != eof_header) return Result::bad("not an OK packet");
    ok.header = *header;
    auto affected_rows = r.lenenc_int();
    auto last_insert_id = r.lenenc_int();
    if (!r.ok()) return Result::bad("OK packet truncated");
    ok.affected_rows = *affected_rows;
    ok.last_insert_id = *last_insert_id;
    if (capabilities & cap::protocol_41) {
        auto status = r.u16();
        auto warnings = r.u16();
        if (!r.ok()) return Result::bad("OK packet truncated before the status flags");
        ok.status_flags = *status;
        ok.warnings = *warnings;
    } else if (capabilities & cap::transactions) {
        auto status = r.u16();
        if (!status) return Result::bad("OK packet truncated before the status flags");
        ok.status_flags = *status;
    }

    const auto tail = r.rest();
    if ((capabilities & cap::session_track) == 0) {
        ok.info = as_text(tail);
        return Result::success(ok, payload.size());
    }
    // Servers disagree here (MariaDB sets SESSION_STATE_CHANGED with no data,
    // forks add their own tracker types): only the status matters to tether,
    // so a tail that does not parse is kept whole as `info`.
    WireReader t(tail);
    std::string_view info;
    std::string_view session_state;
    if (!t.at_end()) info = t.lenenc_string().value_or(std::string_view{});
    if ((ok.status_flags & status::session_state_changed) && !t.at_end()) {
        session_state = t.lenenc_string().value_or(std::string_view{});
    }
    if (t.ok()) {
        ok.info = info;
        ok.session_state = session_state;
    } else {
        ok.info = as_text(tail);
    }
    return Result::success(ok, payload.size());
}

DecodeResult<std::optional<std::string_view>> decode_session_schema(std::string_view session_state) {
    using Result = DecodeResult<std::optional<std::string_view>>;
    WireReader r(as_bytes(session_state));
    std::optional<std::string_view> schema;
    while (!r.at_end()) {
        auto type = r.u8();
        auto body = r.lenenc_string();
        if (!type || !body) return Result::bad("session state entry truncated");
        if (*type != session_track_schema) continue;
        WireReader b(as_bytes(*body));
        auto name = b.lenenc_string();
        if (!name || !b.at_end()) return Result::bad("malformed SESSION_TRACK_SCHEMA entry");
        schema = *name;
    }
    return Result::success(schema, session_state.size());
}

DecodeResult<ErrPacket> decode_err(Bytes payload) {
    using Result = DecodeResult<ErrPacket>;
    WireReader r(payload);
    auto header = r.u8();
    if (!header || *header != err_header) return Result::bad("not an ERR packet");
    auto code = r.u16();
    if (!code) return Result::bad("ERR packet truncated");
    ErrPacket err;
    err.code = *code;
    // Before the client's capabilities are known (an ERR instead of the
    // greeting) servers omit the marker and the state.
    if (r.peek() == static_cast<std::uint8_t>(sql_state_marker)) {
        r.skip(1);
        auto state = r.bytes(sql_state_size);
        if (!state) return Result::bad("ERR packet SQL state truncated");
        err.sql_state = as_text(*state);
    }
    err.message = as_text(r.rest());
    return Result::success(err, payload.size());
}

bool is_err_packet(Bytes payload) { return !payload.empty() && std::to_integer<std::uint8_t>(payload[0]) == err_header; }

bool is_eof_packet(Bytes payload) {
    return !payload.empty() && std::to_integer<std::uint8_t>(payload[0]) == eof_header &&
           payload.size() < eof_max_size;
}

DecodeResult<EofPacket> decode_eof(Bytes payload) {
    using Result = DecodeResult<EofPacket>;
    if (!is_eof_packet(payload)) return Result::bad("not an EOF packet");
    EofPacket eof;
    // A lone 0xFE is a pre-4.1 EOF: no warnings, no status.
    if (payload.size() == 1) return Result::success(eof, payload.size());
    if (payload.size() < eof_41_size) return Result::bad("EOF packet truncated");
    WireReader r(payload.subspan(1));
    eof.warnings = *r.u16();
    eof.status_flags = *r.u16();
    return Result::success(eof, payload.size());
}

void append_err(std::vector<std::byte>& out, std::uint8_t sequence_id, std::uint16_t code,
                std::string_view sql_state, std::string_view message) {
    std::vector<std::byte> payload;
    payload.reserve(1 + 2 + 1 + sql_state_size + message.size());
    WireWriter w(payload);
    w.u8(err_header);
    w.u16(code);
    w.u8(static_cast<std::uint8_t>(sql_state_marker));
    if (sql_state.empty()) sql_state = default_sql_state;
    // Drivers read exactly five characters after the marker, whatever we were given.
    const std::string_view state = sql_state.substr(0, sql_state_size);
    w.text(state);
    for (std::size_t i = state.size(); i < sql_state_size; ++i) w.u8('0');
    w.text(message);
    append_packet(out, sequence_id, payload);
}

std::vector<std::byte> encode_err(std::uint8_t sequence_id, std::uint16_t code, std::string_view sql_state,
                                  std::string_view message) {
    std::vector<std::byte> out;
    append_err(out, sequence_id, code, sql_state, message);
    return out;
}

}  // namespace tether::codec
