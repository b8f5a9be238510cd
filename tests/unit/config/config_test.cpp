// parse_command_line: flags, TETHER_* environment variables, defaults and exit statuses.
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "command_line_run.hpp"
#include "tether/config/config.hpp"

using namespace std::chrono_literals;
using tether::config::Address;
using tether::config::Config;
using tether::config::parse_command_line;

using namespace tether::config::test;

namespace {




}  // namespace

TEST_CASE("--upstream alone is enough, and everything else has its default") {
    clear_tether_env();
    const auto r = run({"--upstream", "db:3306"});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.err.empty());
    const Config& c = r.config();
    CHECK(c.upstream.kind == Address::Kind::tcp);
    CHECK(c.upstream.host == "db");
    CHECK(c.upstream.port == 3306);

    CHECK(c.listen.kind == Address::Kind::tcp);
    CHECK(c.listen.host == "127.0.0.1");
    CHECK(c.listen.port == 3307);
    CHECK(c.admin.host == "127.0.0.1");
    CHECK(c.admin.port == 9591);
    CHECK(c.handshake_timeout == 5s);
    CHECK(c.connect_timeout == 5s);
    CHECK(c.readiness_interval == 10s);
    CHECK(c.series_linger == 15min);
    CHECK(c.client_label == "attr:program_name,addr");
    CHECK(c.max_client_labels == 100);
    CHECK(c.reserved_user == "tether_abort_login");
    CHECK(c.log_format == "text");
    CHECK(c.log_level == "info");
}

TEST_CASE("Every flag is read") {
    clear_tether_env();
    const auto r = run({"--upstream=unix:/run/mysqld/mysqld.sock", "--listen", "0.0.0.0:13306", "--admin",
                        "[::1]:9000", "--handshake-timeout", "500ms", "--connect-timeout", "2s",
                        "--readiness-interval", "1m", "--series-linger", "0", "--client-label", "user,addr",
                        "--max-client-labels", "7", "--reserved-user", "nobody_here", "--log-format", "json",
                        "--log-level", "debug"});
    REQUIRE_MESSAGE(r.ok(), r.err);
    const Config& c = r.config();
    CHECK(c.upstream.kind == Address::Kind::unix_socket);
    CHECK(c.upstream.path == "/run/mysqld/mysqld.sock");
    CHECK(c.listen.host == "0.0.0.0");
    CHECK(c.listen.port == 13306);
    CHECK(c.admin.host == "::1");
    CHECK(c.admin.port == 9000);
    CHECK(c.handshake_timeout == 500ms);
    CHECK(c.connect_timeout == 2s);
    CHECK(c.readiness_interval == 1min);
    CHECK(c.series_linger == 0ms);
    CHECK(c.client_label == "user,addr");
    CHECK(c.max_client_labels == 7);
    CHECK(c.reserved_user == "nobody_here");
    CHECK(c.log_format == "json");
    CHECK(c.log_level == "debug");
}

TEST_CASE("A missing --upstream exits 2 naming the flag") {
    clear_tether_env();
    const auto r = run({});
    CHECK(r.status() == 2);
    CHECK(contains(r.err, "--upstream"));

    const auto r2 = run({"--listen", "127.0.0.1:3307"});
    CHECK(r2.status() == 2);
    CHECK(contains(r2.err, "--upstream"));
}

TEST_CASE("A bad duration exits 2 naming the flag") {
    clear_tether_env();
    const auto r = run({"--upstream", "db:3306", "--handshake-timeout", "5"});
    CHECK(r.status() == 2);
    CHECK(contains(r.err, "--handshake-timeout"));
    CHECK(contains(r.err, "'5'"));

    for (const std::string flag : {"--connect-timeout", "--readiness-interval", "--series-linger"}) {
        CAPTURE(flag);
        const auto bad = run({"--upstream", "db:3306", flag, "soon"});
        CHECK(bad.status() == 2);
        CHECK(contains(bad.err, flag));
    }
}

TEST_CASE("Timeouts of 0 are refused where they would mean never") {
    clear_tether_env();
    for (const std::string flag : {"--handshake-timeout", "--connect-timeout", "--readiness-interval"}) {
        CAPTURE(flag);
        const auto r = run({"--upstream", "db:3306", flag, "0"});
        CHECK(r.status() == 2);
        CHECK(contains(r.err, flag));
    }
}

TEST_CASE("A bad address exits 2 naming the flag") {
    clear_tether_env();
    struct Bad {
        const char* flag;
        const char* value;
    };
    for (const Bad& bad : {Bad{"--upstream", "db"}, Bad{"--upstream", "db:99999"}, Bad{"--listen", "[::1]"},
                           Bad{"--admin", "localhost"}, Bad{"--admin", "unix:/tmp/admin.sock"}}) {
        const std::string flag = bad.flag;
        const std::string value = bad.value;
        CAPTURE(flag);
        CAPTURE(value);
        std::vector<std::string> args{"--upstream", "db:3306", bad.flag, bad.value};
        if (std::string_view(bad.flag) == "--upstream") args = {"--upstream", bad.value};
        const auto r = run(args);
        CHECK(r.status() == 2);
        CHECK(contains(r.err, bad.flag));
    }
}

TEST_CASE("Values outside their sets exit 2") {
    clear_tether_env();
    CHECK(run({"--upstream", "db:3306", "--log-format", "xml"}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--log-level", "trace"}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--max-client-labels", "0"}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--max-client-labels", "many"}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--reserved-user", ""}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--reserved-user", std::string(33, 'u')}).status() == 2);
    CHECK(run({"--upstream", "db:3306", "--reserved-user", std::string(32, 'u')}).ok());
    CHECK(run({"--upstream", "db:3306", "--no-such-flag"}).status() == 2);
}

TEST_CASE("TETHER_UPSTREAM and TETHER_HANDSHAKE_TIMEOUT come from the environment") {
    clear_tether_env();
    ScopedEnv upstream("TETHER_UPSTREAM", "envdb:3310");
    ScopedEnv timeout("TETHER_HANDSHAKE_TIMEOUT", "250ms");
    const auto r = run({});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().upstream.host == "envdb");
    CHECK(r.config().upstream.port == 3310);
    CHECK(r.config().handshake_timeout == 250ms);
}

TEST_CASE("A flag overrides the environment") {
    clear_tether_env();
    ScopedEnv upstream("TETHER_UPSTREAM", "envdb:3310");
    ScopedEnv timeout("TETHER_HANDSHAKE_TIMEOUT", "250ms");
    const auto r = run({"--upstream", "flagdb:3320", "--handshake-timeout", "2s"});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().upstream.host == "flagdb");
    CHECK(r.config().upstream.port == 3320);
    CHECK(r.config().handshake_timeout == 2s);
}

TEST_CASE("Other TETHER_* variables are read too") {
    clear_tether_env();
    ScopedEnv upstream("TETHER_UPSTREAM", "db:3306");
    ScopedEnv labels("TETHER_MAX_CLIENT_LABELS", "12");
    ScopedEnv label("TETHER_CLIENT_LABEL", "user");
    ScopedEnv linger("TETHER_SERIES_LINGER", "1h");
    ScopedEnv listen("TETHER_LISTEN", "unix:/tmp/tether.sock");
    const auto r = run({});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().max_client_labels == 12);
    CHECK(r.config().client_label == "user");
    CHECK(r.config().series_linger == 1h);
    CHECK(r.config().listen.kind == Address::Kind::unix_socket);
    CHECK(r.config().listen.path == "/tmp/tether.sock");
}

TEST_CASE("A bad value in the environment exits 2 naming the flag") {
    clear_tether_env();
    ScopedEnv upstream("TETHER_UPSTREAM", "db:3306");
    ScopedEnv timeout("TETHER_HANDSHAKE_TIMEOUT", "forever");
    const auto r = run({});
    CHECK(r.status() == 2);
    CHECK(contains(r.err, "--handshake-timeout"));
}

TEST_CASE("--version prints the version and exits 0") {
    clear_tether_env();
    const auto r = run({"--version"});
    CHECK(r.status() == 0);
    CHECK(contains(r.out, std::string("tether ") + TETHER_VERSION));
    CHECK(r.err.empty());
}

TEST_CASE("--help prints the flags and exits 0, even without --upstream") {
    clear_tether_env();
    for (const std::string flag : {"--help", "-h"}) {
        CAPTURE(flag);
        const auto r = run({flag});
        CHECK(r.status() == 0);
        CHECK(contains(r.out, "--upstream"));
        CHECK(contains(r.out, "--handshake-timeout"));
        CHECK(contains(r.out, "TETHER_UPSTREAM"));
        CHECK(r.err.empty());
    }
}
