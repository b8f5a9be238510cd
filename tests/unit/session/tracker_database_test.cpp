// The session's default database: COM_INIT_DB and its OK, SESSION_TRACK_SCHEMA in an OK's session
// state, a change of user; real MariaDB captures and synthetic streams, whole and byte by byte.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "capture.hpp"
#include "replay.hpp"
#include "tether/codec/wire.hpp"
#include "tether/session/command_tracker.hpp"
#include "wire_builder.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;
namespace status = codec::status;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
const std::string long_name = "tether_a_database_name_as_long_as_mariadb_allows_sixty_four_char";

void feed(CommandTracker& t, const ByteVec& b, bool from_client, bool bytewise) {
    const codec::Bytes all(b);
    const std::size_t step = bytewise ? 1 : all.size();
    for (std::size_t i = 0; i < all.size(); i += step) {
        const auto piece = all.subspan(i, std::min(step, all.size() - i));
        if (from_client) {
            t.on_client_bytes(piece, t0);
        } else {
            t.on_server_bytes(piece);
        }
    }
}

ByteVec com_init_db(std::string_view name) {
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x02);
    w.text(name);
    return frame(0, p);
}

// An OK as MariaDB sends it after `USE name` with CLIENT_SESSION_TRACK: SESSION_STATE_CHANGED and
// one SESSION_TRACK_SCHEMA entry, optionally after a SESSION_TRACK_SYSTEM_VARIABLES one.
ByteVec ok_with_schema(std::string_view name, bool sysvar_first = false) {
    ByteVec entry_body;
    codec::WireWriter(entry_body).lenenc_string(name);
    ByteVec state;
    codec::WireWriter s(state);
    if (sysvar_first) {
        ByteVec sysvar;
        codec::WireWriter v(sysvar);
        v.lenenc_string("character_set_client");
        v.lenenc_string("utf8mb4");
        s.u8(0x00);
        s.lenenc_bytes(sysvar);
    }
    s.u8(codec::session_track_schema);
    s.lenenc_bytes(entry_body);
    ByteVec p;
    codec::WireWriter w(p);
    w.u8(0x00);
    w.lenenc_int(0);
    w.lenenc_int(0);
    w.u16(status::autocommit | status::session_state_changed);
    w.u16(0);
    w.lenenc_string("");
    w.lenenc_bytes(state);
    return frame(1, p);
}

std::string db(const CommandTracker& t) { return t.database() != nullptr ? *t.database() : std::string("<login's>"); }

// The current database after each server chunk of a capture, from the command phase on.
std::vector<std::string> databases_after_server_chunks(const Replay& r, const Capture& c) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < c.chunks.size(); ++i) {
        if (c.chunks[i].direction == Direction::server && r.per_chunk[i].phase == Phase::command) {
            out.push_back(r.per_chunk[i].database);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("database: COM_INIT_DB moves the session once its OK arrives; an ERR leaves it") {
    for (bool bytewise : {false, true}) {
        for (const std::string& name : {std::string("shop"), long_name}) {
            CAPTURE(bytewise);
            CAPTURE(name);
            CommandTracker t(modern_caps & ~cap::session_track);  // no session state: the name must come from the command
            CHECK(t.database() == nullptr);
            feed(t, com_init_db(name), true, bytewise);
            CHECK(t.database() == nullptr);  // not before the server agreed
            feed(t, Stream(1).ok(status::autocommit).bytes(), false, bytewise);
            CHECK(db(t) == name);
            feed(t, com_init_db("mysql"), true, bytewise);
            feed(t, Stream(1).err(1044, "42000", "Access denied for user 'app'@'%' to database 'mysql'").bytes(), false,
                 bytewise);
            CHECK(db(t) == name);
            CHECK(t.idle());
            CHECK(t.synced());
        }
    }
}

TEST_CASE("database: pipelined COM_INIT_DBs: the latest one's OK decides") {
    CommandTracker t(modern_caps);
    ByteVec both = com_init_db("a");
    const ByteVec second = com_init_db("b");
    both.insert(both.end(), second.begin(), second.end());
    feed(t, both, true, false);
    feed(t, Stream(1).ok(status::autocommit).bytes(), false, false);
    CHECK(t.database() == nullptr);  // "a" was taken, but "b" is already on its way
    feed(t, Stream(1).ok(status::autocommit).bytes(), false, false);
    CHECK(db(t) == "b");
    CHECK(t.idle());
}

TEST_CASE("database: a COM_INIT_DB name longer than any server accepts is not kept") {
    CommandTracker t(modern_caps & ~cap::session_track);
    feed(t, com_init_db(std::string(300, 'x')), true, false);
    feed(t, Stream(1).err(1102, "42000", "Incorrect database name").bytes(), false, false);
    CHECK(t.database() == nullptr);
    CHECK(t.synced());
    CHECK(t.idle());
}

TEST_CASE("database: USE in a COM_QUERY is read from the OK's SESSION_TRACK_SCHEMA") {
    for (bool bytewise : {false, true}) {
        for (bool sysvar_first : {false, true}) {
            for (const std::string& name : {std::string("shop"), long_name}) {
                CAPTURE(bytewise);
                CAPTURE(sysvar_first);
                CAPTURE(name);
                CommandTracker t(modern_caps);
                feed(t, com_query("USE " + name), true, bytewise);
                feed(t, ok_with_schema(name, sysvar_first), false, bytewise);
                CHECK(db(t) == name);
                CHECK(t.idle());
                CHECK(t.synced());
                // The same OK without SESSION_TRACK agreed is only status and info.
                CommandTracker untracked(modern_caps & ~cap::session_track);
                feed(untracked, com_query("USE " + name), true, bytewise);
                feed(untracked, ok_with_schema(name, sysvar_first), false, bytewise);
                CHECK(untracked.database() == nullptr);
                CHECK(untracked.synced());
            }
        }
    }
}

TEST_CASE("database: an OK with other session state (MySQL 8 GTIDs, 1121 bytes) leaves it, and stays in sync") {
    const ByteVec ok = load_fixture_bytes("ok_in-trans_session-track-gtids.hex");
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        CommandTracker t(cap::protocol_41 | cap::transactions | cap::session_track);
        feed(t, com_query("INSERT INTO t VALUES (1)"), true, bytewise);
        feed(t, ok, false, bytewise);
        CHECK(t.idle());
        CHECK(t.synced());
        CHECK(t.in_transaction());
        CHECK(t.database() == nullptr);
    }
}

TEST_CASE("database: a change of user returns to the new login's database") {
    CommandTracker t(modern_caps);
    feed(t, com_init_db("shop"), true, false);
    feed(t, Stream(1).ok(status::autocommit).bytes(), false, false);
    REQUIRE(db(t) == "shop");
    feed(t, com_change_user("other", "tether_test", "mysql_native_password", {}), true, false);
    feed(t, Stream(1).ok(status::autocommit).bytes(), false, false);
    CHECK(t.database() == nullptr);
    CHECK(t.user_changed());
}

TEST_CASE("capture: the mariadb CLI's USE (COM_INIT_DB) moves the session's database") {
    const Capture c = load_capture("mariadb-cli_use-init-db.hex");
    for (auto feeding : {Feeding::as_captured, Feeding::byte_at_a_time}) {
        CAPTURE(feeding_name(feeding));
        const Replay r = replay(c, feeding);
        // Auth OK, SELECT DATABASE(), the long name's OK, SELECT DATABASE(), ERR 1044 for mysql,
        // SELECT DATABASE(), information_schema's OK.
        CHECK(databases_after_server_chunks(r, c) ==
              std::vector<std::string>{"tether_test", "tether_test", long_name, long_name, long_name, long_name,
                                       "information_schema"});
    }
}

TEST_CASE("capture: USE sent as a COM_QUERY moves the session's database (SESSION_TRACK_SCHEMA)") {
    const Capture c = load_capture("mariadb-cli_use-com-query.hex");
    for (auto feeding : {Feeding::as_captured, Feeding::byte_at_a_time}) {
        CAPTURE(feeding_name(feeding));
        const Replay r = replay(c, feeding);
        // Auth OK, USE long (an OK longer than the peek), SELECT DATABASE(), ERR 1044, USE information_schema.
        CHECK(databases_after_server_chunks(r, c) ==
              std::vector<std::string>{"tether_test", long_name, long_name, long_name, "information_schema"});
    }
}

}  // namespace tether::session::test
