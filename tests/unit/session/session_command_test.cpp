// Session in the command phase: forwarding, idle/transaction state, desync, COM_CHANGE_USER,
// COM_RESET_CONNECTION, and how each kind of close ends the session.
#include <doctest/doctest.h>

#include "session_test_support.hpp"
#include "tether/codec/command.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;
namespace status = codec::status;

ByteVec com_quit() {
    ByteVec q;
    codec::append_com_quit(q);
    return q;
}

}  // namespace

TEST_CASE("session: the command phase forwards chunks in place and writes nothing itself") {
    Driver d;
    log_in(d);
    const ByteVec query = com_query("SELECT 1");
    d.client(query);
    CHECK(d.last.forward);
    CHECK(d.last.to_client.empty());
    CHECK(d.last.to_upstream.empty());
    CHECK(d.last.events.empty());
    CHECK(d.to_upstream == query);
    CHECK(d.session().command_in_flight());
    const ByteVec response = Stream(1).text_result({"1"}, {{"1"}}, false, status::autocommit).bytes();
    d.upstream(response);
    CHECK(d.last.forward);
    CHECK(d.last.to_client.empty());
    CHECK(d.to_client == response);
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().tracking());
}

TEST_CASE("session: idle time starts when the last response ends") {
    Driver d;
    log_in(d);
    d.advance(std::chrono::seconds(30));
    d.client(com_simple(0x0E));
    const auto sent_at = d.now();
    CHECK(d.session().last_activity() == sent_at);
    CHECK(d.session().command_in_flight());
    // A long command: the session is busy, not idle, until its response ends.
    d.advance(std::chrono::seconds(600));
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    const auto answered_at = d.now();
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().last_activity() == answered_at);
    CHECK(answered_at - sent_at >= std::chrono::seconds(600));
    // A command without a response (COM_STMT_CLOSE) is activity too.
    d.advance(std::chrono::seconds(20));
    ByteVec close_stmt = {std::byte{5}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x19},
                          std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}};
    d.client(close_stmt);
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().last_activity() == d.now());
}

TEST_CASE("session: in_transaction inside BEGIN..COMMIT") {
    Driver d;
    log_in(d);
    CHECK_FALSE(d.session().in_transaction());
    d.client(com_query("BEGIN"));
    d.upstream(Stream(1).ok(status::in_trans | status::autocommit).bytes());
    CHECK(d.session().in_transaction());
    d.client(com_query("INSERT INTO items (name) VALUES ('x')"));
    d.upstream(Stream(1).ok(status::in_trans | status::autocommit, 0x00, 1).bytes());
    CHECK(d.session().in_transaction());
    d.client(com_query("COMMIT"));
    CHECK(d.session().in_transaction());
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    CHECK_FALSE(d.session().in_transaction());
    CHECK_FALSE(d.session().command_in_flight());
}

TEST_CASE("session: an unknown command: desynced, plain relay, no idle decisions") {
    Driver d;
    log_in(d);
    const ByteVec unknown = com_simple(0x40);
    d.client(unknown);
    CHECK(d.saw<Desynced>());
    CHECK(d.last.forward);  // the chunk still goes through
    CHECK(d.to_upstream == unknown);
    CHECK(d.session().phase() == Phase::relaying);
    CHECK_FALSE(d.session().tracking());
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().desync_reason() != nullptr);
    REQUIRE_FALSE(d.notes.empty());
    CHECK(d.notes.back().find("lost protocol sync") != std::string::npos);
    d.clear_output();
    // Whatever comes next passes unchanged, with no second event.
    const ByteVec reply = Stream(1).err(1047, "08S01", "Unknown command").bytes();
    d.upstream(reply);
    CHECK(d.to_client == reply);
    d.client(com_query("SELECT 1"));
    CHECK(d.last.forward);
    CHECK_FALSE(d.saw<Desynced>());
    CHECK(d.session().phase() == Phase::relaying);
    SUBCASE("tether's close sends no COM_QUIT: it cannot know the connection is idle") {
        d.clear_output();
        d.close(CloseReason::idle_timeout);
        CHECK(d.to_upstream.empty());
        CHECK(d.client_close_requested);
        CHECK(d.upstream_close_requested);
        CHECK(d.session().close_reason() == CloseReason::idle_timeout);
    }
    SUBCASE("the client's close sends no COM_QUIT either") {
        d.clear_output();
        d.client_closed();
        CHECK(d.to_upstream.empty());
        CHECK(d.session().close_reason() == CloseReason::client_closed);
        CHECK(d.upstream_close_requested);
    }
}

TEST_CASE("session: COM_CHANGE_USER re-attributes the session") {
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        Driver d;
        log_in(d);
        REQUIRE(d.session().login()->user == "app");
        const ByteVec change = com_change_user("other", "reports_db", "mysql_native_password",
                                               {{"_client_name", "libtest"}, {"program_name", "nightly-report"}});
        if (bytewise) {
            for (std::size_t i = 0; i < change.size(); ++i) d.client(codec::Bytes(change).subspan(i, 1));
        } else {
            d.client(change);
        }
        CHECK(d.session().command_in_flight());
        CHECK(d.session().login()->user == "app");  // not before the server accepts it
        // AuthSwitchRequest, the client's scramble, OK.
        ByteVec sw{std::byte{0xFE}};
        for (char ch : std::string_view("mysql_native_password")) sw.push_back(static_cast<std::byte>(ch));
        sw.push_back(std::byte{0});
        sw.resize(sw.size() + 20, std::byte{0x2A});
        sw.push_back(std::byte{0});
        d.upstream(frame(1, sw));
        CHECK_FALSE(d.saw<ChangeUserAccepted>());
        d.client(frame(2, ByteVec(20, std::byte{0x44})));
        d.upstream(Stream(3).ok(status::autocommit).bytes());
        CHECK(d.saw<ChangeUserAccepted>());
        CHECK_FALSE(d.session().command_in_flight());
        CHECK(d.session().phase() == Phase::command);
        REQUIRE(d.session().login() != nullptr);
        CHECK(d.session().login()->user == "other");
        CHECK(d.session().login()->database == std::optional<std::string>("reports_db"));
        REQUIRE(d.session().login()->attribute("program_name").has_value());
        CHECK(*d.session().login()->attribute("program_name") == "nightly-report");
        // The event is raised once.
        d.clear_output();
        d.client(com_simple(0x0E));
        d.upstream(Stream(1).ok(status::autocommit).bytes());
        CHECK_FALSE(d.saw<ChangeUserAccepted>());
    }
}

TEST_CASE("session: COM_CHANGE_USER without attributes keeps the login's (mysql2 sends none)") {
    Driver d;
    log_in(d);  // program_name=billing
    d.client(com_change_user("other", "tether_test", "mysql_native_password", {}));
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    REQUIRE(d.saw<ChangeUserAccepted>());
    CHECK(d.session().login()->user == "other");
    REQUIRE(d.session().login()->attribute("program_name").has_value());
    CHECK(*d.session().login()->attribute("program_name") == "billing");
    REQUIRE(d.session().login()->attribute("_client_name").has_value());
    CHECK(*d.session().login()->attribute("_client_name") == "libtest");
}

// Found by tests/fuzz/fuzz_session: the login's auth response is wiped once the
// server accepts it, and the one a COM_CHANGE_USER carried was kept for the
// session's life.
TEST_CASE("session: an accepted COM_CHANGE_USER keeps no auth response") {
    Driver d;
    log_in(d);
    REQUIRE(d.session().login()->auth_response.empty());
    d.client(com_change_user("other", "tether_test", "mysql_native_password", {}));
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    REQUIRE(d.saw<ChangeUserAccepted>());
    REQUIRE(d.session().login()->user == "other");
    CHECK(d.session().login()->auth_response.empty());
}

TEST_CASE("session: a refused COM_CHANGE_USER keeps the login") {
    Driver d;
    log_in(d);
    d.client(com_change_user("intruder", "", "mysql_native_password", {}));
    d.upstream(Stream(1).err(1045, "28000", "Access denied for user 'intruder'").bytes());
    CHECK_FALSE(d.saw<ChangeUserAccepted>());
    CHECK(d.session().login()->user == "app");
    CHECK(d.session().phase() == Phase::command);
    CHECK_FALSE(d.session().command_in_flight());
}

TEST_CASE("session: COM_RESET_CONNECTION") {
    Driver d;
    log_in(d);
    d.client(com_query("BEGIN"));
    d.upstream(Stream(1).ok(status::in_trans | status::autocommit).bytes());
    REQUIRE(d.session().in_transaction());
    d.client(com_simple(0x1F));
    CHECK(d.session().command_in_flight());
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    CHECK_FALSE(d.session().command_in_flight());
    CHECK_FALSE(d.session().in_transaction());
    CHECK(d.session().phase() == Phase::command);
    CHECK(d.session().login()->user == "app");  // a reset keeps the login (and its attributes)
    CHECK(*d.session().login()->attribute("program_name") == "billing");
}

TEST_CASE("session: a >16 MiB row through the session (synthetic)") {
    Driver d;
    log_in(d, modern_caps | cap::deprecate_eof);
    d.client(com_query("SELECT REPEAT('x', 17*1024*1024)"));
    Stream s(1);
    s.column_count(1).column_definition("big");
    ByteVec row{std::byte{0xFE}};
    const std::size_t n = 17 * 1024 * 1024;
    for (int i = 0; i < 8; ++i) row.push_back(static_cast<std::byte>((n >> (8 * i)) & 0xFF));
    row.resize(row.size() + n, std::byte{'x'});
    s.packet(row).ok(status::autocommit, 0xFE);
    const ByteVec& bytes = s.bytes();
    // Read in socket-sized pieces.
    for (std::size_t pos = 0; pos < bytes.size(); pos += 65536) {
        const auto piece = codec::Bytes(bytes).subspan(pos, std::min<std::size_t>(65536, bytes.size() - pos));
        d.upstream(piece);
        CHECK(d.last.forward);
        if (pos + 65536 < bytes.size()) REQUIRE(d.session().command_in_flight());
    }
    CHECK(d.to_client == bytes);
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().phase() == Phase::command);
}

TEST_CASE("session: closes in the command phase") {
    SUBCASE("client sends COM_QUIT with nothing in flight: relayed, and both sides end at once") {
        Driver d;
        log_in(d);
        d.client(com_quit());
        CHECK(d.last.forward);
        CHECK(d.to_upstream == com_quit());
        // As the client library does after sending it: no waiting for either side's close.
        CHECK(d.session().phase() == Phase::closed);
        CHECK(d.session().close_reason() == CloseReason::client_quit);
        CHECK(d.client_close_requested);
        CHECK(d.upstream_close_requested);
        CHECK_FALSE(d.session().left_command_running());
        // The sockets' ends that follow change nothing and add no second COM_QUIT.
        d.upstream_closed();
        d.client_closed();
        CHECK(d.session().close_reason() == CloseReason::client_quit);
        CHECK(d.to_upstream == com_quit());
    }
    SUBCASE("COM_QUIT pipelined behind an unanswered query: the response is relayed before the session ends") {
        Driver d;
        log_in(d);
        ByteVec batch = com_query("SELECT 1");
        const ByteVec quit = com_quit();
        batch.insert(batch.end(), quit.begin(), quit.end());
        d.client(batch);
        CHECK(d.session().phase() == Phase::command);
        CHECK_FALSE(d.client_close_requested);
        CHECK_FALSE(d.upstream_close_requested);
        const ByteVec response = Stream(1).text_result({"1"}, {{"1"}}, false, status::autocommit).bytes();
        d.upstream(response);
        CHECK(d.to_client == response);
        d.upstream_closed();  // the server closes after the QUIT
        CHECK(d.session().close_reason() == CloseReason::client_quit);
        CHECK(d.client_close_requested);
        CHECK(d.session().phase() == Phase::closed);
    }
    SUBCASE("client vanishes while idle: tether sends COM_QUIT for it") {
        Driver d;
        log_in(d);
        d.client_closed();
        CHECK(d.session().close_reason() == CloseReason::client_closed);
        CHECK(d.to_upstream == com_quit());
        CHECK(d.upstream_close_requested);
    }
    SUBCASE("client vanishes mid-command: no COM_QUIT (it would be read as part of the command)") {
        Driver d;
        log_in(d);
        d.client(com_query("SELECT SLEEP(10)"));
        d.clear_output();
        d.client_closed();
        CHECK(d.session().close_reason() == CloseReason::client_closed);
        CHECK(d.to_upstream.empty());
        CHECK(d.upstream_close_requested);
    }
    SUBCASE("server goes away: upstream_closed") {
        Driver d;
        log_in(d);
        d.upstream_closed();
        CHECK(d.session().close_reason() == CloseReason::upstream_closed);
        CHECK(d.client_close_requested);
        CHECK(d.session().phase() == Phase::closed);
    }
    SUBCASE("tether closes an idle session: COM_QUIT first") {
        Driver d;
        log_in(d);
        d.close(CloseReason::admin);
        CHECK(d.to_upstream == com_quit());
        CHECK(d.client_close_requested);
        CHECK(d.upstream_close_requested);
        CHECK(d.session().close_reason() == CloseReason::admin);
        // One reason, counted once: later events do not change it.
        d.client_closed();
        d.upstream_closed();
        CHECK(d.session().close_reason() == CloseReason::admin);
    }
    SUBCASE("tether closes a busy session: no COM_QUIT") {
        Driver d;
        log_in(d);
        d.client(com_query("SELECT SLEEP(10)"));
        d.clear_output();
        d.close(CloseReason::shutdown);
        CHECK(d.to_upstream.empty());
        CHECK(d.session().close_reason() == CloseReason::shutdown);
    }
}

TEST_CASE("session: a command pipelined behind the login is followed") {
    // A client may send its first command right behind its login, before the
    // server's OK (the server reads it once authentication is done). The
    // tracker must see that command, or the command's response arrives with
    // nothing in flight.
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    ByteVec login_and_ping = login_bytes();
    const ByteVec ping = com_simple(0x0E);
    login_and_ping.insert(login_and_ping.end(), ping.begin(), ping.end());
    d.client(login_and_ping);
    CHECK(d.to_upstream == login_and_ping);
    ByteVec answers = Stream(2).ok(status::autocommit).bytes();
    const ByteVec pong = Stream(1).ok(status::autocommit).bytes();
    answers.insert(answers.end(), pong.begin(), pong.end());
    d.upstream(answers);
    CHECK(d.saw<Authenticated>());
    CHECK(d.to_client.size() >= answers.size());
    CHECK_FALSE(d.saw<Desynced>());
    CHECK(d.session().phase() == Phase::command);
    CHECK_FALSE(d.session().command_in_flight());
}

TEST_CASE("session: a command sent during the auth exchange is followed") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.client(com_query("SELECT 1"));  // pipelined before the server's OK
    d.upstream(Stream(2).ok(status::autocommit).bytes());
    REQUIRE(d.session().phase() == Phase::command);
    CHECK(d.session().command_in_flight());
    d.upstream(Stream(1).text_result({"1"}, {{"1"}}, false, status::autocommit).bytes());  // modern_caps has no DEPRECATE_EOF
    CHECK_FALSE(d.saw<Desynced>());
    CHECK(d.session().phase() == Phase::command);
    CHECK_FALSE(d.session().command_in_flight());
}


namespace {

ByteVec auth_switch_native() {
    ByteVec sw{std::byte{0xFE}};
    for (char ch : std::string_view("mysql_native_password")) sw.push_back(static_cast<std::byte>(ch));
    sw.push_back(std::byte{0});
    sw.resize(sw.size() + 20, std::byte{0x2A});
    sw.push_back(std::byte{0});
    return frame(1, sw);
}

}  // namespace

TEST_CASE("session: an admitted COM_CHANGE_USER relays the server's bytes unchanged, however they are split") {
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        Driver d;
        log_in(d);
        d.client(com_change_user("other", "tether_test", "mysql_native_password", {}));
        ByteVec reply = auth_switch_native();
        const ByteVec ok = Stream(3).ok(status::autocommit).bytes();
        d.clear_output();
        if (bytewise) {
            for (std::size_t i = 0; i < reply.size(); ++i) d.upstream(codec::Bytes(reply).subspan(i, 1));
            d.client(frame(2, ByteVec(20, std::byte{0x44})));
            for (std::size_t i = 0; i < ok.size(); ++i) d.upstream(codec::Bytes(ok).subspan(i, 1));
        } else {
            d.upstream(reply);
            d.client(frame(2, ByteVec(20, std::byte{0x44})));
            d.upstream(ok);
        }
        reply.insert(reply.end(), ok.begin(), ok.end());
        CHECK(d.to_client == reply);
        CHECK(d.saw<ChangeUserAccepted>());
        CHECK(d.session().login()->user == "other");
        CHECK(d.session().phase() == Phase::command);
        // the next command is relayed in place again
        d.clear_output();
        d.client(com_query("SELECT 1"));
        const ByteVec answer = Stream(1).ok(status::autocommit).bytes();
        d.upstream(answer);
        CHECK(d.last.forward);
        CHECK(d.to_client == answer);
    }
}

TEST_CASE("session: a COM_CHANGE_USER over a cap gets the ERR in place of the server's OK, and the session ends") {
    Driver d;
    log_in(d);
    d.change_user_answer = Admission::refuse(1203, "42000", "tether: user 'other' already has 2 connections");
    d.client(com_change_user("other", "tether_test", "mysql_native_password", {}));
    d.clear_output();
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    CHECK(d.saw<ChangeUserAccepted>());
    const ErrSeen err = single_err(d.to_client);
    CHECK(err.sequence_id == 1);  // the OK's
    CHECK(err.code == 1203);
    CHECK(err.sql_state == "42000");
    ByteVec quit;
    codec::append_com_quit(quit);
    CHECK(d.to_upstream == quit);
    CHECK(d.client_close_requested);
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.session().close_reason() == CloseReason::rejected);
}

TEST_CASE("session: a COM_CHANGE_USER pipelined behind another command ends the session") {
    Driver d;
    log_in(d);
    ByteVec both = com_query("SELECT 1");
    const ByteVec change = com_change_user("other", "tether_test", "mysql_native_password", {});
    both.insert(both.end(), change.begin(), change.end());
    d.client(both);
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.session().close_reason() == CloseReason::rejected);
    CHECK(d.upstream_close_requested);
}

TEST_CASE("session: a server that keeps sending while a COM_CHANGE_USER waits for admission ends the session, bounded") {
    // io admits in the same call; an owner that waits (the fuzzer's) must not
    // make the session hold the server's bytes without bound.
    Driver d;
    log_in(d);
    d.auto_admit_change_user = false;
    d.client(com_change_user("other", "tether_test", "mysql_native_password", {}));
    d.upstream(Stream(1).ok(status::autocommit).bytes());
    REQUIRE(d.saw<ChangeUserAccepted>());
    const ByteVec flood(256 * 1024, std::byte{0x41});
    for (int i = 0; i < 16 && d.session().phase() != Phase::closed; ++i) {
        d.upstream(flood);
        CHECK(d.session().buffered_bytes() <= 4u * 1024 * 1024);
    }
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.upstream_close_requested);
    CHECK(d.session().buffered_bytes() == 0);
}

}  // namespace tether::session::test

namespace tether::session::test {

TEST_CASE("session: left_command_running says when tether closed the server side under a running command") {
    SUBCASE("the client vanishes mid-query: yes") {
        Driver d;
        log_in(d);
        d.client(com_query("SELECT SLEEP(60)"));
        d.client_closed();
        CHECK(d.upstream_close_requested);
        CHECK(d.session().left_command_running());
    }
    SUBCASE("an admin close mid-query: yes") {
        Driver d;
        log_in(d);
        d.client(com_query("UPDATE items SET qty = qty + 1"));
        d.close(CloseReason::admin);
        CHECK(d.session().left_command_running());
    }
    SUBCASE("the client vanishes while idle: no (COM_QUIT went to the server)") {
        Driver d;
        log_in(d);
        d.client_closed();
        CHECK_FALSE(d.session().left_command_running());
    }
    SUBCASE("the client sent COM_QUIT: no") {
        Driver d;
        log_in(d);
        ByteVec q;
        codec::append_com_quit(q);
        d.client(q);
        d.client_closed();
        CHECK_FALSE(d.session().left_command_running());
    }
    SUBCASE("the server closed mid-query: no (its thread is gone)") {
        Driver d;
        log_in(d);
        d.client(com_query("SELECT SLEEP(60)"));
        d.upstream_closed();
        CHECK_FALSE(d.session().left_command_running());
    }
    SUBCASE("a client that leaves during its login: no (nothing ran)") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.client(login_bytes());
        d.client_closed();
        CHECK_FALSE(d.session().left_command_running());
    }
}

}  // namespace tether::session::test
