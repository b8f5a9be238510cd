// A write the kernel does not take at once owns a copy of its bytes until its
// callback: tether reads every socket into one shared buffer, so a queued
// write that pointed into it would send whatever the next read brought.
// Meant to run under AddressSanitizer too.
#include <doctest/doctest.h>

#include <algorithm>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

TEST_CASE("two results backed up at once: each slow client gets its own bytes") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    const Bytes result_a = large_result(512, 16 * 1024, 'a');
    const Bytes result_b = large_result(512, 16 * 1024, 'b');
    upstream.push(accepting_login().expect_packet().send(result_a));
    upstream.push(accepting_login().expect_packet().send(result_b));
    TestClient a(loop, tether.port(), 4096);
    await_accepted(loop, upstream, 2);
    log_in(loop, a);
    TestClient b(loop, tether.port(), 4096);
    await_accepted(loop, upstream, 3);
    log_in(loop, b);
    a.stop_reading();
    b.stop_reading();
    a.send(com_query("SELECT payload FROM a"));
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued == 1; }));
    // While a's write waits, b's result is read through the same buffer.
    b.send(com_query("SELECT payload FROM b"));
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued == 2; }));
    // Both read their whole result: it must be theirs, byte for byte.
    a.start_reading();
    b.start_reading();
    const std::size_t before = greeting().size() + ok_after_login().size();
    REQUIRE(loop.run_until([&] {
        return a.received().size() >= before + result_a.size() && b.received().size() >= before + result_b.size();
    }));
    for (auto [client, result] : {std::pair{&a, &result_a}, std::pair{&b, &result_b}}) {
        const Bytes& got = client->received();
        REQUIRE(got.size() == before + result->size());
        CHECK(std::equal(got.begin() + static_cast<std::ptrdiff_t>(before), got.end(), result->begin()));
    }
    CHECK(tether.sessions_in("idle") == 2);  // both results ended where the sessions expected
    const auto& counts = tether.counts();
    CHECK(counts.write_cancelled == 0);
    a.close();
    b.close();
    REQUIRE(loop.run_until([&] { return tether.proxy().connections({}).total == 0; }));
    CHECK(counts.write == counts.writes_queued);
    REQUIRE(tether.shut_down());
    upstream.close();
    CHECK(loop.run_until([&] { return upstream.all_closed(); }));
    loop.close_cleanly();
}
