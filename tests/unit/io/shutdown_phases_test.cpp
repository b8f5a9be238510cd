// Shutdown with a session in every phase (waiting for a handshake slot,
// awaiting the greeting, awaiting the login, authenticating, idle, a query in
// flight, a large result backed up to a client that does not read): both the
// drain (SIGTERM, then the grace runs out) and shutdown_now end with every
// session closed, the server told COM_QUIT where the rules say so, every
// handle closed and uv_loop_close() == 0. Meant to run under AddressSanitizer too.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

namespace {

// The sessions, one per phase, and the fake server's socket for each (the
// waiter has none).
struct EveryPhase {
    std::unique_ptr<TestClient> idle, query, streaming, awaiting_greeting, awaiting_login, authenticating, waiting;
    std::size_t idle_peer = 0, query_peer = 0, streaming_peer = 0, greeting_peer = 0, login_peer = 0, auth_peer = 0;
};

Bytes access_denied() { return err(2, 1045, "28000", "Access denied"); }

EveryPhase open_every_phase(TestLoop& loop, ProxyUnderTest& tether, FakeUpstream& upstream) {
    EveryPhase s;
    std::size_t accepted = upstream.accepted();
    const auto next_session = [&](Script script, int receive_buffer = 0) {
        upstream.push(std::move(script));
        auto client = std::make_unique<TestClient>(loop, tether.port(), receive_buffer);
        await_accepted(loop, upstream, ++accepted);
        return client;
    };
    s.idle_peer = accepted;
    s.idle = next_session(accepting_login());
    log_in(loop, *s.idle);

    s.query_peer = accepted;
    s.query = next_session(accepting_login().expect_packet().hold());
    log_in(loop, *s.query);
    s.query->send(com_query("SELECT SLEEP(10)"));

    s.streaming_peer = accepted;
    s.streaming = next_session(accepting_login().expect_packet().send(large_result(512, 16 * 1024)), 4096);
    log_in(loop, *s.streaming);
    s.streaming->stop_reading();
    s.streaming->send(com_query("SELECT payload FROM big"));
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued > 0; }));

    // Three sessions in their handshake: --max-handshakes 3 is then full.
    s.greeting_peer = accepted;
    s.awaiting_greeting = next_session(Script().hold().send(greeting()).expect_packet().send(access_denied()));
    s.login_peer = accepted;
    s.awaiting_login = next_session(Script().send(greeting()).expect_packet().send(access_denied()));
    REQUIRE(loop.run_until([&] { return s.awaiting_login->packet(0).has_value(); }));
    s.auth_peer = accepted;
    s.authenticating = next_session(Script().send(greeting()).expect_packet().hold().send(ok_after_login()));
    REQUIRE(loop.run_until([&] { return s.authenticating->packet(0).has_value(); }));
    s.authenticating->send(login());
    REQUIRE(loop.run_until([&] { return tether.sessions_in("authenticating") == 1; }));

    s.waiting = std::make_unique<TestClient>(loop, tether.port());
    REQUIRE(loop.run_until([&] { return tether.metric("tether_handshake_queue_length") == 1; }));

    CHECK(tether.sessions_in("idle") == 1);
    CHECK(tether.sessions_in("query") == 2);
    // The server that holds its greeting accepted the connect: a tick confirms it without a byte.
    CHECK(loop.run_until([&] { return tether.sessions_in("awaiting_greeting") == 1; }));
    CHECK(tether.sessions_in("awaiting_login") == 1);
    CHECK(tether.sessions_in("authenticating") == 1);
    return s;
}

// The servers held back answer now (as a real server would, on its own time),
// so tether can finish those handshakes; then everything ends.
void expect_everything_closed(TestLoop& loop, ProxyUnderTest& tether, FakeUpstream& upstream, EveryPhase& s) {
    upstream.peer(s.greeting_peer).resume();
    upstream.peer(s.auth_peer).resume();
    REQUIRE(loop.run_until([&] { return tether.stopped(); }));
    s.streaming->start_reading();  // only a client that reads sees its connection end
    for (TestClient* c : {s.idle.get(), s.query.get(), s.streaming.get(), s.awaiting_greeting.get(),
                          s.awaiting_login.get(), s.authenticating.get(), s.waiting.get()}) {
        CHECK(loop.run_until([&] { return c->closed(); }));
        CHECK(c->saw_end());
        CHECK(c->close_callbacks() == 1);
    }
    for (std::size_t i = 1; i < upstream.accepted(); ++i) {
        CAPTURE(i);
        CHECK(loop.run_until([&] { return upstream.peer(i).closed(); }));
        CHECK(upstream.peer(i).saw_end());
    }
    // Idle, and logged in at the end of its auth exchange: COM_QUIT, so the
    // server counts a clean quit. In flight: closed without one.
    CHECK(ends_with_com_quit(upstream.peer(s.idle_peer).received()));
    CHECK(ends_with_com_quit(upstream.peer(s.auth_peer).received()));
    CHECK_FALSE(ends_with_com_quit(upstream.peer(s.query_peer).received()));
    CHECK_FALSE(ends_with_com_quit(upstream.peer(s.streaming_peer).received()));
    // The handshakes the clients left unfinished were finished by tether: one login each.
    CHECK(upstream.peer(s.greeting_peer).packets().size() == 1);
    CHECK(upstream.peer(s.login_peer).packets().size() == 1);
    CHECK(tether.metric("tether_handshake_queue_length") == 0);
    CHECK(tether.proxy().connections({}).total == 0);
    const auto& counts = tether.counts();
    CHECK(counts.write == counts.writes_queued);
    upstream.close();
    CHECK(loop.run_until([&] { return upstream.all_closed(); }));
    loop.close_cleanly();
}

const std::vector<std::string> flags(const FakeUpstream& upstream) {
    return {"--upstream", upstream.address(), "--max-handshakes", "3", "--shutdown-grace", "100ms"};
}

}  // namespace

TEST_CASE("shutdown_now with a session in every phase") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, flags(upstream));
    await_accepted(loop, upstream, 1);
    EveryPhase sessions = open_every_phase(loop, tether, upstream);
    tether.proxy().shutdown_now();
    CHECK(tether.metric("tether_handshake_queue_length") == 0);  // waiters go at once
    expect_everything_closed(loop, tether, upstream, sessions);
}

TEST_CASE("drain with a session in every phase: new clients are refused at once, the rest close when the grace ends") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, flags(upstream));
    await_accepted(loop, upstream, 1);
    EveryPhase sessions = open_every_phase(loop, tether, upstream);
    tether.proxy().drain();
    CHECK_FALSE(tether.proxy().ready());
    TestClient late(loop, tether.port());
    REQUIRE(loop.run_until([&] { return late.closed(); }));
    CHECK(late.received().empty());  // the kernel refused it: the listener is closed
    expect_everything_closed(loop, tether, upstream, sessions);
}
