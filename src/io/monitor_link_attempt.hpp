// MonitorLink's private parts, shared by its two files: one connection
// attempt (handle, TLS engine, session), its requests, and the link's timings.
#pragma once

#include <netinet/in.h>
#include <openssl/crypto.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tether/io/monitor_link.hpp"
#include "tether/io/stream_handle.hpp"
#include "tether/tls/engine.hpp"
#include "uv_text.hpp"

namespace tether::io {

namespace monitor_link_detail {

inline constexpr auto initial_backoff = std::chrono::milliseconds(1000);
inline constexpr auto max_backoff = std::chrono::milliseconds(30'000);
// A request waits this long for a link that is down, then is answered with an error.
inline constexpr auto request_wait_limit = std::chrono::seconds(10);
// The server must answer a query within this (a KILL or a status read takes milliseconds).
inline constexpr auto answer_limit = std::chrono::seconds(10);
inline constexpr auto password_check_interval = std::chrono::seconds(2);
inline constexpr std::size_t tls_plaintext_size = 16 * 1024;
inline constexpr std::size_t tls_ciphertext_size = 64 * 1024;

using io::address_text;
using io::uv_message;


inline std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + "s";
}

}  // namespace monitor_link_detail

// One connection to the server: its handle (at a stable heap address until
// its close callback, which deletes it), the TLS engine and the session.
struct MonitorLink::Attempt {
    explicit Attempt(MonitorLink* owner_link, monitor::MonitorSettings settings)
        : link(owner_link), owner(owner_link), session(std::move(settings)) {}
    MonitorLink* link;   // null once abandoned: its callbacks only clean up
    MonitorLink* owner;  // never null: the link outlives every handle (the loop ends first)
    StreamHandle uv{};
    uv_connect_t connect{};
    bool connected = false;
    bool closing = false;
    bool close_after_write = false;
    int pending_writes = 0;
    std::string address;  // for the log
    session::Clock::time_point deadline{};  // the connect and login, or the answer in flight, must end by then
    std::unique_ptr<tls::Engine> tls;
    monitor::MonitorSession session;
};

struct MonitorLink::Resolve {
    MonitorLink* link;
    uv_getaddrinfo_t req{};
};

// A write's bytes live here until its callback; wiped then (a login or a
// password sent inside TLS passes through them).
struct MonitorLink::WriteRequest {
    uv_write_t req{};
    Attempt* attempt = nullptr;
    std::vector<std::byte> bytes;
    ~WriteRequest() {
        if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    }
};

}  // namespace tether::io
