// The steps every io test repeats: what the fake upstream says to a login,
// and a raw client logging in through tether.
#pragma once

#include "fake_upstream.hpp"
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

}  // namespace tether::io::test
