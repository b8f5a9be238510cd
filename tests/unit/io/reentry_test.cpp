// Re-entry: a Connection closed, or the whole Proxy shut down, from inside one
// of that Connection's own libuv callbacks (through the ConnectionCallbacks
// hook, as an admin close or a signal would arrive), and a session that ends
// inside apply(). The EntryGuard keeps the Connection alive until the
// outermost callback returns. Meant to run under AddressSanitizer too.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;
using tether::io::Connection;
using tether::io::ConnectionCallback;

TEST_CASE("shutdown_now from inside the read callback that forwarded a query") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    upstream.push(accepting_login().expect_packet().hold());
    TestClient client(loop, tether.port());
    log_in(loop, client);
    bool armed = true;
    int hook_calls = 0;
    tether.proxy().connection_callbacks().set_hook([&](Connection& c, ConnectionCallback callback) {
        if (!armed || c.is_probe() || callback != ConnectionCallback::read || c.bytes_from_client() <= login().size()) return;
        armed = false;
        ++hook_calls;
        tether.proxy().shutdown_now();
    });
    client.send(com_query("SELECT SLEEP(10)"));
    REQUIRE(loop.run_until([&] { return tether.stopped(); }));
    CHECK(hook_calls == 1);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"shutdown\"}") == 1);
    FakeUpstream::Peer& server = upstream.peer(1);
    REQUIRE(loop.run_until([&] { return server.closed() && client.closed(); }));
    // The query was forwarded before the hook ran; with it in flight the
    // server gets no COM_QUIT, only the close.
    CHECK(server.packets().size() == 2);
    CHECK_FALSE(ends_with_com_quit(server.received()));
    CHECK(client.saw_end());
    const auto& counts = tether.counts();
    CHECK(counts.write == counts.writes_queued);
    end_test(loop, tether, upstream);
}

TEST_CASE("an admin close from inside a write callback of the same connection") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    upstream.push(streaming_large_result());
    TestClient client(loop, tether.port(), 4096);
    back_up_large_result(loop, client, tether);
    std::vector<bool> closed_by_hook;
    tether.proxy().connection_callbacks().set_hook([&](Connection& c, ConnectionCallback callback) {
        if (c.is_probe() || callback != ConnectionCallback::write || !closed_by_hook.empty()) return;
        closed_by_hook.push_back(tether.proxy().close_connection(c.id()));
    });
    client.start_reading();  // the queued write completes: its callback closes the connection
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    REQUIRE(closed_by_hook.size() == 1);
    CHECK(closed_by_hook[0]);
    CHECK(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"admin\"}") == 1; }));
    FakeUpstream::Peer& server = upstream.peer(1);
    REQUIRE(loop.run_until([&] { return server.closed(); }));
    CHECK_FALSE(ends_with_com_quit(server.received()));  // the result was still streaming
    const auto& counts = tether.counts();
    CHECK(counts.write == counts.writes_queued);
    end_test(loop, tether, upstream);
}

TEST_CASE("an admin close from inside the last close callback of a connection that is finishing") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    upstream.push(accepting_login().expect_packet().close());  // a server closes after COM_QUIT
    TestClient client(loop, tether.port());
    log_in(loop, client);
    std::vector<bool> closes;
    tether.proxy().connection_callbacks().set_hook([&](Connection& c, ConnectionCallback callback) {
        if (c.is_probe() || callback != ConnectionCallback::close) return;
        // The Connection is still listed until its last close callback returns.
        closes.push_back(tether.proxy().close_connection(c.id()));
    });
    client.send(com_quit());
    FakeUpstream::Peer& server = upstream.peer(1);
    REQUIRE(loop.run_until([&] { return client.closed() && server.closed() && closes.size() == 2; }));
    CHECK(closes == std::vector<bool>{true, true});
    CHECK(loop.run_until([&] { return tether.proxy().connections({}).total == 0; }));
    // One close, one reason, counted once: the admin closes changed nothing.
    CHECK(tether.metric("tether_connections_closed_total{reason=\"client_quit\"}") == 1);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"admin\"}") == 0);
    CHECK(ends_with_com_quit(server.received()));
    end_test(loop, tether, upstream);
}

TEST_CASE("an admin close from inside the upstream connect callback") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    int hook_calls = 0;
    tether.proxy().connection_callbacks().set_hook([&](Connection& c, ConnectionCallback callback) {
        if (c.is_probe() || callback != ConnectionCallback::connect) return;
        ++hook_calls;
        CHECK(tether.proxy().close_connection(c.id()));
    });
    TestClient client(loop, tether.port());
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    CHECK(hook_calls == 1);
    CHECK(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"admin\"}") == 1; }));
    // The server connection was open: tether ends it (finishing the login it
    // had not begun, or at once), and it does not linger.
    REQUIRE(upstream.accepted() == 2);
    CHECK(loop.run_until([&] { return upstream.peer(1).closed(); }));
    end_test(loop, tether, upstream);
}

TEST_CASE("a session refused by a cap ends inside apply(): ERR 1203 to the client, its login never forwarded") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address(), "--max-connections-per-user", "1"});
    await_accepted(loop, upstream, 1);
    upstream.push(accepting_login());
    TestClient first(loop, tether.port());
    log_in(loop, first);
    upstream.push(refusing_login());  // what the server says to the reserved login tether finishes with
    TestClient second(loop, tether.port());
    REQUIRE(loop.run_until([&] { return second.packet(0).has_value(); }));
    second.send(login());
    REQUIRE(loop.run_until([&] { return second.closed(); }));
    REQUIRE(second.packet(1).has_value());
    CHECK(err_code(*second.packet(1)) == 1203);
    CHECK((*second.packet(1))[3] == std::byte{2});
    CHECK(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"rejected\"}") == 1; }));
    FakeUpstream::Peer& server = upstream.peer(2);
    REQUIRE(loop.run_until([&] { return server.closed(); }));
    REQUIRE(server.packets().size() == 1);
    CHECK(server.packets()[0] != login());  // tether's own reserved login, not the refused client's
    CHECK(tether.sessions_in("idle") == 1);  // the first session is untouched
    first.close();
    end_test(loop, tether, upstream);
}
