// libuv calls that fail at once, inside the call rather than in a callback:
// uv_try_write on a socket whose peer has reset, and uv_tcp_connect to an
// address the kernel rejects before any packet (accept() out of descriptors:
// accept_failure_test.cpp). Each ends with the client told why (an ERR packet)
// or closed, the Connection finished, and every handle closed. Meant to run
// under AddressSanitizer too.
#include <doctest/doctest.h>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

TEST_CASE("uv_try_write failing at once on a reset client: the waiter refused at its timeout finishes") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    // One handshake slot, held by a session whose server has not greeted yet:
    // the second client waits in the queue and is refused at its timeout.
    ProxyUnderTest tether(loop, {"--upstream", upstream.address(), "--max-handshakes", "1", "--handshake-timeout", "300ms"});
    await_accepted(loop, upstream, 1);
    upstream.push(Script().hold());
    TestClient holder(loop, tether.port());
    await_accepted(loop, upstream, 2);
    TestClient waiter(loop, tether.port());
    REQUIRE(loop.run_until([&] { return tether.metric("tether_handshake_queue_length") == 1; }));
    // tether holds what a waiter sends up to 4 KiB, then stops reading it...
    waiter.send(Bytes(8192, std::byte{'z'}));
    REQUIRE(loop.run_until([&] {
        for (const auto& row : tether.proxy().connections({}).rows) {
            if (row.bytes_from_client == tether::io::Connection::max_waiting_bytes) return true;
        }
        return false;
    }));
    // ...so it does not see this reset: the ERR it writes at the timeout fails at once.
    waiter.reset();
    loop.turn();
    CHECK(tether.metric("tether_handshake_queue_length") == 1);
    CHECK(tether.counts().write_failed_at_once == 0);

    REQUIRE(loop.run_until([&] { return tether.counts().write_failed_at_once == 1; }));
    CHECK(loop.run_until([&] { return tether.metric("tether_connections_closed_total{reason=\"rejected\"}") == 1; }));
    CHECK(tether.metric("tether_handshake_queue_length") == 0);
    CHECK(tether.metric("tether_rejected_connections_total{client=\"\",limit=\"handshakes\",user=\"\"}") == 1);
    CHECK(tether.counts().writes_queued == 0);  // nothing was left for a callback

    // The slot holder's server never greeted: it ends at the same timeout.
    REQUIRE(loop.run_until([&] { return holder.closed() && upstream.peer(1).closed(); }));
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_unreachable\"}") == 1);
    REQUIRE(tether.shut_down());
    upstream.close();
    CHECK(loop.run_until([&] { return upstream.all_closed(); }));
    loop.close_cleanly();
}

TEST_CASE("uv_tcp_connect failing at once: the client gets an ERR as its first packet") {
    TestLoop loop;
    // A multicast address: the kernel refuses a TCP connect to it inside the
    // call (ENETUNREACH), before any packet is sent.
    ProxyUnderTest tether(loop, {"--upstream", "224.0.0.1:3306"});
    CHECK(tether.counts().connect_failed_at_once == 1);  // the readiness probe, inside Proxy::start
    TestClient client(loop, tether.port());
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    REQUIRE(client.packet(0).has_value());
    CHECK(err_code(*client.packet(0)) != 0);
    CHECK((*client.packet(0))[3] == std::byte{0});  // in place of the greeting: sequence id 0
    const auto& counts = tether.counts();
    CHECK(counts.connect_failed_at_once == 2);
    CHECK(counts.connect == 0);  // failed at once: no callback
    CHECK(counts.finished == 2);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_unreachable\"}") == 1);
    CHECK_FALSE(tether.proxy().ready());
    CHECK(client.connect_callbacks() == 1);
    CHECK(client.close_callbacks() == 1);
    REQUIRE(tether.shut_down());
    loop.close_cleanly();
}
