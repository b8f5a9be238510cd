// libFuzzer target for tether's monitor session (monitor::MonitorSession): the
// server's bytes are untrusted like any other.
//
// Input layout (tests/fuzz/make_seeds.py writes seeds in it): byte 0 picks the
// settings (bits 0-1: TLS disabled / preferred / required; bit 2: tiny result
// bounds), then events, each an op byte:
//   0: feed the next (u16 length) bytes as server bytes; 1: the TLS handshake
//   completed; 2: it completed untrusted; 3: it failed; 4: the server closed;
//   5: send a query (when ready); 6: quit.
// Checked after every step: everything sent is whole packets; a TLS start only
// when TLS is wanted; one login; at most one result per query sent; after the
// session's end nothing more comes out; with TLS required and not negotiated,
// no login but the reserved user's is sent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet.hpp"
#include "tether/monitor/monitor_session.hpp"

namespace {

using namespace tether;
using tether::fuzz::InputReader;

void check_whole_packets(const std::vector<std::byte>& bytes) {
    codec::Bytes rest(bytes);
    while (!rest.empty()) {
        const auto packet = codec::decode_packet(rest);
        FUZZ_CHECK(packet.ok());
        rest = rest.subspan(packet.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    InputReader in({reinterpret_cast<const std::byte*>(data), size});
    const std::uint8_t mode = in.u8();
    monitor::MonitorSettings settings;
    settings.user = "monitor";
    settings.password = monitor::Secret("monitorpw");
    settings.tls = (mode & 3) == 1 ? monitor::TlsWish::preferred
                   : (mode & 3) == 2 ? monitor::TlsWish::required
                                     : monitor::TlsWish::disabled;
    if ((mode & 4) != 0) {
        settings.max_result_bytes = 64;
        settings.max_result_rows = 2;
    }
    const bool tls_required = settings.tls == monitor::TlsWish::required;
    const bool tls_wanted = settings.tls != monitor::TlsWish::disabled;
    monitor::MonitorSession session(std::move(settings));
    bool ended = false;
    bool logged_in = false;
    int queries_unanswered = 0;
    int steps = 0;
    while (!in.empty() && ++steps < 256) {
        monitor::MonitorOutput out;
        switch (in.u8() % 7) {
            case 0: session.on_server_bytes(in.take(in.u16()), out); break;
            case 1: session.on_tls_ready(out); break;
            case 2: session.on_tls_failed("untrusted", true, out); break;
            case 3: session.on_tls_failed("failed", false, out); break;
            case 4: session.on_closed("", out); break;
            case 5:
                if (session.ready()) {
                    session.send_query("SELECT 1", out);
                    ++queries_unanswered;
                }
                break;
            case 6: session.quit(out); break;
        }
        if (ended) {
            FUZZ_CHECK(out.to_server.empty() && !out.failure && !out.logged_in && out.results.empty());
            continue;
        }
        check_whole_packets(out.to_server);
        if (out.start_tls) FUZZ_CHECK(tls_wanted);
        if (out.logged_in) {
            FUZZ_CHECK(!logged_in);
            logged_in = true;
        }
        queries_unanswered -= static_cast<int>(out.results.size());
        FUZZ_CHECK(queries_unanswered >= 0);
        if (tls_required && !session.tls_negotiated() && !out.to_server.empty()) {
            const auto packet = codec::decode_packet(out.to_server);
            const auto login = codec::decode_login(packet.value.payload);
            if (login.ok()) FUZZ_CHECK(login.value.user != "monitor");
        }
        if (out.failure || out.close) {
            FUZZ_CHECK(session.closed());
            ended = true;
        }
    }
    return 0;
}
