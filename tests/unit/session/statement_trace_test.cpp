// The latest statement a session ran, as the tracker keeps it for its fingerprint.
#include <doctest/doctest.h>

#include <string>

#include "tether/codec/command.hpp"
#include "tether/codec/packet.hpp"
#include "tether/session/command_tracker.hpp"
#include "wire_builder.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;
namespace status = codec::status;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);

void feed_client(CommandTracker& t, const ByteVec& b, bool bytewise) {
    if (!bytewise) return t.on_client_bytes(b, t0);
    for (std::size_t i = 0; i < b.size(); ++i) t.on_client_bytes(codec::Bytes(b).subspan(i, 1), t0);
}

std::string latest(const CommandTracker& t) { return t.statements().fingerprint().value_or("<none>"); }

// A prepare's complete answer under DEPRECATE_EOF: the OK, then one definition per parameter.
ByteVec prepare_answer(std::uint32_t id, std::uint16_t params) {
    Stream s(1);
    s.stmt_prepare_ok(id, 0, params);
    for (std::uint16_t i = 0; i < params; ++i) s.column_definition("?");
    return s.bytes();
}

ByteVec ok() { return Stream(1).ok(status::autocommit).bytes(); }

}  // namespace

TEST_CASE("statements: a COM_QUERY's fingerprint, whole or a byte at a time; pings leave it") {
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        CommandTracker t(modern_caps, true);
        CHECK_FALSE(t.statements().fingerprint());  // nothing ran yet
        feed_client(t, com_query("SELECT * FROM invoices   WHERE customer_id = 4242"), bytewise);
        t.on_server_bytes(ok());
        CHECK(latest(t) == "SELECT * FROM invoices WHERE customer_id = ?");
        feed_client(t, com_simple(0x0E), bytewise);  // COM_PING: a pool's validation
        t.on_server_bytes(ok());
        CHECK(latest(t) == "SELECT * FROM invoices WHERE customer_id = ?");
        CHECK(t.commands() == 2);
        CHECK(t.synced());
    }
}

TEST_CASE("statements: only the first bytes of a long statement are kept, and it says so") {
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        CommandTracker t(modern_caps, true);
        std::string sql = "SELECT id FROM t WHERE id IN (";
        for (int i = 0; i < 20000; ++i) sql += std::to_string(i) + ",";
        sql += "0)";
        feed_client(t, com_query(sql), bytewise);
        t.on_server_bytes(ok());
        const std::string fp = latest(t);
        CHECK(fp.starts_with("SELECT id FROM t WHERE id IN ("));
        CHECK(fp.ends_with("..."));
        CHECK(fp.size() <= 256);
        CHECK(fp.find("19999") == std::string::npos);
        CHECK(t.synced());
        CHECK(t.idle());
        // The next statement replaces it, and the capture ended with the packet.
        feed_client(t, com_query("SELECT 1"), bytewise);
        t.on_server_bytes(ok());
        CHECK(latest(t) == "SELECT ?");
    }
}

TEST_CASE("statements: the buffer is as long as the longest statement needed, never more than 512 bytes") {
    CommandTracker t(modern_caps, true);
    feed_client(t, com_query("SELECT 1"), false);
    t.on_server_bytes(ok());
    CHECK(t.statements().buffer_capacity() < 64);
    feed_client(t, com_query("SELECT '" + std::string(100'000, 'x') + "'"), true);
    t.on_server_bytes(ok());
    CHECK(t.statements().buffer_capacity() == StatementTrace::max_statement_bytes);
    CHECK(latest(t) == "SELECT ?...");
    feed_client(t, com_query("SELECT 2"), false);
    t.on_server_bytes(ok());
    CHECK(t.statements().buffer_capacity() == StatementTrace::max_statement_bytes);  // reused, not regrown
    CHECK(latest(t) == "SELECT ?");
}

TEST_CASE("statements: COM_STMT_EXECUTE names what was prepared, pipelined or not, and forgets closed ones") {
    CommandTracker t(modern_caps | cap::deprecate_eof, true);
    feed_client(t, com_stmt_prepare("SELECT c FROM sbtest1 WHERE id=?"), false);
    t.on_server_bytes(prepare_answer(7, 1));
    feed_client(t, com_stmt_prepare("UPDATE sbtest1 SET k=k+1 WHERE id=?"), true);
    t.on_server_bytes(prepare_answer(8, 1));
    CHECK(t.statements().prepared_count() == 2);
    CHECK_FALSE(t.statements().fingerprint());  // prepares are not statements that ran

    feed_client(t, com_stmt_execute(7, 5042), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "SELECT c FROM sbtest1 WHERE id=?");
    feed_client(t, com_stmt_execute(8, 5042), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "UPDATE sbtest1 SET k=k+? WHERE id=?");

    feed_client(t, com_stmt_close(7), false);
    CHECK(t.statements().prepared_count() == 1);
    feed_client(t, com_stmt_execute(7, 1), false);
    t.on_server_bytes(Stream(1).err(1243, "HY000", "Unknown prepared statement handler").bytes());
    CHECK(latest(t) == "(prepared statement: text not kept)");

    // MariaDB Connector/J 3 sends PREPARE and EXECUTE(-1) together: -1 is the prepare in flight.
    ByteVec both = com_stmt_prepare("DELETE FROM sessions WHERE token=?");
    const ByteVec execute = com_stmt_execute(StatementTrace::last_prepared_id, 0);
    both.insert(both.end(), execute.begin(), execute.end());
    feed_client(t, both, false);
    CHECK(latest(t) == "DELETE FROM sessions WHERE token=?");
    t.on_server_bytes(prepare_answer(9, 1));
    t.on_server_bytes(ok());
    CHECK(t.statements().prepared_count() == 2);
    CHECK(t.synced());
    CHECK(t.idle());

    // COM_RESET_CONNECTION drops the server's prepared statements: tether forgets them too.
    feed_client(t, com_simple(0x1F), false);
    t.on_server_bytes(ok());
    CHECK(t.statements().prepared_count() == 0);
}

TEST_CASE("statements: a refused prepare keeps nothing, and the next answer goes to the next prepare") {
    CommandTracker t(modern_caps | cap::deprecate_eof, true);
    ByteVec both = com_stmt_prepare("SELECT nope FROM missing WHERE id=?");
    const ByteVec second = com_stmt_prepare("SELECT name FROM users WHERE id=?");
    both.insert(both.end(), second.begin(), second.end());
    feed_client(t, both, false);
    t.on_server_bytes(Stream(1).err(1146, "42S02", "Table 'missing' doesn't exist").bytes());
    t.on_server_bytes(prepare_answer(3, 1));
    feed_client(t, com_stmt_execute(3, 1), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "SELECT name FROM users WHERE id=?");
    CHECK(t.statements().prepared_count() == 1);
}

TEST_CASE("statements: the prepared statements a session keeps are bounded in number and bytes") {
    CommandTracker t(modern_caps | cap::deprecate_eof, true);
    const std::string wide(200, 'c');
    for (std::uint32_t id = 1; id <= 1000; ++id) {
        feed_client(t, com_stmt_prepare("SELECT " + wide + " FROM t" + std::to_string(id) + " WHERE id=?"), false);
        t.on_server_bytes(prepare_answer(id, 1));
        REQUIRE(t.synced());
    }
    CHECK(t.statements().prepared_count() <= StatementTrace::max_prepared);
    CHECK(t.statements().prepared_bytes() <= StatementTrace::max_prepared_bytes);
    CHECK(t.statements().prepared_count() > 10);
    // The newest are the ones kept.
    feed_client(t, com_stmt_execute(1000, 1), false);
    t.on_server_bytes(ok());
    CHECK(latest(t).find("FROM t1000 WHERE") != std::string::npos);
    feed_client(t, com_stmt_execute(1, 1), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "(prepared statement: text not kept)");
}

TEST_CASE("statements: query attributes (MySQL 8.0.23+) before the text") {
    CommandTracker t(modern_caps | cap::query_attributes, true);
    // No attributes: a count of 0 and one parameter set, then the text.
    static constexpr char none_bytes[] = "\x03\x00\x01" "SELECT 1";
    ByteVec none = bytes_of(std::string_view(none_bytes, sizeof none_bytes - 1));
    feed_client(t, frame(0, none), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "SELECT ?");
    // With attributes the text sits behind their values: tether says it did not read it.
    // count 1, one set, NULL bitmap, bind flag, type, name "id", value "7".
    static constexpr char with_bytes[] = "\x03\x01\x01\x00\x01\xfe\x00\x02" "id" "\x01" "7" "SELECT 2";
    ByteVec with = bytes_of(std::string_view(with_bytes, sizeof with_bytes - 1));
    feed_client(t, frame(0, with), false);
    t.on_server_bytes(ok());
    CHECK(latest(t) == "(query with query attributes: text not read)");
    CHECK(t.synced());
}

TEST_CASE("statements: off keeps nothing, and still counts commands") {
    CommandTracker t(modern_caps, false);
    feed_client(t, com_query("SELECT * FROM invoices WHERE customer_id = 4242"), false);
    t.on_server_bytes(ok());
    CHECK_FALSE(t.statements().fingerprint());
    CHECK(t.commands() == 1);
}

}  // namespace tether::session::test
