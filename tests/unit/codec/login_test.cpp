// Logins: HandshakeResponse41 in its three auth encodings, SSLRequest, COM_CHANGE_USER, and every truncation.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/wire.hpp"

using namespace tether::codec;
using tether::codec::test::copy_prefix;
using tether::codec::test::from_hex;
using tether::codec::test::to_hex;

namespace {

// libmariadb 3.0.8: CLIENT_MYSQL clear, MariaDB caps 0x7 at the end of the filler, attributes.
const auto libmariadb_login = from_hex(
    "84 a6 9f 20 00 00 00 01 1c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 07 00 00 00 72 6f 6f"
    "74 00 14 97 3b 9a c9 0c 1e 33 e2 a7 5f 82 10 bf 56 10 cd 5c ce db ba 6d 79 73 71 6c 5f 6e 61 74 69 76 65"
    "5f 70 61 73 73 77 6f 72 64 00 8b 03 5f 6f 73 07 57 69 6e 64 6f 77 73 0c 5f 63 6c 69 65 6e 74 5f 6e 61 6d"
    "65 0a 6c 69 62 6d 61 72 69 61 64 62 04 5f 70 69 64 04 32 38 35 36 0c 5f 73 65 72 76 65 72 5f 68 6f 73 74"
    "09 31 32 37 2e 30 2e 30 2e 31 09 5f 70 6c 61 74 66 6f 72 6d 05 41 4d 44 36 34 0f 5f 63 6c 69 65 6e 74 5f"
    "76 65 72 73 69 6f 6e 05 33 2e 30 2e 38 0c 70 72 6f 67 72 61 6d 5f 6e 61 6d 65 05 6d 79 73 71 6c 07 5f 74"
    "68 72 65 61 64 04 32 38 34 38");

// libmysql 8.0.20 after TLS: PLUGIN_AUTH_LENENC_CLIENT_DATA with an empty auth response, db, attributes.
const auto libmysql_lenenc_login = from_hex(
    "0d aa be 01 00 00 00 40 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 6d 69 6e"
    "64 73 64 62 00 00 6d 69 6e 64 73 64 62 00 63 61 63 68 69 6e 67 5f 73 68 61 32 5f 70 61 73 73 77 6f 72 64"
    "00 52 04 5f 70 69 64 04 31 32 38 33 09 5f 70 6c 61 74 66 6f 72 6d 06 78 38 36 5f 36 34 0f 5f 63 6c 69 65"
    "6e 74 5f 76 65 72 73 69 6f 6e 06 38 2e 30 2e 32 30 03 5f 6f 73 05 4c 69 6e 75 78 0c 5f 63 6c 69 65 6e 74"
    "5f 6e 61 6d 65 08 6c 69 62 6d 79 73 71 6c");

// The SSLRequest that preceded it.
const auto libmysql_ssl_request =
    from_hex("0d aa be 01 00 00 00 40 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");

// CLIENT_PROTOCOL_41 only: the auth response is NUL-terminated, nothing optional follows.
const auto old_style_auth_login = from_hex(
    "00 02 00 00 00 00 00 01 21 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "61 70 70 00 73 33 63 72 33 74 00");

// COM_CHANGE_USER for a session with SECURE_CONNECTION|PLUGIN_AUTH|CONNECT_ATTRS.
const auto change_user = from_hex(
    "11 62 6f 62 00 14 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 64 62 31 00 21 00"
    "6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f 72 64 00 0a 03 5f 6f 73 05 4c 69 6e 75 78");
constexpr Capabilities change_user_session_caps =
    cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::connect_attrs;

}  // namespace

TEST_CASE("libmariadb login: MariaDB capabilities from the filler and attributes in order") {
    auto login = decode_login(libmariadb_login);
    REQUIRE(login.ok());
    const Login& l = login.value;
    CHECK(login.consumed == libmariadb_login.size());
    CHECK((l.capabilities & 0xFFFFFFFFu) == 0x209fa684u);
    CHECK((l.capabilities >> 32) == 0x7u);
    CHECK(l.max_packet_size == 16777216u);
    CHECK(l.character_set == 28);
    CHECK(l.user == "root");
    CHECK(l.auth_response_encoding == AuthResponseEncoding::length_prefixed);
    CHECK(to_hex(l.auth_response) == "973b9ac90c1e33e2a75f8210bf5610cd5ccedbba");
    CHECK_FALSE(l.database.has_value());
    CHECK(l.auth_plugin_name == "mysql_native_password");
    REQUIRE(l.attributes.size() == 8);
    CHECK(l.attributes.front().first == "_os");
    CHECK(l.attributes.front().second == "Windows");
    CHECK(l.attributes.back().first == "_thread");
    REQUIRE(l.attribute("program_name").has_value());
    CHECK(*l.attribute("program_name") == "mysql");
    CHECK(l.attribute("_client_name").has_value());
    CHECK(l.attribute("no_such_attribute").has_value() == false);
    CHECK(l.unparsed_tail.empty());
    CHECK(encode_login(l) == libmariadb_login);
}

TEST_CASE("libmysql login with a length-encoded auth response") {
    auto login = decode_login(libmysql_lenenc_login);
    REQUIRE(login.ok());
    const Login& l = login.value;
    CHECK(l.capabilities == 0x01beaa0du);
    CHECK(l.auth_response_encoding == AuthResponseEncoding::lenenc);
    CHECK(l.auth_response.empty());
    CHECK(l.user == "mindsdb");
    CHECK(l.database == "mindsdb");
    CHECK(l.auth_plugin_name == "caching_sha2_password");
    REQUIRE(l.attribute("_client_version").has_value());
    CHECK(*l.attribute("_client_version") == "8.0.20");
    CHECK(encode_login(l) == libmysql_lenenc_login);
}

TEST_CASE("a login without SECURE_CONNECTION has a NUL-terminated auth response") {
    auto login = decode_login(old_style_auth_login);
    REQUIRE(login.ok());
    CHECK(login.value.user == "app");
    CHECK(login.value.auth_response_encoding == AuthResponseEncoding::nul_terminated);
    CHECK(as_text(login.value.auth_response) == "s3cr3t");
    CHECK_FALSE(login.value.auth_plugin_name.has_value());
    CHECK(encode_login(login.value) == old_style_auth_login);
}

TEST_CASE("encode_login builds a login from values") {
    Login l;
    l.capabilities = cap::protocol_41 | cap::secure_connection | cap::connect_with_db | cap::plugin_auth |
                     cap::connect_attrs;
    l.max_packet_size = 0x01000000;
    l.character_set = 45;
    l.user = "u";
    l.auth_response = from_hex("aa bb");
    l.database = "d";
    l.auth_plugin_name = "p";
    l.attributes = {{"k", "v"}};
    CHECK(to_hex(encode_login(l)) ==
          "08821800"                                          // capabilities
          "00000001"                                          // max packet size
          "2d"                                                // character set
          "0000000000000000000000000000000000000000000000"    // filler
          "7500"                                              // user
          "02aabb"                                            // auth response
          "6400"                                              // database
          "7000"                                              // plugin
          "04016b0176");                                      // attributes
    auto back = decode_login(encode_login(l));
    REQUIRE(back.ok());
    CHECK(back.value.user == "u");
    CHECK(back.value.attributes == l.attributes);
}

TEST_CASE("a login with more attributes than the decoder views at once keeps them all, in order") {
    Login l;
    l.capabilities = cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::connect_attrs;
    l.user = "u";
    l.auth_plugin_name = "p";
    for (int i = 0; i < 40; ++i) l.attributes.emplace_back("key" + std::to_string(i), std::string(20, 'a' + i % 26));
    auto back = decode_login(encode_login(l));
    REQUIRE(back.ok());
    CHECK(back.value.attributes == l.attributes);
    SUBCASE("one past the first 32 that runs past the block is malformed") {
        auto bytes = encode_login(l);
        // The last value's length byte (20) made longer than what is left of the block.
        const std::size_t last_value_length = bytes.size() - 21;
        REQUIRE(std::to_integer<int>(bytes[last_value_length]) == 20);
        bytes[last_value_length] = std::byte{21};
        CHECK(decode_login(bytes).malformed());
    }
}

TEST_CASE("CONNECT_ATTRS without an attribute block is a login with no attributes") {
    auto payload = copy_prefix(libmariadb_login, libmariadb_login.size() - 140);  // drop 0x8b + 139 bytes
    REQUIRE(std::to_integer<int>(payload.back()) == 0);                         // the plugin name's NUL
    auto login = decode_login(payload);
    REQUIRE(login.ok());
    CHECK(login.value.attributes.empty());
    CHECK(login.value.attributes_omitted);
    CHECK(encode_login(login.value) == payload);
}

TEST_CASE("inconsistent attribute lengths are malformed") {
    SUBCASE("total longer than the payload") {
        auto payload = libmariadb_login;
        payload[payload.size() - 140] = std::byte{0x8c};
        CHECK(decode_login(payload).malformed());
    }
    SUBCASE("a value running past the total") {
        auto payload = libmariadb_login;
        payload[payload.size() - 140] = std::byte{0x8a};
        CHECK(decode_login(payload).malformed());
    }
    SUBCASE("a key length that is not a length-encoded integer") {
        auto payload = libmariadb_login;
        payload[payload.size() - 139] = std::byte{0xff};
        CHECK(decode_login(payload).malformed());
    }
}

TEST_CASE("a pre-4.1 login and an SSLRequest are not logins") {
    // HAProxy's mysql-check "pre-41": 2-byte capabilities 0x8000, 3-byte max packet, user, empty auth.
    const auto response320 = from_hex("00 80 00 00 01 68 61 70 72 6f 78 79 00 00");
    auto pre41 = decode_login(response320);
    CHECK(pre41.malformed());
    CHECK(pre41.error == "client does not speak protocol 4.1");

    auto ssl = decode_login(libmysql_ssl_request);
    CHECK(ssl.malformed());
    CHECK(ssl.error == "SSLRequest where a login was expected");
}

TEST_CASE("SSLRequest recognition and decoding") {
    CHECK(is_ssl_request(libmysql_ssl_request));
    CHECK_FALSE(is_ssl_request(libmysql_lenenc_login));
    auto request = decode_ssl_request(libmysql_ssl_request);
    REQUIRE(request.ok());
    CHECK(request.value.capabilities == 0x01beaa0du);
    CHECK(request.value.max_packet_size == 0x40000000u);
    CHECK(request.value.character_set == 255);

    auto without_ssl = libmysql_ssl_request;
    without_ssl[1] = std::byte{0xa2};  // clear CLIENT_SSL (0x0800)
    CHECK_FALSE(is_ssl_request(without_ssl));
    CHECK(decode_ssl_request(without_ssl).malformed());
    CHECK(decode_ssl_request(libmysql_lenenc_login).malformed());
    for (std::size_t n = 0; n < libmysql_ssl_request.size(); ++n) {
        const auto prefix = copy_prefix(libmysql_ssl_request, n);
        CHECK_FALSE(is_ssl_request(prefix));
        CHECK(decode_ssl_request(prefix).malformed());
    }
}

TEST_CASE("COM_CHANGE_USER with charset, plugin and attributes") {
    auto login = decode_change_user(change_user, change_user_session_caps);
    REQUIRE(login.ok());
    const Login& l = login.value;
    CHECK(l.capabilities == change_user_session_caps);
    CHECK(l.user == "bob");
    CHECK(l.auth_response.size() == 20);
    CHECK(l.auth_response_encoding == AuthResponseEncoding::length_prefixed);
    CHECK(l.database == "db1");
    CHECK(l.character_set == 0x21);
    CHECK(l.auth_plugin_name == "mysql_native_password");
    REQUIRE(l.attributes.size() == 1);
    CHECK(*l.attribute("_os") == "Linux");
    CHECK(l.unparsed_tail.empty());
}

TEST_CASE("COM_CHANGE_USER from an old client stops after the database") {
    const auto old = from_hex("11 62 6f 62 00 70 77 00 64 62 00");
    auto login = decode_change_user(old, cap::protocol_41);
    REQUIRE(login.ok());
    CHECK(login.value.user == "bob");
    CHECK(login.value.auth_response_encoding == AuthResponseEncoding::nul_terminated);
    CHECK(login.value.auth_response.size() == 2);
    CHECK(login.value.database == "db");
    CHECK_FALSE(login.value.auth_plugin_name.has_value());
    CHECK(decode_change_user(from_hex("03 62 00"), cap::protocol_41).malformed());
}

TEST_CASE("every truncation of COM_CHANGE_USER is malformed or a shorter valid packet") {
    // Valid cut points: right after the database (old clients), inside or right
    // after the plugin name (unterminated names are accepted).
    const std::size_t after_database = 1 + 4 + 21 + 4;
    const std::size_t plugin_start = after_database + 2;
    const std::size_t attributes_start = plugin_start + 22;
    for (std::size_t n = 0; n < change_user.size(); ++n) {
        CAPTURE(n);
        const auto prefix = copy_prefix(change_user, n);
        auto login = decode_change_user(prefix, change_user_session_caps);
        CHECK_FALSE(login.need_more());
        const bool valid = n == after_database || (n >= plugin_start && n <= attributes_start);
        CHECK(login.ok() == valid);
        if (!login.ok()) CHECK_FALSE(login.error.empty());
    }
}

TEST_CASE("every truncation of a login is malformed or a shorter login that re-encodes to itself") {
    for (const auto* golden : {&libmariadb_login, &libmysql_lenenc_login, &old_style_auth_login}) {
        auto full = decode_login(*golden);
        REQUIRE(full.ok());
        std::size_t accepted = 0;
        for (std::size_t n = 0; n < golden->size(); ++n) {
            CAPTURE(n);
            const auto prefix = copy_prefix(*golden, n);
            auto login = decode_login(prefix);
            CHECK_FALSE(login.need_more());
            if (login.malformed()) {
                CHECK_FALSE(login.error.empty());
                continue;
            }
            // Only cuts inside the optional tail (an unterminated plugin name,
            // or right before the attribute block) may still be logins.
            ++accepted;
            CHECK(login.value.user == full.value.user);
            CHECK(login.value.auth_response == full.value.auth_response);
            CHECK(login.value.attributes.empty());
            CHECK(encode_login(login.value) == prefix);
        }
        const std::size_t plugin_length = full.value.auth_plugin_name.value_or("").size();
        // Cut before the plugin name, inside it (unterminated), or after its NUL.
        CHECK(accepted == (full.value.auth_plugin_name ? plugin_length + 2 : 0));
    }
}
