// MonitorLink on a real loop against a scripted server playing MariaDB 10.11's
// recorded answers (tests/fixtures/monitor): it logs in, reads the server,
// runs KILL and queries in order behind each other, refuses requests past its
// bound, fails what is in flight when the server goes and logs in again after
// the backoff, and closes every handle at the end (uv_loop_close() == 0).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../support/hex.hpp"
#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

namespace {

// The server's chunks of a recorded monitor session, in order.
std::vector<Bytes> recorded_answers() {
    const std::string dir = tether::test::dir_from_env("TETHER_MONITOR_FIXTURES", TETHER_MONITOR_FIXTURES_DEFAULT);
    std::ifstream in(dir + "/tether-monitor_mariadb-10.11_session.hex");
    REQUIRE(in);
    std::vector<Bytes> chunks;
    std::string line;
    std::string hex;
    bool server = false;
    const auto flush = [&] {
        if (server && !hex.empty()) chunks.push_back(tether::test::from_hex(hex));
        hex.clear();
    };
    while (std::getline(in, line)) {
        if (line == "# s2c" || line == "# c2s") {
            flush();
            server = line == "# s2c";
        } else if (!line.empty() && line[0] != '#') {
            hex += line + " ";
        }
    }
    flush();
    REQUIRE(chunks.size() == 4);  // greeting, OK, the status answer, the limits answer
    return chunks;
}

// Greeting, login, OK, then both status reads answered.
Script logged_in_and_read(const std::vector<Bytes>& server) {
    return Script().send(server[0]).expect_packet().send(server[1]).expect_packet().send(server[2]).expect_packet().send(
        server[3]);
}

struct Kill {
    bool answered = false;
    bool ok = false;
    std::uint16_t code = 0;
    std::string message;
};

struct ScopedPassword {
    ScopedPassword() { ::setenv("TETHER_MONITOR_PASSWORD", "monitorpw", 1); }
    ~ScopedPassword() { ::unsetenv("TETHER_MONITOR_PASSWORD"); }
};

}  // namespace

TEST_CASE("MonitorLink: logs in, reads the server, KILL and a query in order, bounded, and closes clean") {
    TestLoop loop;
    const auto server = recorded_answers();
    FakeUpstream upstream(loop, Script().hold());
    upstream.push(logged_in_and_read(server)
                      .expect_packet()  // the KILL
                      .hold()
                      .send(err(1, 1094, "HY000", "Unknown thread id: 999999"))
                      .expect_packet()  // the query
                      .send(server[3])
                      .expect_packet()  // the next KILL, never answered
                      .hold());
    std::optional<ScopedPassword> password(std::in_place);
    ProxyUnderTest tether(loop, {"--upstream", upstream.address(), "--monitor-user", "monitor", "--monitor-interval", "1h"});
    password.reset();
    auto& monitor = tether.proxy().monitor();
    CHECK(monitor.configured());
    int state_calls = 0;
    monitor.on_server_state([&](const tether::io::ServerState& state) {
        ++state_calls;
        CHECK(state.known);
    });
    REQUIRE(loop.run_until([&] { return monitor.up(); }));
    CHECK(state_calls == 1);
    const auto& state = monitor.server_state();
    CHECK(state.threads_connected == 1);
    CHECK(state.max_connections == 200);
    CHECK(state.max_user_connections == 0);
    CHECK(state.aborted_connects == 7);
    CHECK(tether.proxy().ready());
    CHECK(tether.proxy().connections({}).total == 0);  // not a client session
    CHECK(tether.proxy().metrics_text().find("tether_monitor_up 1") != std::string::npos);
    CHECK(tether.proxy().metrics_text().find("tether_server_max_connections 200") != std::string::npos);
    REQUIRE(upstream.accepted() == 1);
    auto& peer = upstream.peer(0);
    REQUIRE(peer.packets().size() == 3);
    // Its login, as MariaDB accepted it in the recording (user monitor).
    CHECK(tether::test::to_hex(peer.packets()[0]).find("6d6f6e69746f7200") != std::string::npos);

    Kill first;
    monitor.kill(999999, [&](bool ok, std::uint16_t code, std::string message) {
        first = {true, ok, code, std::move(message)};
    });
    std::optional<bool> query_ok;
    tether::io::MonitorLink::Rows rows;
    monitor.query("SELECT @@max_connections, @@max_user_connections",
                  [&](bool ok, const tether::io::MonitorLink::Rows& r, std::string) {
                      query_ok = ok;
                      rows = r;
                  });
    REQUIRE(loop.run_until([&] { return peer.at_hold() && peer.packets().size() == 4; }));
    CHECK(peer.packets()[3] == com_query("KILL 999999"));
    // Two wait; 62 more fill the bound; the next is refused at once, inside the call.
    std::vector<Kill> queued(62);
    for (std::size_t i = 0; i < queued.size(); ++i) {
        monitor.kill(static_cast<std::uint32_t>(1000 + i), [&, i](bool ok, std::uint16_t code, std::string message) {
            queued[i] = {true, ok, code, std::move(message)};
        });
    }
    Kill refused;
    monitor.kill(5, [&](bool ok, std::uint16_t code, std::string message) { refused = {true, ok, code, std::move(message)}; });
    CHECK(refused.answered);
    CHECK_FALSE(refused.ok);
    CHECK(refused.message.find("queue is full") != std::string::npos);
    CHECK_FALSE(first.answered);

    peer.resume();
    REQUIRE(loop.run_until([&] { return query_ok.has_value() && peer.packets().size() == 6; }));
    CHECK(first.answered);
    CHECK_FALSE(first.ok);
    CHECK(first.code == 1094);
    CHECK(first.message == "Unknown thread id: 999999");
    CHECK(*query_ok);
    CHECK(rows == tether::io::MonitorLink::Rows{{"200", "0"}});
    CHECK(peer.packets()[5] == com_query("KILL 1000"));  // in order, behind the query

    // Shutdown: everything still waiting is answered, the handle closes.
    REQUIRE(tether.shut_down());
    for (const auto& k : queued) {
        CHECK(k.answered);
        CHECK_FALSE(k.ok);
    }
    CHECK(queued[1].message == "tether is stopping");
    end_test(loop, tether, upstream);
}

TEST_CASE("MonitorLink: the server gone mid-KILL fails it; the link logs in again after the backoff, then quits cleanly") {
    TestLoop loop;
    const auto server = recorded_answers();
    FakeUpstream upstream(loop, Script().hold());
    upstream.push(logged_in_and_read(server).expect_packet().close());
    upstream.push(logged_in_and_read(server));
    ScopedPassword password;
    ProxyUnderTest tether(loop, {"--upstream", upstream.address(), "--monitor-user", "monitor", "--monitor-interval", "1h"});
    auto& monitor = tether.proxy().monitor();
    REQUIRE(loop.run_until([&] { return monitor.up(); }));
    Kill kill;
    monitor.kill(42, [&](bool ok, std::uint16_t code, std::string message) { kill = {true, ok, code, std::move(message)}; });
    REQUIRE(loop.run_until([&] { return kill.answered; }));
    CHECK_FALSE(kill.ok);
    CHECK(kill.code == 0);
    CHECK(kill.message.find("ended before the answer") != std::string::npos);
    CHECK_FALSE(monitor.up());
    CHECK_FALSE(tether.proxy().ready());
    CHECK(tether.proxy().not_ready_reason().find("monitor session") != std::string::npos);
    CHECK(tether.proxy().metrics_text().find("tether_monitor_up 0") != std::string::npos);
    CHECK(tether.proxy().metrics_text().find("tether_server_threads_connected") == std::string::npos);
    // 1 s (with jitter) later it is back.
    REQUIRE(loop.run_until([&] { return monitor.up(); }, std::chrono::seconds(4)));
    CHECK(upstream.accepted() == 2);
    CHECK(monitor.logins() == 2);
    REQUIRE(tether.shut_down());
    // Logged in and idle at shutdown: COM_QUIT, so the server counts no aborted client.
    REQUIRE(loop.run_until([&] { return upstream.peer(1).saw_end(); }));
    CHECK(ends_with_com_quit(upstream.peer(1).received()));
    end_test(loop, tether, upstream);
}
