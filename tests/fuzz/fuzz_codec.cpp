// libFuzzer target for every codec decoder: the first input byte picks the decoder, the rest is its input.
//
// Checked for each decoder: it never reads outside its input (AddressSanitizer,
// exact-size copies), "need more" and "malformed" are consistent (a prefix of a
// valid stream is never malformed, an extension of a malformed one never valid,
// a payload decoder never asks for more), and where an encoder exists
// decode -> encode -> decode gives the same value and encode is then a fixed point.
//
// Input layout (tests/fuzz/make_seeds.py writes seeds in it): byte 0 % selector_count
// picks the decoder below; decoders that need the session's capabilities read
// 4 little-endian bytes of them first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../unit/support/clean_utf8.hpp"
#include "fuzz_check.hpp"
#include "tether/codec/command.hpp"
#include "tether/codec/fingerprint.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/packet_scanner.hpp"
#include "tether/codec/prepared_statement.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"
#include "tether/session/greeting_rewrite.hpp"

namespace {

using namespace tether;
using namespace tether::codec;
using tether::fuzz::exact_copy;
using tether::fuzz::InputReader;
using tether::fuzz::same_bytes;

enum Selector : std::uint8_t {
    framing = 0,       // a stream: decode_header, decode_packet, decode_logical_packet
    scanner = 1,       // 2 parameter bytes, then a stream fed to PacketScanner in pieces
    greeting = 2,      // a greeting payload
    login = 3,         // a HandshakeResponse41 payload
    ssl_request = 4,   // an SSLRequest payload
    change_user = 5,   // 4 capability bytes, then a COM_CHANGE_USER payload
    auth_switch = 6,   // an AuthSwitchRequest payload
    auth_more = 7,     // an AuthMoreData payload
    ok_packet = 8,     // 4 capability bytes, then an OK payload
    err_packet = 9,    // an ERR payload
    eof_packet = 10,   // an EOF payload
    wire = 11,         // 1 length byte, that many reader operations, then the data they read
    stmt_prepare_ok = 12,  // a COM_STMT_PREPARE_OK payload (or the first bytes of one)
    statement_fingerprint = 13,  // 1 flag byte (bit 0: truncated), then a statement's text
    selector_count = 14,
};

// A view lies inside the payload it was decoded from (decoders hand out views, never copies).
bool inside(std::string_view view, const std::vector<std::byte>& payload) {
    if (view.empty()) return true;
    const auto* begin = reinterpret_cast<const char*>(payload.data());
    return view.data() >= begin && view.data() + view.size() <= begin + payload.size();
}

// Prefix lengths worth checking: all of them for short inputs, else the first
// and last few and an even sample between (quadratic work would slow the fuzzer).
std::vector<std::size_t> prefix_lengths(std::size_t size) {
    std::vector<std::size_t> out;
    if (size <= 256) {
        for (std::size_t k = 0; k < size; ++k) out.push_back(k);
        return out;
    }
    for (std::size_t k = 0; k < 16; ++k) out.push_back(k);
    for (std::size_t k = 16; k < size - 16; k += size / 64) out.push_back(k);
    for (std::size_t k = size - 16; k < size; ++k) out.push_back(k);
    return out;
}

// ---- framing ----------------------------------------------------------------

void fuzz_framing(Bytes input) {
    InputReader params(input);
    // Small limits too, so "exceeds the maximum payload size" is reached.
    const std::size_t max_payload = static_cast<std::size_t>(params.u8()) * 64;
    const auto stream = exact_copy(params.rest());

    auto header = decode_header(stream);
    FUZZ_CHECK(!header.malformed());
    FUZZ_CHECK(header.ok() == (stream.size() >= header_size));
    if (header.ok()) {
        FUZZ_CHECK(header.consumed == header_size);
        std::byte again[header_size];
        encode_header(header.value, again);
        FUZZ_CHECK(same_bytes(Bytes(again, header_size), Bytes(stream).first(header_size)));
    }

    auto packet = decode_packet(stream);
    FUZZ_CHECK(!packet.malformed());
    if (packet.ok()) {
        FUZZ_CHECK(packet.consumed == header_size + packet.value.header.payload_length);
        FUZZ_CHECK(packet.consumed <= stream.size());
        FUZZ_CHECK(packet.value.payload.data() == stream.data() + header_size);
    } else {
        FUZZ_CHECK(!header.ok() || stream.size() < header_size + header.value.payload_length);
    }

    auto whole = decode_logical_packet(stream, max_payload);
    if (whole.ok()) {
        FUZZ_CHECK(whole.consumed <= stream.size());
        FUZZ_CHECK(whole.value.payload.size() <= max_payload);
        // The only framing decode_logical_packet accepts is the one append_packet writes.
        std::vector<std::byte> encoded;
        const std::uint8_t next = append_packet(encoded, whole.value.first_sequence_id, whole.value.payload);
        FUZZ_CHECK(same_bytes(encoded, Bytes(stream).first(whole.consumed)));
        FUZZ_CHECK(static_cast<std::uint8_t>(next - 1) == whole.value.last_sequence_id);
    }
    if (whole.malformed()) FUZZ_CHECK(!whole.error.empty());

    for (std::size_t k : prefix_lengths(stream.size())) {
        const auto prefix = exact_copy(Bytes(stream).first(k));
        auto part = decode_logical_packet(prefix, max_payload);
        if (whole.ok() && k < whole.consumed) FUZZ_CHECK(part.need_more());
        if (whole.ok() && k >= whole.consumed) {
            FUZZ_CHECK(part.ok() && part.consumed == whole.consumed && same_bytes(part.value.payload, whole.value.payload));
        }
        if (whole.need_more()) FUZZ_CHECK(part.need_more());
        // No further bytes can repair a malformed stream.
        if (part.malformed()) FUZZ_CHECK(whole.malformed());
    }
}

// ---- streaming scanner ------------------------------------------------------

struct PhysicalPacket {
    PacketHeader header;
    Bytes payload;  // may be short for the stream's last, incomplete packet
};

// The packets of `stream` the plain decoder sees, for comparison.
std::vector<PhysicalPacket> reference_packets(Bytes stream) {
    std::vector<PhysicalPacket> out;
    while (stream.size() >= header_size) {
        auto h = decode_header(stream).value;
        const std::size_t have = std::min<std::size_t>(h.payload_length, stream.size() - header_size);
        out.push_back({h, stream.subspan(header_size, have)});
        stream = stream.subspan(header_size + have);
    }
    return out;
}

struct ScannedPacket {
    PacketHeader header;
    std::vector<std::byte> prefix;
    bool continuation = false;
    bool captured = false;  // capture_rest accepted it and an end event is due
    bool ended = false;
    std::vector<std::byte> sink;
};

void fuzz_scanner(Bytes input) {
    InputReader params(input);
    std::uint32_t rng = params.u8() | 0x100u;  // chunk sizes
    const std::uint8_t capture_mask = params.u8();  // which packets ask for their rest
    const std::size_t capture_limit = static_cast<std::size_t>(params.u8()) * 8;
    const auto stream = exact_copy(params.rest());
    const auto reference = reference_packets(stream);

    PacketScanner scanner;
    std::vector<ScannedPacket> seen;
    std::size_t offset = 0;
    while (offset < stream.size()) {
        rng = rng * 1103515245u + 12345u;
        const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % 48, stream.size() - offset);
        const auto chunk = exact_copy(Bytes(stream).subspan(offset, n));
        offset += n;
        Bytes rest(chunk);
        PacketScanner::Event event;
        while (scanner.next(rest, event)) {
            if (event.kind == PacketScanner::EventKind::end) {
                FUZZ_CHECK(!seen.empty() && seen.back().captured && !seen.back().ended);
                seen.back().ended = true;
                continue;
            }
            FUZZ_CHECK(seen.empty() || !seen.back().captured || seen.back().ended);
            ScannedPacket p{event.header, exact_copy(event.prefix), event.continuation, false, false, {}};
            seen.push_back(std::move(p));
            ScannedPacket& cur = seen.back();
            if ((capture_mask >> (seen.size() % 8)) & 1) {
                const bool accepted = scanner.capture_rest(&cur.sink, capture_limit);
                FUZZ_CHECK(accepted == (event.header.payload_length <= capture_limit));
                cur.captured = accepted && event.header.payload_length > event.prefix.size();
            }
        }
        FUZZ_CHECK(rest.empty());
    }

    // Every packet whose header and peeked prefix arrived was announced, in order,
    // exactly as the plain decoder reads it.
    std::size_t announced = 0;
    for (const auto& p : reference) {
        const std::size_t wanted = std::min<std::size_t>(p.header.payload_length, PacketScanner::peek_size);
        if (p.payload.size() >= wanted) ++announced;
    }
    FUZZ_CHECK(seen.size() == announced);
    bool previous_full = false;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const auto& ref = reference[i];
        const auto& got = seen[i];
        FUZZ_CHECK(got.header.payload_length == ref.header.payload_length);
        FUZZ_CHECK(got.header.sequence_id == ref.header.sequence_id);
        const std::size_t wanted = std::min<std::size_t>(ref.header.payload_length, PacketScanner::peek_size);
        FUZZ_CHECK(same_bytes(got.prefix, ref.payload.first(wanted)));
        FUZZ_CHECK(got.continuation == previous_full);
        previous_full = ref.header.payload_length == max_physical_payload;
        if (got.captured) {
            const bool complete = ref.payload.size() == ref.header.payload_length;
            FUZZ_CHECK(got.ended == complete);
            FUZZ_CHECK(same_bytes(got.sink, ref.payload.subspan(wanted)));
        } else {
            FUZZ_CHECK(got.sink.empty());
        }
    }
    // Between packets exactly when the stream ends where a packet ends.
    std::size_t whole_packets = 0;
    for (const auto& p : reference) {
        if (p.payload.size() == p.header.payload_length) whole_packets += header_size + p.payload.size();
    }
    FUZZ_CHECK(scanner.at_boundary() == (whole_packets == stream.size()));
}

// ---- greeting ---------------------------------------------------------------

bool same_greeting(const Greeting& a, const Greeting& b) {
    return a.protocol_version == b.protocol_version && a.server_version == b.server_version &&
           a.thread_id == b.thread_id && a.auth_plugin_data == b.auth_plugin_data && a.capabilities == b.capabilities &&
           a.character_set == b.character_set && a.status_flags == b.status_flags &&
           a.auth_plugin_data_length == b.auth_plugin_data_length && a.auth_plugin_name == b.auth_plugin_name &&
           a.auth_plugin_name_terminated == b.auth_plugin_name_terminated &&
           a.has_extended_fields == b.has_extended_fields && a.reserved == b.reserved;
}

void fuzz_greeting(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_greeting(payload);
    FUZZ_CHECK(!decoded.need_more());  // a payload is complete: truncation is malformed
    if (!decoded.ok()) return;
    FUZZ_CHECK(decoded.consumed == payload.size());
    const Greeting& g = decoded.value;

    // What handshake.hpp promises: the encoding reproduces the payload up to the
    // last field the capabilities announce, except the filler byte after the
    // first scramble part (written as 0); bytes after that are not kept.
    const auto encoded = encode_greeting(g);
    FUZZ_CHECK(encoded.size() <= payload.size());
    const std::size_t filler = 1 + g.server_version.size() + 1 + 4 + 8;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        FUZZ_CHECK(encoded[i] == (i == filler ? std::byte{0} : payload[i]));
    }
    auto again = decode_greeting(exact_copy(encoded));
    FUZZ_CHECK(again.ok() && same_greeting(again.value, g));
    FUZZ_CHECK(encode_greeting(again.value) == encoded);

    // The greeting tether shows its client decodes to what was meant; the
    // MariaDB capability bytes among the reserved ones follow the new capabilities.
    const Greeting shown = session::client_greeting(g);
    auto shown_again = decode_greeting(exact_copy(encode_greeting(shown)));
    Greeting expected = shown;
    if (shown.has_extended_fields && (shown.capabilities & cap::client_mysql) == 0) {
        for (std::size_t i = 0; i < 4; ++i) {
            expected.reserved[6 + i] = static_cast<std::byte>((shown.capabilities >> (32 + 8 * i)) & 0xFF);
        }
    }
    FUZZ_CHECK(shown_again.ok() && same_greeting(shown_again.value, expected));
}

// ---- login, SSLRequest, COM_CHANGE_USER ------------------------------------

bool same_login(const Login& a, const Login& b) {
    return a.capabilities == b.capabilities && a.max_packet_size == b.max_packet_size &&
           a.character_set == b.character_set && a.user == b.user && a.auth_response == b.auth_response &&
           a.auth_response_encoding == b.auth_response_encoding && a.database == b.database &&
           a.auth_plugin_name == b.auth_plugin_name && a.auth_plugin_name_terminated == b.auth_plugin_name_terminated &&
           a.attributes == b.attributes && a.attributes_omitted == b.attributes_omitted &&
           a.zstd_compression_level == b.zstd_compression_level && a.unparsed_tail == b.unparsed_tail;
}

void fuzz_login(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_login(payload);
    FUZZ_CHECK(!decoded.need_more());
    if (is_ssl_request(payload)) FUZZ_CHECK(decoded.malformed());
    if (!decoded.ok()) {
        FUZZ_CHECK(!decoded.error.empty());
        return;
    }
    FUZZ_CHECK(decoded.consumed == payload.size());
    // The filler's unused bytes are not kept, so equality is of values.
    const auto encoded = encode_login(decoded.value);
    auto again = decode_login(exact_copy(encoded));
    FUZZ_CHECK(again.ok() && same_login(again.value, decoded.value));
    FUZZ_CHECK(encode_login(again.value) == encoded);
}

void fuzz_ssl_request(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_ssl_request(payload);
    FUZZ_CHECK(!decoded.need_more());
    const bool protocol_41 =
        payload.size() >= 2 && (std::to_integer<unsigned>(payload[1]) & (cap::protocol_41 >> 8)) != 0;
    FUZZ_CHECK(decoded.ok() == (is_ssl_request(payload) && protocol_41));
    if (decoded.ok()) {
        FUZZ_CHECK(decoded.consumed == ssl_request_size);
        FUZZ_CHECK((decoded.value.capabilities & (cap::ssl | cap::protocol_41)) == (cap::ssl | cap::protocol_41));
        FUZZ_CHECK(decode_login(payload).malformed());
    }
}

void fuzz_change_user(Bytes input) {
    InputReader r(input);
    const Capabilities caps = r.u32();
    const auto payload = exact_copy(r.rest());
    auto decoded = decode_change_user(payload, caps);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) return;
    FUZZ_CHECK(decoded.consumed == payload.size());
    FUZZ_CHECK(decoded.value.capabilities == caps);
    FUZZ_CHECK(decoded.value.database.has_value());
    FUZZ_CHECK(!payload.empty() && std::to_integer<std::uint8_t>(payload[0]) == static_cast<std::uint8_t>(Command::change_user));
    if ((caps & cap::secure_connection) != 0) FUZZ_CHECK(decoded.value.auth_response.size() <= 0xFF);
}

// ---- authentication exchange ------------------------------------------------

void fuzz_auth_switch(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_auth_switch(payload);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) return;
    FUZZ_CHECK(std::to_integer<std::uint8_t>(payload[0]) == auth_switch_header);
    if (payload.size() == 1) return;  // the pre-4.1 fallback request, named by the decoder
    // 0xFE, the plugin name, its NUL, the data as sent.
    std::vector<std::byte> encoded;
    WireWriter w(encoded);
    w.u8(auth_switch_header);
    w.nul_string(decoded.value.plugin_name);
    w.bytes(decoded.value.plugin_data);
    FUZZ_CHECK(encoded == payload);
}

void fuzz_auth_more(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_auth_more_data(payload);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) return;
    FUZZ_CHECK(decoded.value.data.size() + 1 == payload.size());
    FUZZ_CHECK(same_bytes(decoded.value.data, Bytes(payload).subspan(1)));
}

void fuzz_stmt_prepare_ok(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_stmt_prepare_ok(payload);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) {
        FUZZ_CHECK(!decoded.error.empty());
        return;
    }
    FUZZ_CHECK(payload.size() >= stmt_prepare_ok_min_size && std::to_integer<std::uint8_t>(payload[0]) == ok_header);
    FUZZ_CHECK(decoded.consumed <= payload.size());
    FUZZ_CHECK(decoded.value.warnings.has_value() == (payload.size() >= stmt_prepare_ok_with_warnings_size));
    // The same fields as a plain reader finds them.
    WireReader r(payload);
    r.skip(1);
    FUZZ_CHECK(r.u32() == decoded.value.statement_id);
    FUZZ_CHECK(r.u16() == decoded.value.columns);
    FUZZ_CHECK(r.u16() == decoded.value.params);
}

// ---- statement fingerprints -------------------------------------------------

using tether::test::clean_utf8;

// At most 256 bytes of clean text, trimmed, `...` at the end of a
// truncated one, and a fixed point unless it was cut (a cut can leave an
// unterminated backquoted name, which reads back as `?`).
void fuzz_fingerprint(Bytes input) {
    InputReader r(input);
    const bool truncated = (r.u8() & 1) != 0;
    const auto bytes = exact_copy(r.rest());
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::string out = fingerprint(text, truncated);
    FUZZ_CHECK(out.size() <= fingerprint_max_bytes);
    FUZZ_CHECK(clean_utf8(out));
    if (!out.empty()) FUZZ_CHECK(out.front() != ' ' && out.back() != ' ');
    if (truncated && !out.empty()) FUZZ_CHECK(out.ends_with("..."));
    if (!out.ends_with("...")) FUZZ_CHECK(fingerprint(out) == out);
}

// ---- OK, ERR, EOF -----------------------------------------------------------

void fuzz_ok(Bytes input) {
    InputReader r(input);
    const Capabilities caps = r.u32();
    const auto payload = exact_copy(r.rest());
    auto decoded = decode_ok(payload, caps);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) return;
    FUZZ_CHECK(decoded.consumed == payload.size());
    FUZZ_CHECK(decoded.value.header == ok_header || decoded.value.header == eof_header);
    FUZZ_CHECK(inside(decoded.value.info, payload));
    FUZZ_CHECK(inside(decoded.value.session_state, payload));
    if ((caps & (cap::protocol_41 | cap::transactions)) == 0) FUZZ_CHECK(decoded.value.status_flags == 0);
}

void fuzz_err(Bytes input) {
    InputReader r(input);
    const std::uint8_t sequence_id = r.u8();
    const auto payload = exact_copy(r.rest());
    auto decoded = decode_err(payload);
    FUZZ_CHECK(!decoded.need_more());
    if (!decoded.ok()) return;
    const ErrPacket& err = decoded.value;
    FUZZ_CHECK(decoded.consumed == payload.size());
    FUZZ_CHECK(err.sql_state.empty() || err.sql_state.size() == 5);
    FUZZ_CHECK(inside(err.sql_state, payload) && inside(err.message, payload));

    // tether's own ERR packets always carry a state: HY000 when there was none.
    const auto packet = encode_err(sequence_id, err.code, err.sql_state, err.message);
    auto framed = decode_logical_packet(packet, packet.size());
    FUZZ_CHECK(framed.ok() && framed.consumed == packet.size() && framed.value.first_sequence_id == sequence_id);
    auto again = decode_err(framed.value.payload);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value.code == err.code && again.value.message == err.message);
    FUZZ_CHECK(again.value.sql_state == (err.sql_state.empty() ? std::string_view("HY000") : err.sql_state));
}

void fuzz_eof(Bytes input) {
    const auto payload = exact_copy(input);
    auto decoded = decode_eof(payload);
    FUZZ_CHECK(!decoded.need_more());
    const bool eof = is_eof_packet(payload);
    if (decoded.ok()) FUZZ_CHECK(eof && decoded.consumed == payload.size());
    if (eof) FUZZ_CHECK(decoded.ok() == (payload.size() == 1 || payload.size() >= 5));
}

// ---- wire primitives --------------------------------------------------------

// Runs reader operations chosen by the input over the data that follows them:
// positions never pass the end, a failed reader stays failed, and every
// length-encoded integer read back from WireWriter's encoding is the same.
void fuzz_wire(Bytes input) {
    InputReader r(input);
    const std::size_t op_count = r.u8() % 32;
    const auto ops = exact_copy(r.take(op_count));
    const auto data = exact_copy(r.rest());
    WireReader reader(data);
    bool failed = false;
    for (std::byte op_byte : ops) {
        const std::size_t before = reader.position();
        const auto op = std::to_integer<std::uint8_t>(op_byte);
        std::size_t expected_step = 0;
        bool got = false;
        switch (op % 11) {
            case 0: got = reader.u8().has_value(); expected_step = 1; break;
            case 1: got = reader.u16().has_value(); expected_step = 2; break;
            case 2: got = reader.u24().has_value(); expected_step = 3; break;
            case 3: got = reader.u32().has_value(); expected_step = 4; break;
            case 4: got = reader.u64().has_value(); expected_step = 8; break;
            case 5: {
                auto v = reader.lenenc_int();
                got = v.has_value();
                expected_step = reader.position() - before;
                if (v) {
                    std::vector<std::byte> encoded;
                    WireWriter(encoded).lenenc_int(*v);
                    WireReader back(encoded);
                    FUZZ_CHECK(back.lenenc_int() == v && back.at_end());
                }
                break;
            }
            case 6: {
                auto s = reader.lenenc_string();
                got = s.has_value();
                expected_step = reader.position() - before;
                if (s) {
                    std::vector<std::byte> encoded;
                    WireWriter(encoded).lenenc_string(*s);
                    WireReader back(encoded);
                    FUZZ_CHECK(back.lenenc_string() == s && back.at_end());
                }
                break;
            }
            case 7: {
                auto s = reader.nul_string();
                got = s.has_value();
                if (s) {
                    expected_step = s->size() + 1;
                    FUZZ_CHECK(s->find('\0') == std::string_view::npos);
                }
                break;
            }
            case 8: {
                bool terminated = false;
                auto s = reader.nul_or_rest_string(terminated);
                got = !failed;
                expected_step = s.size() + (terminated ? 1 : 0);
                break;
            }
            case 9: got = reader.bytes(op / 11).has_value(); expected_step = op / 11; break;
            case 10: {
                auto rest = reader.rest();
                got = !failed;
                expected_step = rest.size();
                FUZZ_CHECK(reader.at_end());
                break;
            }
        }
        FUZZ_CHECK(reader.position() <= data.size());
        if (failed) FUZZ_CHECK(!got && !reader.ok());
        if (got) FUZZ_CHECK(reader.position() == before + expected_step);
        if (!reader.ok()) failed = true;
        FUZZ_CHECK(reader.remaining() == (failed ? 0 : data.size() - reader.position()));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const Bytes input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    switch (data[0] % selector_count) {
        case framing: fuzz_framing(input); break;
        case scanner: fuzz_scanner(input); break;
        case greeting: fuzz_greeting(input); break;
        case login: fuzz_login(input); break;
        case ssl_request: fuzz_ssl_request(input); break;
        case change_user: fuzz_change_user(input); break;
        case auth_switch: fuzz_auth_switch(input); break;
        case auth_more: fuzz_auth_more(input); break;
        case ok_packet: fuzz_ok(input); break;
        case err_packet: fuzz_err(input); break;
        case eof_packet: fuzz_eof(input); break;
        case wire: fuzz_wire(input); break;
        case stmt_prepare_ok: fuzz_stmt_prepare_ok(input); break;
        case statement_fingerprint: fuzz_fingerprint(input); break;
        default: break;
    }
    return 0;
}
