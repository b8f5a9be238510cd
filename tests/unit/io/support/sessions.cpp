// Common session steps (see sessions.hpp).
#include "sessions.hpp"

#include <doctest/doctest.h>

#include "mysql_bytes.hpp"

namespace tether::io::test {

Script accepting_login() { return Script().send(greeting()).expect_packet().send(ok_after_login()); }

Script refusing_login() {
    return Script().send(greeting()).expect_packet().send(
        err(2, 1045, "28000", "Access denied for user 'tether_abort_login'@'localhost' (using password: YES)"));
}

void await_accepted(TestLoop& loop, FakeUpstream& upstream, std::size_t n) {
    REQUIRE(loop.run_until([&] { return upstream.accepted() >= n; }));
}

void log_in(TestLoop& loop, TestClient& client) {
    REQUIRE(loop.run_until([&] { return client.packet(0).has_value() || client.saw_end(); }));
    REQUIRE(is_greeting(*client.packet(0)));
    client.send(login());
    REQUIRE(loop.run_until([&] { return client.packet(1).has_value() || client.saw_end(); }));
    REQUIRE(err_code(*client.packet(1)) == 0);
    REQUIRE((*client.packet(1))[4] == std::byte{0x00});  // OK
}

Script streaming_large_result() { return accepting_login().expect_packet().send(large_result(512, 16 * 1024)); }

void back_up_large_result(TestLoop& loop, TestClient& client, ProxyUnderTest& tether) {
    log_in(loop, client);
    client.stop_reading();
    client.send(com_query("SELECT payload FROM big"));
    REQUIRE(loop.run_until([&] { return tether.counts().writes_queued > 0; }));
}

void end_test(TestLoop& loop, ProxyUnderTest& tether, FakeUpstream& upstream) {
    if (!tether.stopped()) REQUIRE(tether.shut_down());
    upstream.close();
    CHECK(loop.run_until([&] { return upstream.all_closed(); }));
    CHECK(upstream.close_callbacks() == upstream.accepted());
    loop.close_cleanly();
}

}  // namespace tether::io::test
