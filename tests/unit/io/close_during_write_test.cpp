// A peer that goes away while tether has a large write queued to it: the
// write's buffer lives until its callback, the Connection finishes, the other
// side is closed as the session's rules say, and every handle is closed.
// Meant to run under AddressSanitizer too (scripts/test).
#include <doctest/doctest.h>

#include <algorithm>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

TEST_CASE("a client that resets while tether has a large write queued to it") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);  // the readiness probe
    // 8 MiB of rows: far more than the kernel's buffers between here and a
    // client that reads 4 KiB at most and then nothing.
    upstream.push(streaming_large_result());
    TestClient client(loop, tether.port(), 4096);
    back_up_large_result(loop, client, tether);
    FakeUpstream::Peer& server = upstream.peer(1);
    // tether stopped reading the server while its write to the client is queued.
    CHECK(server.writes_pending() == 1);
    // The client reads a little: queued writes complete from their own
    // buffers (the read buffer they came from has been reused since), and the
    // next one backs up again.
    client.start_reading();
    REQUIRE(loop.run_until([&] { return tether.counts().write >= 2; }));
    client.stop_reading();
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued > tether.counts().write; }));
    const auto queued = tether.counts().writes_queued;
    const auto received = client.received().size();

    client.reset();
    REQUIRE(loop.run_until([&] { return server.closed() && tether.sessions_in("query") == 0; }));
    CHECK(tether.metric("tether_connections_closed_total{reason=\"client_closed\"}") == 1);
    CHECK(tether.metric("tether_orphans_closed_total") == 1);
    // The queued write ended through its callback (cancelled or failed), not dropped.
    const auto& counts = tether.counts();
    CHECK(counts.writes_queued == queued);
    CHECK(counts.write == counts.writes_queued);
    // A result was still streaming: the server gets no COM_QUIT, only the close.
    CHECK(server.saw_end());
    CHECK(server.packets().size() == 2);  // the login and the query, nothing after them
    CHECK_FALSE(ends_with_com_quit(server.received()));
    CHECK(client.connect_callbacks() == 1);
    CHECK(client.close_callbacks() == 1);
    // What the client read is the result's first bytes, in order.
    const Bytes result = large_result(512, 16 * 1024);
    const std::size_t greeting_and_ok = greeting().size() + ok_after_login().size();
    REQUIRE(received > greeting_and_ok);
    CHECK(std::equal(client.received().begin() + static_cast<std::ptrdiff_t>(greeting_and_ok), client.received().end(),
                     result.begin()));
    end_test(loop, tether, upstream);
}

TEST_CASE("a server that stops reading and resets while tether has a large write queued to it") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login(), 4096);
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    upstream.push(accepting_login().stop_reading().hold());
    TestClient client(loop, tether.port());
    log_in(loop, client);
    // 4 MiB in one COM_QUERY: more than the kernel's buffers between tether
    // and a server that reads 4 KiB at most and then nothing.
    client.send(large_com_query(4 << 20));
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued > 0; }));
    const auto queued = tether.counts().writes_queued;

    FakeUpstream::Peer& server = upstream.peer(1);
    server.reset_now();
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    CHECK(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"upstream_closed\"}") == 1; }));
    const auto& counts = tether.counts();
    CHECK(counts.writes_queued == queued);
    CHECK(counts.write == counts.writes_queued);
    // The client saw its connection end, and its own queued write ended too.
    CHECK(client.saw_end());
    CHECK(client.write_callbacks() == client.writes_started());
    CHECK(client.close_callbacks() == 1);
    end_test(loop, tether, upstream);
}

TEST_CASE("an admin close of a session whose client has stopped reading a large result ends it at once") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    upstream.push(streaming_large_result());
    TestClient client(loop, tether.port(), 4096);
    back_up_large_result(loop, client, tether);
    const auto rows = tether.proxy().connections({}).rows;
    REQUIRE(rows.size() == 1);

    // The client never reads again: waiting for its queue to drain would keep the session forever.
    CHECK(tether.proxy().close_connection(rows[0].id));
    REQUIRE(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"admin\"}") == 1; }));
    CHECK(tether.proxy().connections({}).total == 0);
    const auto& counts = tether.counts();
    CHECK(counts.write_cancelled >= 1);
    CHECK(counts.write == counts.writes_queued);
    FakeUpstream::Peer& server = upstream.peer(1);
    REQUIRE(loop.run_until([&] { return server.closed(); }));
    CHECK_FALSE(ends_with_com_quit(server.received()));  // the result was still streaming
    client.start_reading();  // only a client that reads sees its connection end
    CHECK(loop.run_until([&] { return client.closed(); }));
    end_test(loop, tether, upstream);
}
