// The finish of a server handshake whose client left at each step of the auth exchange:
// the exact bytes tether sends the server, and that it closes only after the server's last word.
#include <doctest/doctest.h>

#include <string_view>

#include "capture.hpp"
#include "session_test_support.hpp"
#include "tether/codec/command.hpp"

namespace tether::session::test {

namespace {

ByteVec payload_of(const ByteVec& framed) { return single_packet(framed).payload; }

// The fixture's packets, one framed packet each.
std::vector<ByteVec> fixture_packets(const std::string& name) {
    const ByteVec bytes = load_fixture_bytes(name);
    std::vector<ByteVec> packets;
    codec::Bytes rest(bytes);
    while (!rest.empty()) {
        auto p = codec::decode_packet(rest);
        REQUIRE(p.ok());
        packets.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(p.consumed));
        rest = rest.subspan(p.consumed);
    }
    return packets;
}

ByteVec quit_packet() {
    ByteVec quit;
    codec::append_com_quit(quit);
    return quit;
}

ByteVec err_1045(std::uint8_t seq) { return Stream(seq).err(1045, "28000", "Access denied for user 'app'@'10.0.0.7'").bytes(); }

// The server's RSA public key as caching_sha2_password sends it: AuthMoreData + PEM.
ByteVec public_key_packet(std::uint8_t seq) {
    ByteVec payload{std::byte{0x01}};
    const ByteVec pem = bytes_of(
        "-----BEGIN PUBLIC KEY-----\n"
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwVnI0QhP2n0r7fXh3bqY\n"
        "-----END PUBLIC KEY-----\n");
    payload.insert(payload.end(), pem.begin(), pem.end());
    return frame(seq, payload);
}

// MySQL 8.0.33 greets (caching_sha2_password); the client logs in with that plugin.
void mysql8_login_forwarded(Driver& d) {
    d.connect();
    d.upstream(load_fixture_bytes("greeting_mysql-8.0.33.hex"));
    REQUIRE(d.session().phase() == Phase::awaiting_login);
    auto login = test_login(modern_caps, "app", "tether_test", {});
    login.auth_plugin_name = "caching_sha2_password";
    login.auth_response.assign(32, std::byte{0x5A});
    d.client(frame(1, codec::encode_login(login)));
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.clear_output();
}

// MariaDB-style: greeting (mysql_native_password), the client's login forwarded.
void mariadb_login_forwarded(Driver& d) {
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.clear_output();
}

// The client leaves; tether must send exactly `expected` and keep the server side open.
void client_leaves_expecting(Driver& d, const ByteVec& expected) {
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    CHECK(d.to_upstream == expected);
    CHECK_FALSE(d.upstream_close_requested);
    d.clear_output();
}

void server_refuses_and_tether_closes(Driver& d, std::uint8_t seq) {
    CHECK_FALSE(d.upstream_close_requested);
    d.upstream(err_1045(seq));
    CHECK(d.to_upstream.empty());
    CHECK(d.to_client.empty());
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
}

}  // namespace

TEST_CASE("finish: the client leaves after the server's AuthSwitchRequest was relayed") {
    // The incident: a caching_sha2 login to a mysql_native_password account; the
    // server switches plugins and the client dies before answering.
    const ByteVec sw = load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex");
    Driver d;
    mariadb_login_forwarded(d);
    d.upstream(sw);
    CHECK(d.to_client == sw);
    CHECK(d.session().handshake_turn().waiting() == HandshakeTurn::Waiting::client_answer);
    CHECK(d.session().handshake_turn().next_sequence_id() == 3);
    d.clear_output();
    client_leaves_expecting(d, frame(3, {}));  // an empty answer: "no password"
    server_refuses_and_tether_closes(d, 4);
}

TEST_CASE("finish: the client leaves after its login went up, before the server answered") {
    SUBCASE("the server then switches plugins") {
        Driver d;
        mariadb_login_forwarded(d);
        client_leaves_expecting(d, {});  // the server owes the next packet: nothing to send yet
        d.upstream(load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex"));
        CHECK(d.to_upstream == frame(3, {}));
        CHECK_FALSE(d.upstream_close_requested);
        d.clear_output();
        server_refuses_and_tether_closes(d, 4);
    }
    SUBCASE("the server's answer was half read when the client left") {
        const ByteVec sw = load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex");
        Driver d;
        mariadb_login_forwarded(d);
        d.upstream(codec::Bytes(sw).first(9));
        client_leaves_expecting(d, {});
        d.upstream(codec::Bytes(sw).subspan(9));
        CHECK(d.to_upstream == frame(3, {}));
        d.clear_output();
        server_refuses_and_tether_closes(d, 4);
    }
    SUBCASE("the server accepts (an account without a password): COM_QUIT, then close") {
        Driver d;
        mariadb_login_forwarded(d);
        client_leaves_expecting(d, {});
        d.upstream(Stream(2).ok(codec::status::autocommit).bytes());
        CHECK(d.to_upstream == quit_packet());
        CHECK(d.upstream_close_requested);
        CHECK(d.session().phase() == Phase::closed);
    }
}

TEST_CASE("finish: the client leaves in the middle of its auth-switch answer") {
    const ByteVec sw = load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex");
    SUBCASE("inside the payload: the rest is sent as zeros, up to the announced length") {
        Driver d;
        mariadb_login_forwarded(d);
        d.upstream(sw);
        const ByteVec answer = frame(3, ByteVec(20, std::byte{0x77}));
        d.client(codec::Bytes(answer).first(4 + 5));
        CHECK(d.to_upstream == ByteVec(answer.begin(), answer.begin() + 9));  // forwarded as it came
        d.clear_output();
        client_leaves_expecting(d, ByteVec(15, std::byte{0}));
        server_refuses_and_tether_closes(d, 4);
    }
    SUBCASE("inside the header: the header is completed (length bytes 0, the expected sequence id)") {
        Driver d;
        mariadb_login_forwarded(d);
        d.upstream(sw);
        d.client(ByteVec{std::byte{0x14}, std::byte{0x00}});  // 2 of 4 header bytes of a 20-byte answer
        d.clear_output();
        ByteVec rest(2 + 20, std::byte{0});
        rest[1] = std::byte{0x03};
        client_leaves_expecting(d, rest);
        server_refuses_and_tether_closes(d, 4);
    }
    SUBCASE("after a whole answer: the server owes its reply, nothing is added") {
        Driver d;
        mariadb_login_forwarded(d);
        d.upstream(sw);
        d.client(frame(3, ByteVec(20, std::byte{0x77})));
        CHECK(d.session().handshake_turn().waiting() == HandshakeTurn::Waiting::server);
        d.clear_output();
        client_leaves_expecting(d, {});
        server_refuses_and_tether_closes(d, 4);
    }
}

TEST_CASE("finish: caching_sha2_password steps (MySQL 8 bytes)") {
    const auto fast = fixture_packets("authmoredata_fast-auth-success_then_ok.hex");  // 01 03 (seq 2), OK (seq 3)
    REQUIRE(fast.size() == 2);
    const ByteVec full = load_fixture_bytes("authmoredata_perform-full-auth.hex");  // 01 04 (seq 2)

    SUBCASE("after fast-auth success: no answer is owed; the OK comes, COM_QUIT, close") {
        Driver d;
        mysql8_login_forwarded(d);
        d.upstream(fast[0]);
        CHECK(d.to_client == fast[0]);
        d.clear_output();
        client_leaves_expecting(d, {});
        d.upstream(fast[1]);
        CHECK(d.to_upstream == quit_packet());
        CHECK(d.upstream_close_requested);
        CHECK(d.session().phase() == Phase::closed);
    }
    SUBCASE("after perform-full-auth: one wrong byte at seq 3") {
        Driver d;
        mysql8_login_forwarded(d);
        d.upstream(full);
        d.clear_output();
        client_leaves_expecting(d, frame(3, ByteVec{std::byte{0}}));
        server_refuses_and_tether_closes(d, 4);
    }
    SUBCASE("after perform-full-auth and the client's public-key request: the key is answered wrongly") {
        Driver d;
        mysql8_login_forwarded(d);
        d.upstream(full);
        d.client(frame(3, ByteVec{std::byte{0x02}}));  // request_public_key
        d.clear_output();
        client_leaves_expecting(d, {});  // the server owes the key
        d.upstream(public_key_packet(4));
        CHECK(d.to_upstream == frame(5, ByteVec{std::byte{0}}));
        d.clear_output();
        server_refuses_and_tether_closes(d, 6);
    }
    SUBCASE("after the server's public key, before the encrypted password") {
        Driver d;
        mysql8_login_forwarded(d);
        d.upstream(full);
        d.client(frame(3, ByteVec{std::byte{0x02}}));
        d.upstream(public_key_packet(4));
        d.clear_output();
        client_leaves_expecting(d, frame(5, ByteVec{std::byte{0}}));
        server_refuses_and_tether_closes(d, 6);
    }
    SUBCASE("mid RSA exchange: half the encrypted password sent") {
        Driver d;
        mysql8_login_forwarded(d);
        d.upstream(full);
        d.client(frame(3, ByteVec{std::byte{0x02}}));
        d.upstream(public_key_packet(4));
        const ByteVec encrypted = frame(5, ByteVec(256, std::byte{0xC3}));
        d.client(codec::Bytes(encrypted).first(4 + 100));
        d.clear_output();
        client_leaves_expecting(d, ByteVec(156, std::byte{0}));
        server_refuses_and_tether_closes(d, 6);
    }
    SUBCASE("the server asks again after tether's wrong answer: answered again") {
        Driver d;
        mysql8_login_forwarded(d);
        client_leaves_expecting(d, {});
        d.upstream(full);
        CHECK(d.to_upstream == frame(3, ByteVec{std::byte{0}}));
        d.clear_output();
        d.upstream(public_key_packet(4));  // a server that sends its key unasked
        CHECK(d.to_upstream == frame(5, ByteVec{std::byte{0}}));
        d.clear_output();
        server_refuses_and_tether_closes(d, 6);
    }
}

TEST_CASE("finish: the MySQL 8.0.42 auth-switch exchange, the client leaving at each step") {
    const auto p = fixture_packets("seq_mysql-8.0.42_authswitch-caching-sha2.hex");
    REQUIRE(p.size() == 4);  // greeting, login, AuthSwitchRequest, the client's answer
    for (int step = 0; step <= 4; ++step) {
        CAPTURE(step);
        Driver d;
        d.connect();
        ByteVec expected;
        for (int i = 0; i < step; ++i) {
            if (i % 2 == 0) {
                d.upstream(p[static_cast<std::size_t>(i)]);
            } else {
                d.client(p[static_cast<std::size_t>(i)]);
            }
        }
        d.clear_output();
        d.client_closed();
        CHECK(d.session().phase() == Phase::finishing_upstream);
        const std::uint8_t refusal_seq = step >= 3 ? 4 : 2;
        if (step == 0) {  // before the greeting: the reserved login once it arrives
            CHECK(d.to_upstream.empty());
            d.upstream(p[0]);
            CHECK(codec::decode_login(payload_of(d.to_upstream)).value.user == "tether_abort_login");
        } else if (step == 1) {  // greeted, no login: the reserved login at seq 1
            CHECK(codec::decode_login(payload_of(d.to_upstream)).value.user == "tether_abort_login");
        } else if (step == 2) {  // the client's login is up: the server owes
            CHECK(d.to_upstream.empty());
        } else if (step == 3) {  // the switch is unanswered: an empty answer at seq 3
            CHECK(d.to_upstream == frame(3, {}));
        } else {  // the answer is up: the server owes
            CHECK(d.to_upstream.empty());
        }
        d.clear_output();
        server_refuses_and_tether_closes(d, refusal_seq);
    }
}

TEST_CASE("finish: an ed25519 switch (MariaDB) left unanswered gets a signature-sized wrong answer") {
    // MariaDB's ed25519 plugin counts a reply of the wrong length as a handshake
    // error (CR_AUTH_HANDSHAKE), which max_connect_errors counts: 64 zero bytes.
    ByteVec sw{std::byte{0xFE}};
    const ByteVec plugin = bytes_of(std::string("client_ed25519\0", 15));
    sw.insert(sw.end(), plugin.begin(), plugin.end());
    sw.resize(sw.size() + 32, std::byte{0x4E});  // the 32-byte nonce
    Driver d;
    mariadb_login_forwarded(d);
    SUBCASE("the switch was relayed, then the client left") {
        d.upstream(frame(2, sw));
        d.clear_output();
        client_leaves_expecting(d, frame(3, ByteVec(64, std::byte{0})));
    }
    SUBCASE("the client left first; the switch comes to the finisher") {
        client_leaves_expecting(d, {});
        d.upstream(frame(2, sw));
        CHECK(d.to_upstream == frame(3, ByteVec(64, std::byte{0})));
        d.clear_output();
    }
    server_refuses_and_tether_closes(d, 4);
}

TEST_CASE("finish: a client packet that ends a full 16 MiB physical packet is ended with an empty one") {
    Driver d;
    mariadb_login_forwarded(d);
    d.upstream(load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex"));
    ByteVec big(codec::header_size + codec::max_physical_payload, std::byte{0x41});
    big[0] = big[1] = big[2] = std::byte{0xFF};
    big[3] = std::byte{3};
    d.client(big);  // 0xFFFFFF bytes at seq 3: the logical packet goes on
    d.clear_output();
    client_leaves_expecting(d, frame(4, {}));
    server_refuses_and_tether_closes(d, 5);
}

TEST_CASE("finish: a half-sent packet announced larger than tether will complete: close at once, noted") {
    Driver d;
    mariadb_login_forwarded(d);
    d.upstream(load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex"));
    ByteVec head(4 + 10, std::byte{0x41});  // 2 MiB announced at seq 3, 10 bytes sent
    head[0] = head[1] = std::byte{0x00};
    head[2] = std::byte{0x20};
    head[3] = std::byte{0x03};
    d.client(head);
    d.clear_output();
    d.client_closed();
    CHECK(d.to_upstream.empty());
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
    REQUIRE_FALSE(d.notes.empty());
    CHECK(d.notes.back().find("could not finish") != std::string::npos);
}

TEST_CASE("finish: an answer sent ahead of the server's request is not answered twice") {
    Driver d;
    mariadb_login_forwarded(d);
    d.client(frame(3, ByteVec(20, std::byte{0x77})));  // pipelined before the switch arrived
    d.upstream(load_fixture_bytes("authswitch_mysql-native-password_5.6-docs.hex"));
    CHECK(d.session().handshake_turn().waiting() == HandshakeTurn::Waiting::server);
    d.clear_output();
    client_leaves_expecting(d, {});
    server_refuses_and_tether_closes(d, 4);
}

}  // namespace tether::session::test
