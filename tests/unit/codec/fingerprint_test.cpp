// Statement fingerprints: real statements from drivers and tools, every literal form, cuts, binary bytes, and no literal ever kept.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../support/clean_utf8.hpp"
#include "tether/codec/fingerprint.hpp"

using namespace std::string_literals;
using tether::codec::fingerprint;
using tether::codec::fingerprint_max_bytes;

namespace {

struct Row {
    const char* what;
    std::string input;
    bool truncated;
    std::string expected;
};

// What Connector/J 8.0.33 sends first on every connection (its revision hash elided here).
const std::string connector_j_8_init =
    "/* mysql-connector-java-8.0.33 (Revision: 0000000000000000000000000000000000000000) */SELECT  "
    "@@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS "
    "character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results "
    "AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS "
    "collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, "
    "@@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS "
    "lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS "
    "net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, "
    "@@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS "
    "transaction_isolation, @@wait_timeout AS wait_timeout";

const std::vector<Row>& rows() {
    static const std::vector<Row> table = {
        // Drivers and pools.
        {"Connector/J 8 init, cut at 253 + ...", connector_j_8_init, false,
         "SELECT @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS "
         "character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results "
         "AS character_set_results, @@character_set_server AS ch..."},
        {"SET NAMES", "SET NAMES utf8mb4", false, "SET NAMES utf8mb4"},
        {"SET autocommit", "SET autocommit=1", false, "SET autocommit=?"},
        {"max_allowed_packet", "SELECT @@max_allowed_packet", false, "SELECT @@max_allowed_packet"},
        {"Connector/J 3 SHOW VARIABLES", "SHOW VARIABLES", false, "SHOW VARIABLES"},
        {"Connector/J 3 SHOW COLLATION", "SHOW COLLATION", false, "SHOW COLLATION"},
        {"Connector/J 3 results charset", "SET character_set_results = NULL", false, "SET character_set_results = NULL"},
        {"Connector/J 3 isolation", "SELECT @@session.tx_isolation", false, "SELECT @@session.tx_isolation"},
        {"Connector/J 5.1 variables",
         "/* mysql-connector-java-5.1.49 ( Revision: x ) */SHOW VARIABLES WHERE Variable_name ='language' OR "
         "Variable_name = 'net_write_timeout' OR Variable_name = 'interactive_timeout'",
         false, "SHOW VARIABLES WHERE Variable_name =? OR Variable_name = ? OR Variable_name = ?"},
        {"Connector/J ping", "/* ping */ SELECT 1", false, "SELECT ?"},
        {"HikariCP test query", "SELECT 1", false, "SELECT ?"},
        {"isolation level", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", false,
         "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"},
        // sysbench oltp_read_write.
        {"sysbench point select", "SELECT c FROM sbtest1 WHERE id=5042", false, "SELECT c FROM sbtest1 WHERE id=?"},
        {"sysbench range", "SELECT c FROM sbtest2 WHERE id BETWEEN 4912 AND 5011", false,
         "SELECT c FROM sbtest2 WHERE id BETWEEN ? AND ?"},
        {"sysbench distinct range", "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 1 AND 100 ORDER BY c", false,
         "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"},
        {"sysbench index update", "UPDATE sbtest3 SET k=k+1 WHERE id=4996", false, "UPDATE sbtest3 SET k=k+? WHERE id=?"},
        {"sysbench non-index update",
         "UPDATE sbtest1 SET c='43683718329-48150560094-43449649167-51455516141-06448225399' WHERE id=5001", false,
         "UPDATE sbtest1 SET c=? WHERE id=?"},
        {"sysbench delete", "DELETE FROM sbtest1 WHERE id=5002", false, "DELETE FROM sbtest1 WHERE id=?"},
        {"sysbench insert",
         "INSERT INTO sbtest1 (id, k, c, pad) VALUES (5002, 4969, "
         "'68487932199-96439406143-93774651418-41631865787-96406072701-20604855487-25459966574-28203206787-"
         "41238978918-19503783441', '22195207048-70116052123-74140395089-76317954521-98694025897')",
         false, "INSERT INTO sbtest1 (id, k, c, pad) VALUES (...)"},
        {"BEGIN", "BEGIN", false, "BEGIN"},
        // ORMs.
        {"Django select",
         "SELECT `auth_user`.`id`, `auth_user`.`password` FROM `auth_user` WHERE `auth_user`.`username` = 'alice' LIMIT 21",
         false,
         "SELECT `auth_user`.`id`, `auth_user`.`password` FROM `auth_user` WHERE `auth_user`.`username` = ? LIMIT ?"},
        {"Django insert",
         "INSERT INTO `polls_question` (`question_text`, `pub_date`) VALUES ('What''s new?', '2024-05-01 10:00:00.000000')",
         false, "INSERT INTO `polls_question` (`question_text`, `pub_date`) VALUES (...)"},
        {"SQLAlchemy select with newlines",
         "SELECT users.id AS users_id, users.name AS users_name \nFROM users \nWHERE users.name = 'bob' \n LIMIT 1",
         false, "SELECT users.id AS users_id, users.name AS users_name FROM users WHERE users.name = ? LIMIT ?"},
        {"backquote doubled inside", "SELECT `we``ird` FROM t", false, "SELECT `we``ird` FROM t"},
        // Credentials never survive.
        {"CREATE USER", "CREATE USER 'a'@'%' IDENTIFIED BY 's3cret'", false, "CREATE USER ?@? IDENTIFIED BY ?"},
        {"SET PASSWORD", "SET PASSWORD FOR x = PASSWORD('pw')", false, "SET PASSWORD FOR x = PASSWORD(?)"},
        {"ALTER USER doubled quote", "ALTER USER u IDENTIFIED BY 'p''w'", false, "ALTER USER u IDENTIFIED BY ?"},
        {"GRANT", "GRANT SELECT ON db.* TO 'app'@'10.0.0.%'", false, "GRANT SELECT ON db.* TO ?@?"},
        // Quotes and escapes.
        {"backslash-escaped quote", "SELECT 'it\\'s'", false, "SELECT ?"},
        {"doubled quotes, escaped double quote", "SELECT 'a''b', \"x\\\"y\", \"a\"\"b\"", false, "SELECT ?, ?, ?"},
        {"escaped backslash ends the string", "SELECT 'a\\\\' , 'b'", false, "SELECT ? , ?"},
        {"introducers and bit/hex strings",
         "SELECT _utf8mb4'x', _binary 'y', N'z', n'w', X'1F', x'0a', B'101', b'1', _latin1 0x41", false,
         "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?"},
        // Numbers, and digits that are not.
        {"number forms", "SELECT 1, .5, 1., 1.5, 1e-3, 1E+10, 2.5e3, 0x1F, 0b101", false,
         "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?"},
        {"digits in names", "SELECT t1.col_2, 1abc, 0x1G, 0b12, t.1x FROM t1", false,
         "SELECT t1.col_2, 1abc, 0x1G, 0b12, t.1x FROM t1"},
        {"number then name", "SELECT 1.5a", false, "SELECT ?a"},
        {"name parts after `name.`", "SELECT t.5, t.1e5, t .5 FROM t", false, "SELECT t.5, t.1e5, t ? FROM t"},
        {"signs fold where an operand is expected", "SELECT * FROM t WHERE a = -1 AND b = +2 AND c=-3", false,
         "SELECT * FROM t WHERE a = ? AND b = ? AND c=?"},
        {"binary minus stays", "SELECT a-1, a - 1, (-1), f(1, -2), 5 - -1, -1", false,
         "SELECT a-?, a - ?, (?), f(?, ?), ? - ?, ?"},
        {"sign before a string stays", "SELECT -'1'", false, "SELECT -?"},
        {"booleans, NULL stays", "UPDATE t SET active = TRUE, deleted = false WHERE flag IS NOT NULL", false,
         "UPDATE t SET active = ?, deleted = ? WHERE flag IS NOT NULL"},
        {"boolean only as a whole word", "SELECT truest, true_x, False FROM t", false, "SELECT truest, true_x, ? FROM t"},
        // IN and VALUES lists.
        {"IN list", "SELECT * FROM invoices WHERE customer_id IN (1, 2, 3)", false,
         "SELECT * FROM invoices WHERE customer_id IN (...)"},
        {"NOT IN strings", "SELECT * FROM t WHERE id NOT IN ('a','b')", false, "SELECT * FROM t WHERE id NOT IN (...)"},
        {"in( lowercase, one value", "SELECT * FROM t WHERE id in(1)", false, "SELECT * FROM t WHERE id in(...)"},
        {"IN of placeholders and signed numbers", "SELECT * FROM t WHERE id IN (?, ?, -1, +2)", false,
         "SELECT * FROM t WHERE id IN (...)"},
        {"IN subquery kept", "SELECT * FROM t WHERE id IN (SELECT id FROM t2 WHERE x = 1)", false,
         "SELECT * FROM t WHERE id IN (SELECT id FROM t2 WHERE x = ?)"},
        {"IN with a column kept", "SELECT * FROM t WHERE id IN (1, col)", false, "SELECT * FROM t WHERE id IN (?, col)"},
        {"IN with NULL kept", "SELECT * FROM t WHERE id IN (1, NULL)", false, "SELECT * FROM t WHERE id IN (?, NULL)"},
        {"IN of rows kept", "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))", false,
         "SELECT * FROM t WHERE (a, b) IN ((?, ?), (?, ?))"},
        {"empty IN kept", "SELECT * FROM t WHERE id IN ()", false, "SELECT * FROM t WHERE id IN ()"},
        {"VALUES rows", "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'),(3, 'z')", false, "INSERT INTO t (a, b) VALUES (...)"},
        {"VALUE row", "INSERT INTO t VALUE (1)", false, "INSERT INTO t VALUE (...)"},
        {"VALUES with a function kept", "INSERT INTO t (a) VALUES (1), (NOW())", false, "INSERT INTO t (a) VALUES (?), (NOW())"},
        {"VALUES then ON DUPLICATE KEY", "INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b)", false,
         "INSERT INTO t (a, b) VALUES (...) ON DUPLICATE KEY UPDATE b = VALUES(b)"},
        {"prepared VALUES", "INSERT INTO t VALUES(?,?)", false, "INSERT INTO t VALUES(...)"},
        // Placeholders and multi-statements.
        {"placeholders", "SELECT * FROM t WHERE a = ? AND b > ?", false, "SELECT * FROM t WHERE a = ? AND b > ?"},
        {"multi-statement", "SELECT 1; SELECT 'a'", false, "SELECT ?; SELECT ?"},
        {"multi-statement with lists", "INSERT INTO t (a) VALUES (1),(2);SET @x = -5;SELECT @x", false,
         "INSERT INTO t (a) VALUES (...);SET @x = ?;SELECT @x"},
        // Comments.
        {"-- comment", "SELECT 1 -- trailing 'x'\n, 2", false, "SELECT ? , ?"},
        {"-- with a tab", "SELECT 1 --\tcomment\nFROM t", false, "SELECT ? FROM t"},
        {"--1 is not a comment", "SELECT 1--1", false, "SELECT ?-?"},
        {"# comment", "SELECT 1 # hash 'x'\nFROM t", false, "SELECT ? FROM t"},
        {"block comment", "SELECT /* block 'x' */ 1", false, "SELECT ?"},
        {"executable comment dropped whole", "SELECT /*! STRAIGHT_JOIN */ a FROM t", false, "SELECT a FROM t"},
        {"optimizer hint dropped", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", false, "SELECT * FROM t"},
        {"MariaDB executable comment", "SELECT /*M!100500 'x', */ a", false, "SELECT a"},
        {"comments do not nest", "SELECT /* outer /* inner */ 1 */ 2", false, "SELECT ? */ ?"},
        {"a comment separates", "SELECT a/**/FROM t", false, "SELECT a FROM t"},
        {"no space after --", "SELECT a--/**/b", false, "SELECT a--b"},
        {"all comments", "/* only */ -- x\n# y", false, ""},
        {"executable comment only", "/*!40101 SET NAMES utf8mb4 */", false, ""},
        {"unterminated comment", "SELECT 1 /* never closed 'secret'", false, "SELECT ?"},
        {"unterminated string", "SELECT 'never closed", false, "SELECT ?"},
        {"unterminated backquote", "SELECT `never closed = 'x'", false, "SELECT ?"},
        {"empty", "", false, ""},
        {"whitespace only", " \t\r\n\f\v", false, ""},
        {"whitespace collapses", "  SELECT\t*\r\n FROM\v t\f WHERE  a =  1  ", false, "SELECT * FROM t WHERE a = ?"},
        // Bytes that are not text.
        {"NUL and 0xFF in a literal", "SELECT 'a\0b\xFF'"s, false, "SELECT ?"},
        {"NUL outside", "SELECT a\0b FROM t"s, false, "SELECT a\xEF\xBF\xBD" "b FROM t"},
        {"invalid run outside", "SELECT \xFF\xFE\x01 FROM t", false, "SELECT \xEF\xBF\xBD FROM t"},
        {"valid UTF-8 kept", "SELECT \xC3\xA9t\xC3\xA9 FROM caf\xC3\xA9", false, "SELECT \xC3\xA9t\xC3\xA9 FROM caf\xC3\xA9"},
        {"overlong, surrogate, C1 control", "SELECT a\xC0\xAF, b\xED\xA0\x80, c\xC2\x85", false,
         "SELECT a\xEF\xBF\xBD, b\xEF\xBF\xBD, c\xEF\xBF\xBD"},
        {"U+FFFD in the text kept", "SELECT \xEF\xBF\xBD", false, "SELECT \xEF\xBF\xBD"},
        {"bad bytes in a backquoted name", "SELECT `a\xFF\xFE" "b`, `c\0d`"s, false,
         "SELECT `a\xEF\xBF\xBD" "b`, `c\xEF\xBF\xBD" "d`"},
        {"tab and newline in a backquoted name, spaces kept", "SELECT `a\t\nb  c`", false,
         "SELECT `a\xEF\xBF\xBD" "b  c`"},
        {"control byte then digits", "SELECT \x01" "12345", false, "SELECT \xEF\xBF\xBD?"},
        // Truncated prefixes: the open literal is `?`, the end is `...`.
        {"cut in a string", "SELECT * FROM users WHERE password = 'hunt", true,
         "SELECT * FROM users WHERE password = ?..."},
        {"cut in an escape", "SELECT 'ab\\", true, "SELECT ?..."},
        {"cut in a number", "SELECT c FROM sbtest1 WHERE id=50", true, "SELECT c FROM sbtest1 WHERE id=?..."},
        {"cut in a digit-led word", "SELECT 12a", true, "SELECT ?..."},
        {"digit-led word, not cut", "SELECT 12a", false, "SELECT 12a"},
        {"cut in an exponent", "SELECT 1e", true, "SELECT ?..."},
        {"cut in a UTF-8 name", "SELECT caf\xC3", true, "SELECT caf..."},
        {"incomplete UTF-8, not cut", "SELECT caf\xC3", false, "SELECT caf\xEF\xBF\xBD"},
        {"cut in a UTF-8 literal", "SELECT 'caf\xC3", true, "SELECT ?..."},
        {"cut in a comment", "SELECT 1 /* abc", true, "SELECT ?..."},
        {"cut in a word", "SELECT c FROM sbte", true, "SELECT c FROM sbte..."},
        {"cut in an introducer's string", "SELECT _utf8mb4'se", true, "SELECT ?..."},
        {"cut in a hex string", "SELECT X'1F", true, "SELECT ?..."},
        {"cut in an IN list", "SELECT * FROM t WHERE id IN (1, 2, 3", true, "SELECT * FROM t WHERE id IN (...)..."},
        {"cut after a comma in an IN list", "SELECT * FROM t WHERE id IN (1, 2,", true, "SELECT * FROM t WHERE id IN (...)..."},
        {"open IN list, not cut", "SELECT * FROM t WHERE id IN (1, 2, 3", false, "SELECT * FROM t WHERE id IN (?, ?, ?"},
        {"cut in VALUES rows", "INSERT INTO t VALUES (1, 'a'), (2, 'b", true, "INSERT INTO t VALUES (...)..."},
        {"cut after a row", "INSERT INTO t VALUES (1),", true, "INSERT INTO t VALUES (...)..."},
        {"row comma at the end, not cut", "INSERT INTO t VALUES (1),", false, "INSERT INTO t VALUES (...),"},
        {"cut in a comment only", "/* abc", true, ""},
    };
    return table;
}

using tether::test::clean_utf8;

const char* const markers[] = {"SECRET123", "987654321", "hunter2"};

// What every fingerprint promises, whatever went in.
void check_invariants(const std::string& input, bool truncated) {
    const std::string out = fingerprint(input, truncated);
    CAPTURE(input);
    CAPTURE(out);
    CHECK(out.size() <= fingerprint_max_bytes);
    CHECK(clean_utf8(out));
    if (!out.empty()) CHECK((out.front() != ' ' && out.back() != ' '));
    if (!out.ends_with("...")) CHECK(fingerprint(out) == out);
    if (truncated && !out.empty()) CHECK(out.ends_with("..."));
}

}  // namespace

TEST_CASE("fingerprint: real statements, literal forms, comments, bytes and cuts give exactly these") {
    CHECK(fingerprint_max_bytes == 256);
    for (const Row& row : rows()) {
        CAPTURE(row.what);
        CAPTURE(row.input);
        CHECK(fingerprint(row.input, row.truncated) == row.expected);
        check_invariants(row.input, row.truncated);
    }
}

TEST_CASE("fingerprint: every prefix of every row, cut as a session's prefix would be") {
    for (const Row& row : rows()) {
        for (std::size_t n = 0; n <= row.input.size(); ++n) {
            check_invariants(row.input.substr(0, n), true);
            check_invariants(row.input.substr(0, n), false);
        }
    }
}

TEST_CASE("fingerprint: a 1 MB IN list collapses, whole or cut, and what follows it is kept") {
    std::string list = "SELECT * FROM t WHERE id IN (";
    for (int i = 0; list.size() < (1u << 20); ++i) list += std::to_string(100000 + i) + ", ";
    list += "1)";
    CHECK(fingerprint(list) == "SELECT * FROM t WHERE id IN (...)");
    CHECK(fingerprint(list + " AND name = 'SECRET123' ORDER BY id") ==
          "SELECT * FROM t WHERE id IN (...) AND name = ? ORDER BY id");
    CHECK(fingerprint(std::string_view(list).substr(0, 512 * 1024), true) == "SELECT * FROM t WHERE id IN (...)...");
    // A list broken by a column deep inside is kept as normalized, cut at 256.
    const std::string broken = list.substr(0, list.size() - 2) + ", col)";
    const std::string out = fingerprint(broken);
    CHECK(out.size() == 256);
    CHECK(out.starts_with("SELECT * FROM t WHERE id IN (?, ?, ?"));
    CHECK(out.ends_with("?, ?,..."));  // 253 bytes end just after a comma
}

TEST_CASE("fingerprint: the 256-byte limit, with `...` inside it and no split UTF-8 sequence") {
    const std::string a300(300, 'a');
    CHECK(fingerprint("SELECT " + a300 + " FROM t") == "SELECT " + std::string(246, 'a') + "...");
    CHECK(fingerprint("SELECT `" + a300 + "` FROM t") == "SELECT `" + std::string(245, 'a') + "...");
    // Exactly 256 bytes fits whole; one more is cut.
    CHECK(fingerprint("SELECT " + std::string(249, 'b')) == "SELECT " + std::string(249, 'b'));
    CHECK(fingerprint("SELECT " + std::string(250, 'b')) == "SELECT " + std::string(246, 'b') + "...");
    // 2-byte characters after an odd offset: 252 bytes fit below 253 whole.
    std::string e_acute;
    for (int i = 0; i < 200; ++i) e_acute += "\xC3\xA9";
    std::string expected = "SELECT x";
    for (int i = 0; i < 122; ++i) expected += "\xC3\xA9";
    CHECK(fingerprint("SELECT x" + e_acute) == expected + "...");
    // Many literals: every one is `?`, and the cut falls on a token edge's space, trimmed.
    std::string many = "SELECT ";
    for (int i = 0; i < 200; ++i) many += "'SECRET123', ";
    many += "1";
    const std::string out = fingerprint(many);
    CHECK(out.size() <= 256);
    CHECK(out.starts_with("SELECT ?, ?, ?"));
    CHECK(out.ends_with("..."));
    CHECK(out.find("SECRET") == std::string::npos);
}

TEST_CASE("fingerprint: no literal planted in any form or place survives, whole or cut anywhere") {
    const std::vector<std::string> literals = {
        "'SECRET123'", "\"SECRET123\"", "'SEC\\'RET123'", "_utf8mb4'SECRET123'", "_binary 'SECRET123'",
        "N'SECRET123'", "X'987654321A'", "0x987654321", "987654321", "-987654321", "987654321.5", ".987654321",
        "987654321e3", "'hunter2'", "'a''hunter2'", "\"x\"\"hunter2\"",
    };
    // Unterminated ones swallow the rest: alone in a statement, or a later quote would end them.
    const std::vector<std::string> unterminated = {"'SECRET123", "\"hunter2", "`hunter2", "X'98765432", "/* hunter2"};
    const std::vector<std::string> hidden = {
        "/* SECRET123 */", "/*! SECRET123 */", "/*+ SECRET123 */", "-- SECRET123\n", "# hunter2\n",
    };
    const std::vector<std::string> templates = {
        "SELECT %", "SELECT * FROM t WHERE a = % AND b = 1", "SELECT * FROM t WHERE id IN (1, %, 3)",
        "INSERT INTO t (a, b) VALUES (%, 2), (3, %)", "SELECT f(%)", "SET @x=%;SELECT %", "%",
        "UPDATE t SET c=% WHERE id=%", "SELECT a-%", "CREATE USER 'u'@'h' IDENTIFIED BY %",
    };
    std::size_t checked = 0;
    auto check_no_marker = [&](const std::string& input) {
        for (int cut = 0; cut < 2; ++cut) {
            for (std::size_t n = 0; n <= input.size(); n += cut ? 1 : input.size() + 1) {
                const std::string prefix = input.substr(0, n);
                const std::string out = fingerprint(prefix, cut == 1);
                CAPTURE(prefix);
                CAPTURE(out);
                ++checked;
                // No marker, nor any 4-byte piece of one (a cut literal).
                for (std::string_view m : markers) {
                    for (std::size_t k = 0; k + 4 <= m.size(); ++k) CHECK(out.find(m.substr(k, 4)) == std::string::npos);
                }
                check_invariants(prefix, cut == 1);
            }
        }
    };
    for (const std::string& t : templates) {
        const bool one_slot = std::count(t.begin(), t.end(), '%') == 1;
        for (const auto* set : {&literals, &hidden, &unterminated}) {
            if (set == &unterminated && !one_slot) continue;
            for (const std::string& value : *set) {
                std::string input;
                for (char c : t) input += c == '%' ? value : std::string(1, c);
                check_no_marker(input);
            }
        }
    }
    // Generated statements: tokens of every kind in pseudo-random order, markers only inside literals and comments.
    const std::vector<std::string> pieces = {
        "SELECT", " ", "FROM", "t1", "`q``x`", "(", ")", ",", ";", "=", "-", "+", ".", "IN", "VALUES", "NOT",
        "?", "@@x", "\n", "\t", "TRUE", "NULL", "1abc", "\xC3\xA9", "\xFF", std::string(1, '\0'), "\x01", "--",
        "WHERE", "e", "_utf8mb4", "0x", "x", "N",
    };
    std::uint32_t rng = 12345;
    auto next = [&](std::uint32_t bound) {
        rng = rng * 1103515245u + 12345u;
        return (rng >> 8) % bound;
    };
    for (int i = 0; i < 200; ++i) {
        std::string input;
        const std::uint32_t length = 1 + next(30);
        for (std::uint32_t k = 0; k < length; ++k) {
            const std::uint32_t pick = next(10);
            if (pick == 0) {
                input += " " + literals[next(static_cast<std::uint32_t>(literals.size()))] + " ";
            } else if (pick == 1) {
                input += " " + hidden[next(static_cast<std::uint32_t>(hidden.size()))] + "\n";
            } else {
                input += pieces[next(static_cast<std::uint32_t>(pieces.size()))];
            }
        }
        check_no_marker(input);
    }
    CHECK(checked > 10000);
}
