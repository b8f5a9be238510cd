// The steps every io test repeats: what the fake upstream says to a login,
// and a raw client logging in through tether.
#pragma once

#include "fake_upstream.hpp"
#include "proxy_under_test.hpp"
#include "test_client.hpp"
#include "test_loop.hpp"

namespace tether::io::test {

// Greets, takes the login, answers OK: the start of a logged-in session.
Script accepting_login();
// Greets, takes the login, answers ERR 1045: what a server says to tether's
// reserved-user login (the readiness probe, an abandoned handshake finished).
Script refusing_login();
// Runs the loop until the fake upstream has accepted `n` sockets in all (the
// readiness probe Proxy::start() sends is the first).
void await_accepted(TestLoop& loop, FakeUpstream& upstream, std::size_t n);
// Waits for tether's greeting, sends the login, waits for the OK.
void log_in(TestLoop& loop, TestClient& client);
// A logged-in session whose next query gets 8 MiB of rows: far more than the
// kernel's buffers between tether and a client that reads 4 KiB at most.
Script streaming_large_result();
// Logs `client` in, stops its reading, sends that query, and waits until
// tether's write to it is queued (backed up).
void back_up_large_result(TestLoop& loop, TestClient& client, ProxyUnderTest& tether);
// Shuts tether down (unless the test already stopped it), closes the fake
// upstream, and checks that every socket and handle closed and the loop
// closes clean.
void end_test(TestLoop& loop, ProxyUnderTest& tether, FakeUpstream& upstream);

}  // namespace tether::io::test
