// accept() failing for want of a descriptor (EMFILE), on a real loop: the
// waiting client gets tether's ERR 1040 through the spare descriptor, the
// failure is counted once, and the next client is served once descriptors are
// back. Meant to run under AddressSanitizer too.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/fake_upstream.hpp"
#include "support/mysql_bytes.hpp"
#include "support/proxy_under_test.hpp"
#include "support/sessions.hpp"
#include "support/test_client.hpp"
#include "support/test_loop.hpp"

using namespace tether::io::test;

namespace {

// Lowers the soft RLIMIT_NOFILE to the lowest free descriptor number, so the
// next descriptor this process asks for fails with EMFILE; restores it on
// destruction (also when a REQUIRE throws).
class NoFreeDescriptors {
public:
    NoFreeDescriptors() {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        const int lowest_free = ::dup(0);
        REQUIRE(lowest_free >= 0);
        ::close(lowest_free);
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
        REQUIRE(::dup(0) == -1);
    }
    NoFreeDescriptors(const NoFreeDescriptors&) = delete;
    NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;
    ~NoFreeDescriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

private:
    rlimit saved_{};
};

}  // namespace

TEST_CASE("accept failing with EMFILE: the waiting client gets ERR 1040, and the next one is served") {
    TestLoop loop;
    FakeUpstream upstream(loop, refusing_login());
    ProxyUnderTest tether(loop, {"--upstream", upstream.address()});
    await_accepted(loop, upstream, 1);
    const std::size_t probe_and_before = upstream.accepted();
    TestClient refused(loop, tether.port());  // its socket exists; tether's accept needs one more
    {
        NoFreeDescriptors limit;
        REQUIRE(loop.run_until([&] { return refused.closed(); }));
    }
    REQUIRE(refused.packet(0).has_value());
    CHECK(err_code(*refused.packet(0)) == 1040);
    CHECK(tether.metric("tether_accept_errors_total{error=\"EMFILE\"}") == 1);
    CHECK(upstream.accepted() == probe_and_before);  // no server connection for it

    upstream.push(accepting_login());
    TestClient served(loop, tether.port());
    log_in(loop, served);
    CHECK(tether.sessions_in("idle") == 1);
    served.close();
    REQUIRE(loop.run_until([&] { return served.closed() && tether.sessions_in("idle") == 0; }));
    REQUIRE(tether.shut_down());
    upstream.close();
    CHECK(loop.run_until([&] { return upstream.all_closed(); }));
    loop.close_cleanly();
}
