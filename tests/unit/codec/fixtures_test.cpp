// Every fixture in tests/fixtures/mysql decoded per its `kinds:` and checked against its `expect:` and `anomaly:` lines.
#include <algorithm>
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <set>

#include "fixture.hpp"
#include "tether/codec/command.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/prepared_statement.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

using namespace tether::codec;
using namespace tether::codec::test;

namespace {

constexpr std::string_view absent = "<absent>";
constexpr std::size_t compressed_header_size = 7;

// The packets our decoders refuse on purpose, with the reason they give. Every
// other fixture packet must decode ok.
const std::map<std::string, std::string_view> refused_by_design = {
    {"malformed_envoy-fuzz_truncated-greeting_login-without-protocol41.hex/p0", "greeting truncated"},
    {"malformed_envoy-fuzz_truncated-greeting_login-without-protocol41.hex/p1", "client does not speak protocol 4.1"},
    {"malformed_response320_haproxy-mysql-check-pre41.hex/p0", "client does not speak protocol 4.1"},
    {"malformed_sslrequest_zgrab2_no-protocol41.hex/p0", "client does not speak protocol 4.1"},
};

std::string hex_word(std::uint64_t value, int digits) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(value));
    return buf;
}

std::string trimmed_scramble(const std::vector<std::byte>& data) {
    std::size_t n = data.size();
    while (n > 0 && data[n - 1] == std::byte{0}) --n;
    return to_hex(std::span(data).first(n));
}

std::size_t lenenc_size(std::uint64_t v) { return v < 0xFB ? 1 : v <= 0xFFFF ? 3 : v <= 0xFFFFFF ? 4 : 9; }

// What one packet decoded to: its status, error, and the fields verify.py would print.
struct Decoded {
    DecodeStatus status = DecodeStatus::malformed;
    std::string_view error;
    std::map<std::string, std::string> fields;
    std::optional<Greeting> greeting;
    std::optional<Login> login;
    std::optional<OkPacket> ok;
};

void describe_greeting(const Greeting& g, Decoded& d) {
    auto& f = d.fields;
    f["version"] = g.server_version;
    f["conn_id"] = std::to_string(g.thread_id);
    f["caps"] = hex_word(g.capabilities & 0xFFFFFFFFu, g.has_extended_fields ? 8 : 4);
    if (!g.has_extended_fields) return;
    f["charset"] = std::to_string(g.character_set);
    f["status"] = hex_word(g.status_flags, 4);
    f["auth_data_len"] = std::to_string(g.auth_plugin_data_length);
    if (!(g.capabilities & cap::client_mysql)) f["mariadb_caps"] = hex_word(g.capabilities >> 32, 8);
    if (g.capabilities & cap::plugin_auth) f["plugin"] = g.auth_plugin_name;
    f["scramble"] = trimmed_scramble(g.auth_plugin_data);
}

void describe_login(const Login& l, Decoded& d) {
    auto& f = d.fields;
    f["caps"] = hex_word(l.capabilities & 0xFFFFFFFFu, 8);
    if (!(l.capabilities & cap::client_mysql)) f["mariadb_caps"] = hex_word(l.capabilities >> 32, 8);
    f["max_packet"] = std::to_string(l.max_packet_size);
    f["charset"] = std::to_string(l.character_set);
    f["user"] = l.user;
    f["auth_len"] = std::to_string(l.auth_response.size());
    f["auth"] = to_hex(l.auth_response);
    f["db"] = l.database ? *l.database : std::string(absent);
    f["plugin"] = l.auth_plugin_name ? *l.auth_plugin_name : std::string(absent);
    if ((l.capabilities & cap::connect_attrs) && !l.attributes_omitted) {
        std::size_t block = 0;
        for (const auto& [key, value] : l.attributes) {
            block += lenenc_size(key.size()) + key.size() + lenenc_size(value.size()) + value.size();
            f["attr." + std::string(key)] = std::string(value);
        }
        f["attrs_len"] = std::to_string(block);
    }
    if (!l.unparsed_tail.empty()) f["trailing"] = to_hex(l.unparsed_tail);
}

// The session-state block as "type:length" entries; GTID sets also give their length.
void describe_session_state(std::string_view state, Decoded& d) {
    WireReader r(as_bytes(state));
    std::string entries;
    while (!r.at_end()) {
        auto type = r.u8();
        auto data = r.lenenc_string();
        REQUIRE_MESSAGE(r.ok(), "session-state entry runs past the block");
        if (!entries.empty()) entries += ',';
        char buf[32];
        std::snprintf(buf, sizeof buf, "%02x:%zu", *type, data->size());
        entries += buf;
        if (*type == 3) {
            WireReader gtids(as_bytes(*data));
            gtids.u8();
            auto set = gtids.lenenc_string();
            REQUIRE(set.has_value());
            d.fields["gtids_len"] = std::to_string(set->size());
        }
    }
    d.fields["session_state"] = entries;
}

Decoded decode_kind(const std::string& kind, Bytes payload, Capabilities client_caps) {
    Decoded d;
    auto& f = d.fields;
    auto take = [&d](const auto& result) {
        d.status = result.status;
        d.error = result.error;
    };
    if (kind == "greeting") {
        auto r = decode_greeting(payload);
        take(r);
        if (r.ok()) {
            describe_greeting(r.value, d);
            d.greeting = r.value;
        }
    } else if (kind == "sslrequest") {
        auto r = decode_ssl_request(payload);
        take(r);
        if (r.ok()) {
            f["caps"] = hex_word(r.value.capabilities & 0xFFFFFFFFu, 8);
            f["max_packet"] = std::to_string(r.value.max_packet_size);
            f["charset"] = std::to_string(r.value.character_set);
        }
    } else if (kind == "response41" || kind == "response320") {
        auto r = decode_login(payload);
        take(r);
        if (r.ok()) {
            describe_login(r.value, d);
            d.login = r.value;
        }
    } else if (kind == "authswitch") {
        auto r = decode_auth_switch(payload);
        take(r);
        if (r.ok()) {
            f["plugin"] = r.value.plugin_name;
            f["data_len"] = std::to_string(r.value.plugin_data.size());
            f["data"] = to_hex(r.value.plugin_data);
        }
    } else if (kind == "authswitchresponse") {
        // Opaque plugin data: the codec relays it without decoding.
        d.status = DecodeStatus::ok;
        f["data_len"] = std::to_string(payload.size());
        f["data"] = to_hex(payload);
    } else if (kind == "authmoredata") {
        auto r = decode_auth_more_data(payload);
        take(r);
        if (r.ok()) {
            const std::string data = to_hex(r.value.data);
            f["data"] = data;
            f["meaning"] = data == "02"   ? "request_public_key"
                           : data == "03" ? "fast_auth_success"
                           : data == "04" ? "perform_full_authentication"
                                          : "plugin data";
        }
    } else if (kind == "ok") {
        auto r = decode_ok(payload, client_caps);
        take(r);
        if (r.ok()) {
            const OkPacket& ok = r.value;
            f["header"] = hex_word(ok.header, 2);
            f["affected_rows"] = std::to_string(ok.affected_rows);
            f["last_insert_id"] = std::to_string(ok.last_insert_id);
            f["status"] = hex_word(ok.status_flags, 4);
            if (client_caps & cap::protocol_41) f["warnings"] = std::to_string(ok.warnings);
            f["in_trans"] = (ok.status_flags & status::in_trans) ? "1" : "0";
            f["info"] = std::string(ok.info);
            if (!ok.session_state.empty()) describe_session_state(ok.session_state, d);
            d.ok = ok;
        }
    } else if (kind == "err") {
        auto r = decode_err(payload);
        take(r);
        if (r.ok()) {
            f["code"] = std::to_string(r.value.code);
            f["sqlstate"] = r.value.sql_state.empty() ? std::string(absent) : std::string(r.value.sql_state);
            f["message"] = std::string(r.value.message);
        }
    } else if (kind == "stmtprepareok") {
        auto r = decode_stmt_prepare_ok(payload);
        take(r);
        if (r.ok()) {
            f["statement_id"] = std::to_string(r.value.statement_id);
            f["columns"] = std::to_string(r.value.columns);
            f["params"] = std::to_string(r.value.params);
            f["warnings"] = r.value.warnings ? std::to_string(*r.value.warnings) : std::string(absent);
        }
    } else if (kind == "command") {
        // Commands are relayed, not decoded: the codec names them.
        REQUIRE_FALSE(payload.empty());
        d.status = DecodeStatus::ok;
        const auto command = std::to_integer<std::uint8_t>(payload[0]);
        f["command"] = std::string(command_name(command));
        f["arg_len"] = std::to_string(payload.size() - 1);
        if (command == static_cast<std::uint8_t>(Command::query)) f["query"] = std::string(as_text(payload.subspan(1)));
    } else {
        FAIL("unknown kind " << kind);
    }
    return d;
}

// The anomaly verify.py reports, as the behaviour our decoders must show.
void check_anomaly(const std::string& anomaly, const Decoded& d, Bytes payload) {
    CAPTURE(anomaly);
    if (anomaly == "greeting.truncated" || anomaly == "response.protocol41_not_set" ||
        anomaly == "sslrequest.protocol41_not_set") {
        CHECK(d.status == DecodeStatus::malformed);
        if (anomaly == "sslrequest.protocol41_not_set") {
            CHECK(is_ssl_request(payload));
            CHECK(decode_login(payload).malformed());
        }
    } else if (anomaly == "greeting.plugin_name_unterminated") {
        REQUIRE(d.greeting.has_value());
        CHECK_FALSE(d.greeting->auth_plugin_name_terminated);
    } else if (anomaly == "response.connect_attrs_flag_without_data") {
        REQUIRE(d.login.has_value());
        CHECK(d.login->attributes_omitted);
        CHECK(d.login->attributes.empty());
    } else if (anomaly == "response.trailing_bytes") {
        REQUIRE(d.login.has_value());
        CHECK_FALSE(d.login->unparsed_tail.empty());
    } else if (anomaly == "response.unknown_auth_plugin") {
        REQUIRE(d.login.has_value());
        CHECK(d.login->auth_plugin_name.has_value());
    } else if (anomaly == "authswitchresponse.length_prefixed") {
        REQUIRE_FALSE(payload.empty());
        CHECK(std::to_integer<std::size_t>(payload[0]) == payload.size() - 1);
    } else if (anomaly == "ok.session_state_changed_without_data") {
        REQUIRE(d.ok.has_value());
        CHECK((d.ok->status_flags & status::session_state_changed) != 0);
        CHECK(d.ok->session_state.empty());
    } else if (anomaly == "ok.unknown_session_track_type") {
        REQUIRE(d.ok.has_value());
        REQUIRE_FALSE(d.ok->session_state.empty());
        CHECK(d.ok->session_state.front() == '\x14');
    } else if (anomaly == "command.truncated") {
        CHECK(d.fields.at("command") == "COM_REFRESH");
        CHECK(d.fields.at("arg_len") == "0");
    } else {
        FAIL("anomaly without a check: " << anomaly);
    }
}

// Every prefix of a packet: never "need more" (the payload is complete), and a
// greeting or login accepted from a prefix must re-encode to that prefix.
void check_truncations(const std::string& kind, Bytes payload, Capabilities client_caps) {
    if (kind == "authswitchresponse" || kind == "command") return;  // opaque to the codec
    for (std::size_t n = 0; n < payload.size(); ++n) {
        CAPTURE(n);
        const auto prefix = copy_prefix(payload, n);
        const auto d = decode_kind(kind, prefix, client_caps);
        CHECK(d.status != DecodeStatus::need_more);
        if (d.status == DecodeStatus::malformed) CHECK_FALSE(d.error.empty());
        if (d.greeting) CHECK(encode_greeting(*d.greeting) == prefix);
        if (d.login) CHECK(encode_login(*d.login) == prefix);
    }
}

// The compressed-protocol frames: header fields, and the inner packets when
// the payload travels uncompressed (zlib is not the codec's business).
std::vector<std::byte> unwrap_frames(const Fixture& fx, std::map<std::string, std::string>& got, bool& inner_known) {
    std::vector<std::byte> inner;
    inner_known = true;
    Bytes rest = fx.bytes;
    for (int i = 0; !rest.empty(); ++i) {
        REQUIRE(rest.size() >= compressed_header_size);
        WireReader r(rest);
        const auto comp_len = *r.u24();
        const auto comp_seq = *r.u8();
        const auto uncomp_len = *r.u24();
        auto body = r.bytes(comp_len);
        REQUIRE(body.has_value());
        const std::string frame = "frame" + std::to_string(i) + ".";
        got[frame + "comp_len"] = std::to_string(comp_len);
        got[frame + "comp_seq"] = std::to_string(comp_seq);
        got[frame + "uncomp_len"] = std::to_string(uncomp_len);
        if (uncomp_len == 0) {
            inner.insert(inner.end(), body->begin(), body->end());
        } else {
            inner_known = false;
        }
        rest = rest.subspan(compressed_header_size + comp_len);
    }
    return inner;
}

}  // namespace

TEST_CASE("the fixture directory holds the 35 documented fixtures") {
    const auto names = fixture_names();
    CHECK(names.size() == 35);
    for (const auto& name : names) {
        CAPTURE(name);
        const auto fx = load_fixture(name);
        CHECK_FALSE(fx.bytes.empty());
        CHECK_FALSE(fx.kinds.empty());
        CHECK_FALSE(fx.expects.empty());
    }
}

TEST_CASE("every fixture decodes per its kinds and matches its expect and anomaly lines") {
    std::set<std::string> refused;
    std::size_t expects_checked = 0;
    std::size_t expects_skipped_zlib = 0;
    std::size_t expects_of_refused_packets = 0;
    std::size_t expects_total = 0;
    for (const auto& name : fixture_names()) {
        CAPTURE(name);
        const auto fx = load_fixture(name);
        std::map<std::string, std::string> got;
        std::set<int> refused_packets;
        bool inner_known = true;
        std::vector<std::byte> inner_storage;
        Bytes stream = fx.bytes;
        if (fx.compressed) {
            inner_storage = unwrap_frames(fx, got, inner_known);
            stream = inner_storage;
        }
        std::vector<Decoded> decoded;
        if (inner_known) {
            const auto packets = split_packets(stream);
            REQUIRE(packets.size() == fx.kinds.size());
            for (std::size_t i = 0; i < packets.size(); ++i) {
                const std::string& kind = fx.kinds[i];
                const Bytes payload = packets[i].payload;
                CAPTURE(i);
                CAPTURE(kind);
                const std::string p = "p" + std::to_string(i) + ".";
                got[p + "seq"] = std::to_string(packets[i].header.sequence_id);
                auto d = decode_kind(kind, payload, fx.client_capabilities);
                const std::string id = name + "/p" + std::to_string(i);
                if (auto it = refused_by_design.find(id); it != refused_by_design.end()) {
                    CHECK(d.status == DecodeStatus::malformed);
                    CHECK(d.error == it->second);
                    refused.insert(id);
                    refused_packets.insert(static_cast<int>(i));
                } else {
                    CHECK(d.status == DecodeStatus::ok);
                }
                for (const auto& [key, value] : d.fields) got[p + key] = value;
                // Round trips for the messages tether re-encodes.
                if (d.greeting) CHECK(encode_greeting(*d.greeting) == std::vector(payload.begin(), payload.end()));
                if (d.login) CHECK(encode_login(*d.login) == std::vector(payload.begin(), payload.end()));
                for (const auto& anomaly : fx.anomalies) {
                    if (anomaly.starts_with(p)) check_anomaly(anomaly.substr(p.size()), d, payload);
                }
                check_truncations(kind, payload, fx.client_capabilities);
                decoded.push_back(std::move(d));
            }
        }
        expects_total += fx.expects.size();
        for (const auto& expect : fx.expects) {
            const std::string& key = expect.first;
            const auto& want = expect.second;
            CAPTURE(key);
            const bool packet_key = key.starts_with("p");
            if (packet_key && !inner_known) {
                ++expects_skipped_zlib;
                continue;
            }
            if (packet_key && refused_packets.count(std::stoi(key.substr(1)))) {
                ++expects_of_refused_packets;
                continue;
            }
            auto it = got.find(key);
            CHECK_MESSAGE(it != got.end(), "no decoded field for " << key);
            if (it == got.end()) continue;
            CHECK(it->second == want);
            ++expects_checked;
        }
    }
    CHECK(refused.size() == refused_by_design.size());
    // Only the zlib frame's inner packet (command, query) is left to the session layer's inflater.
    CHECK(expects_skipped_zlib == 2);
    // The fields of the four refused packets (a truncated greeting, two pre-4.1 logins, a pre-4.1 SSLRequest).
    CHECK(expects_of_refused_packets == 17);
    // Every other expect line was compared with a decoded field.
    CHECK(expects_checked == expects_total - expects_skipped_zlib - expects_of_refused_packets);
    MESSAGE("expect lines: " << expects_total << ", compared: " << expects_checked);
}

TEST_CASE("every uncompressed fixture stream reassembles one byte at a time") {
    for (const auto& name : fixture_names()) {
        const auto fx = load_fixture(name);
        if (fx.compressed) continue;
        CAPTURE(name);
        const auto packets = split_packets(fx.bytes);
        std::size_t offset = 0;
        std::size_t index = 0;
        while (offset < fx.bytes.size()) {
            const std::size_t expected = header_size + packets[index].payload.size();
            for (std::size_t n = 0; n <= expected; ++n) {
                const auto chunk = copy_prefix(Bytes(fx.bytes).subspan(offset), n);
                auto logical = decode_logical_packet(chunk, 1u << 20);
                if (n < expected) {
                    REQUIRE(logical.need_more());
                } else {
                    REQUIRE(logical.ok());
                    CHECK(logical.consumed == expected);
                    CHECK(logical.value.first_sequence_id == packets[index].header.sequence_id);
                    CHECK(std::ranges::equal(logical.value.payload, packets[index].payload));
                }
            }
            offset += expected;
            ++index;
        }
        CHECK(index == fx.kinds.size());
    }
}
