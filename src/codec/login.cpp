// The client's login: HandshakeResponse41, its SSLRequest prefix, and COM_CHANGE_USER.
#include <algorithm>

#include "tether/codec/command.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/wire.hpp"

namespace tether::codec {

namespace {

constexpr std::size_t login_filler_size = 23;
constexpr std::size_t mariadb_caps_offset = 19;  // within the 23-byte filler
constexpr std::size_t max_length_prefixed_auth = 0xFF;

// The capability word decides the layout of everything after it, so a 4.0
// client (HandshakeResponse320, 2-byte capabilities) is recognisable from the
// first two bytes alone.
bool speaks_protocol_41(Bytes payload) {
    return payload.size() >= 2 && (std::to_integer<unsigned>(payload[1]) & (cap::protocol_41 >> 8)) != 0;
}

Capabilities with_mariadb_caps(Capabilities caps, std::span<const std::byte> filler) {
    if (caps & cap::client_mysql) return caps;
    return caps | (static_cast<Capabilities>(little_endian_u32(filler.subspan(mariadb_caps_offset))) << 32);
}

std::optional<std::span<const std::byte>> read_auth_response(WireReader& r, AuthResponseEncoding encoding) {
    switch (encoding) {
        case AuthResponseEncoding::lenenc: {
            auto text = r.lenenc_string();
            if (!text) return std::nullopt;
            return as_bytes(*text);
        }
        case AuthResponseEncoding::length_prefixed: {
            auto n = r.u8();
            if (!n) return std::nullopt;
            return r.bytes(*n);
        }
        case AuthResponseEncoding::nul_terminated: {
            auto text = r.nul_string();
            if (!text) return std::nullopt;
            return as_bytes(*text);
        }
    }
    return std::nullopt;
}

void write_auth_response(WireWriter& w, AuthResponseEncoding encoding, std::span<const std::byte> auth) {
    switch (encoding) {
        case AuthResponseEncoding::lenenc: w.lenenc_bytes(auth); return;
        case AuthResponseEncoding::length_prefixed: {
            auto n = std::min(auth.size(), max_length_prefixed_auth);
            w.u8(static_cast<std::uint8_t>(n));
            w.bytes(auth.first(n));
            return;
        }
        case AuthResponseEncoding::nul_terminated:
            w.bytes(auth);
            w.u8(0);
            return;
    }
}

AuthResponseEncoding login_auth_encoding(Capabilities caps) {
    if (caps & cap::plugin_auth_lenenc_client_data) return AuthResponseEncoding::lenenc;
    if (caps & cap::secure_connection) return AuthResponseEncoding::length_prefixed;
    return AuthResponseEncoding::nul_terminated;
}

// The attribute block: a length-encoded total, then length-encoded key/value
// pairs that must fill it exactly.
std::string_view read_attributes(WireReader& r, ConnectionAttributes& out) {
    auto total = r.lenenc_int();
    if (!total) return "connection attributes length is not a length-encoded integer";
    if (*total > r.remaining()) return "connection attributes run past the payload";
    return ConnectionAttributes::decode(*r.bytes(static_cast<std::size_t>(*total)), out);
}

void write_attributes(WireWriter& w, const ConnectionAttributes& attributes) { w.lenenc_bytes(attributes.block()); }

void read_plugin_name(WireReader& r, Login& login) {
    if (r.at_end()) return;
    login.auth_plugin_name = std::string(r.nul_or_rest_string(login.auth_plugin_name_terminated));
}

void write_plugin_name(WireWriter& w, const Login& login) {
    if (!login.auth_plugin_name) return;
    if (login.auth_plugin_name_terminated) {
        w.nul_string(*login.auth_plugin_name);
    } else {
        w.text(*login.auth_plugin_name);
    }
}

void keep_tail(WireReader& r, Login& login) {
    auto tail = r.rest();
    login.unparsed_tail.assign(tail.begin(), tail.end());
}

}  // namespace

bool is_ssl_request(Bytes payload) {
    return payload.size() == ssl_request_size && (little_endian_u32(payload) & cap::ssl) != 0;
}

DecodeResult<SslRequest> decode_ssl_request(Bytes payload) {
    using Result = DecodeResult<SslRequest>;
    if (payload.size() < ssl_request_size) return Result::bad("SSLRequest truncated");
    if (payload.size() != ssl_request_size) return Result::bad("not an SSLRequest: longer than 32 bytes");
    if (!speaks_protocol_41(payload)) return Result::bad("client does not speak protocol 4.1");
    WireReader r(payload);
    SslRequest request;
    request.capabilities = *r.u32();
    request.max_packet_size = *r.u32();
    request.character_set = *r.u8();
    request.capabilities = with_mariadb_caps(request.capabilities, *r.bytes(login_filler_size));
    if ((request.capabilities & cap::ssl) == 0) return Result::bad("not an SSLRequest: CLIENT_SSL not set");
    return Result::success(request, payload.size());
}

std::vector<std::byte> encode_ssl_request(const SslRequest& request) {
    std::vector<std::byte> out;
    out.reserve(ssl_request_size);
    WireWriter w(out);
    const Capabilities caps = request.capabilities | cap::ssl;
    w.u32(static_cast<std::uint32_t>(caps));
    w.u32(request.max_packet_size);
    w.u8(request.character_set);
    w.zeros(mariadb_caps_offset);
    w.u32((caps & cap::client_mysql) ? 0 : static_cast<std::uint32_t>(caps >> 32));
    return out;
}

DecodeResult<Login> decode_login(Bytes payload) {
    using Result = DecodeResult<Login>;
    if (payload.size() < 2) return Result::bad("login truncated");
    if (!speaks_protocol_41(payload)) return Result::bad("client does not speak protocol 4.1");

    WireReader r(payload);
    Login login;
    auto caps = r.u32();
    auto max_packet = r.u32();
    auto charset = r.u8();
    auto filler = r.bytes(login_filler_size);
    if (!r.ok()) return Result::bad("login truncated");
    if (r.at_end()) {
        return Result::bad((*caps & cap::ssl) ? "SSLRequest where a login was expected" : "login truncated");
    }
    login.capabilities = with_mariadb_caps(*caps, *filler);
    login.max_packet_size = *max_packet;
    login.character_set = *charset;

    auto user = r.nul_string();
    if (!user) return Result::bad("login user name not terminated");
    login.user = std::string(*user);

    login.auth_response_encoding = login_auth_encoding(login.capabilities);
    auto auth = read_auth_response(r, login.auth_response_encoding);
    if (!auth) return Result::bad("login auth response runs past the payload");
    login.auth_response.assign(auth->begin(), auth->end());

    if (login.capabilities & cap::connect_with_db) {
        auto db = r.nul_string();
        if (!db) return Result::bad("login database not terminated");
        login.database = std::string(*db);
    }
    if (login.capabilities & cap::plugin_auth) read_plugin_name(r, login);
    if (login.capabilities & cap::connect_attrs) {
        // The mysql 8.0 CLI sets the flag and sends no block at all; the server
        // reads that as no attributes, and so do we.
        if (r.at_end()) {
            login.attributes_omitted = true;
        } else if (auto why = read_attributes(r, login.attributes); !why.empty()) {
            return Result::bad(why);
        }
    }
    if ((login.capabilities & cap::zstd_compression) && !r.at_end()) login.zstd_compression_level = *r.u8();
    keep_tail(r, login);
    return Result::success(std::move(login), payload.size());
}

std::vector<std::byte> encode_login(const Login& login) {
    std::vector<std::byte> out;
    WireWriter w(out);
    const Capabilities caps = login.capabilities;
    w.u32(static_cast<std::uint32_t>(caps));
    w.u32(login.max_packet_size);
    w.u8(login.character_set);
    w.zeros(mariadb_caps_offset);
    w.u32((caps & cap::client_mysql) ? 0 : static_cast<std::uint32_t>(caps >> 32));
    w.nul_string(login.user);
    write_auth_response(w, login_auth_encoding(caps), login.auth_response);
    if (caps & cap::connect_with_db) w.nul_string(login.database.value_or(std::string{}));
    if (caps & cap::plugin_auth) write_plugin_name(w, login);
    if ((caps & cap::connect_attrs) && !(login.attributes_omitted && login.attributes.empty())) {
        write_attributes(w, login.attributes);
    }
    if ((caps & cap::zstd_compression) && login.zstd_compression_level) w.u8(*login.zstd_compression_level);
    w.bytes(login.unparsed_tail);
    return out;
}

DecodeResult<Login> decode_change_user(Bytes payload, Capabilities session_capabilities) {
    using Result = DecodeResult<Login>;
    WireReader r(payload);
    auto command = r.u8();
    if (!command || *command != static_cast<std::uint8_t>(Command::change_user)) {
        return Result::bad("not a COM_CHANGE_USER packet");
    }
    Login login;
    login.capabilities = session_capabilities;

    auto user = r.nul_string();
    if (!user) return Result::bad("COM_CHANGE_USER user name not terminated");
    login.user = std::string(*user);

    login.auth_response_encoding = (session_capabilities & cap::secure_connection)
                                       ? AuthResponseEncoding::length_prefixed
                                       : AuthResponseEncoding::nul_terminated;
    auto auth = read_auth_response(r, login.auth_response_encoding);
    if (!auth) return Result::bad("COM_CHANGE_USER auth response runs past the payload");
    login.auth_response.assign(auth->begin(), auth->end());

    auto db = r.nul_string();
    if (!db) return Result::bad("COM_CHANGE_USER database not terminated");
    login.database = std::string(*db);

    // Clients before 5.1.23 stop after the database.
    if (r.at_end()) return Result::success(std::move(login), payload.size());
    auto charset = r.u16();
    if (!charset) return Result::bad("COM_CHANGE_USER character set truncated");
    // The packet carries a 2-byte collation id; Login keeps the low byte like the
    // login's 1-byte field.
    login.character_set = static_cast<std::uint8_t>(*charset & 0xFF);
    if (session_capabilities & cap::plugin_auth) read_plugin_name(r, login);
    if (session_capabilities & cap::connect_attrs) {
        if (r.at_end()) {
            login.attributes_omitted = true;
        } else if (auto why = read_attributes(r, login.attributes); !why.empty()) {
            return Result::bad(why);
        }
    }
    keep_tail(r, login);
    return Result::success(std::move(login), payload.size());
}

}  // namespace tether::codec
