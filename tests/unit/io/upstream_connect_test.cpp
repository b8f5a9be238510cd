// A TCP connect to the server is confirmed by the server's first read, not
// by writability (src/io/upstream_connect.cpp): a refused connect must still
// be told from a server that accepted and then closed, and a server that
// accepts but does not greet must still count as connected.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

namespace {

// A port on 127.0.0.1 that refuses connects (bound, never listening) for as
// long as this lives, so no other test's listener can take it meanwhile.
class RefusingPort {
public:
    RefusingPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
    }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;
    ~RefusingPort() { ::close(fd_); }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace

TEST_CASE("a refused connect reaches the first read as its error: the server is unreachable, the client gets an ERR") {
    TestLoop loop;
    RefusingPort refusing;
    ProxyUnderTest tether(loop, {"--upstream", refusing.address()});
    TestClient client(loop, tether.port());
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    REQUIRE(client.packet(0).has_value());
    CHECK(err_code(*client.packet(0)) != 0);
    CHECK((*client.packet(0))[3] == std::byte{0});  // in place of the greeting: sequence id 0
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_unreachable\"}") == 1);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_closed\"}") == 0);
    CHECK(tether.metric("tether_upstream_connections") == 0);
    const auto& counts = tether.counts();
    CHECK(counts.connect_failed_at_once == 0);  // connect() said EINPROGRESS: the refusal came later
    CHECK(counts.connect == 2);                 // the readiness probe's and the client's, each failed
    CHECK_FALSE(tether.proxy().ready());
    REQUIRE(tether.shut_down());
    loop.close_cleanly();
}

TEST_CASE("a server that accepts and says nothing yet is connected all the same: a tick confirms it") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);  // the readiness probe
    REQUIRE(loop.run_until([&] { return tether.proxy().ready(); }));
    upstream.push(Script().hold().send(greeting()).expect_packet().send(err(2, 1045, "28000", "Access denied for user 'root'")));
    TestClient client(loop, tether.port());
    await_accepted(loop, upstream, 2);
    REQUIRE(loop.run_until([&] { return tether.sessions_in("awaiting_greeting") == 1; }));
    CHECK(tether.metric("tether_upstream_connections") == 1);
    CHECK(tether.counts().connect == 2);
    CHECK(upstream.peer(1).received().empty());
    CHECK_FALSE(client.packet(0).has_value());
    // The greeting comes after all: the session goes on from where the tick put it.
    upstream.peer(1).resume();
    REQUIRE(loop.run_until([&] { return client.packet(0).has_value(); }));
    CHECK(is_greeting(*client.packet(0)));
    CHECK(tether.counts().connect == 2);  // its first read confirmed nothing twice
    client.send(login());
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    CHECK(tether.metric("tether_connections_closed_total{reason=\"auth_failed\"}") == 1);
    end_test(loop, tether, upstream);
}

TEST_CASE("a server that accepts and closes without a byte was connected: the session ends as upstream_closed") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    REQUIRE(loop.run_until([&] { return tether.proxy().ready(); }));
    upstream.push(Script().close());
    TestClient client(loop, tether.port());
    REQUIRE(loop.run_until([&] { return client.closed(); }));
    REQUIRE(client.packet(0).has_value());
    CHECK(err_code(*client.packet(0)) != 0);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_closed\"}") == 1);
    CHECK(tether.metric("tether_connections_closed_total{reason=\"upstream_unreachable\"}") == 0);
    CHECK(tether.counts().connect == 2);
    CHECK(tether.metric("tether_upstream_connections") == 0);  // counted when confirmed, uncounted at its close
    end_test(loop, tether, upstream);
}
