// What every Connection of one Proxy reports about its libuv callbacks and
// synchronous libuv failures: plain counts (always on, one increment each) and
// an optional hook. The io tests read them to see inside Connection, and use
// the hook to re-enter the Proxy from inside a running callback.
#pragma once

#include <cstdint>
#include <functional>

namespace tether::io {

class Connection;

enum class ConnectionCallback : std::uint8_t { connect, read, write, close };

struct ConnectionCallbackCounts {
    // Upstream connects confirmed or failed: a TCP one by its first read or a
    // tick (upstream_connect.cpp), a unix one by its connect callback.
    std::uint64_t connect = 0;
    std::uint64_t read = 0;               // read callbacks (nread 0 and errors included)
    std::uint64_t write = 0;              // queued writes completed (any status)
    std::uint64_t write_cancelled = 0;    // ... of them with UV_ECANCELED (their handle closed first)
    std::uint64_t close = 0;              // handle close callbacks
    std::uint64_t writes_queued = 0;      // uv_write requests started (the kernel did not take it all at once)
    std::uint64_t write_failed_at_once = 0;    // uv_try_write or uv_write returned an error
    std::uint64_t connect_failed_at_once = 0;  // connect() or uv_pipe_connect failed inside the call
    std::uint64_t finished = 0;           // Connections handed back to the Proxy (deleted)
};

class ConnectionCallbacks {
public:
    // Called inside a Connection's libuv callback, after its own handling and
    // while its EntryGuard still holds it: whatever the hook does to the
    // Connection (close it, shut the Proxy down) is a re-entry libuv allows.
    using Hook = std::function<void(Connection&, ConnectionCallback)>;

    void set_hook(Hook hook) { hook_ = std::move(hook); }
    [[nodiscard]] const ConnectionCallbackCounts& counts() const { return counts_; }
    ConnectionCallbackCounts& counts() { return counts_; }

    void ran(Connection& connection, ConnectionCallback callback) {
        switch (callback) {
            case ConnectionCallback::connect: ++counts_.connect; break;
            case ConnectionCallback::read: ++counts_.read; break;
            case ConnectionCallback::write: ++counts_.write; break;
            case ConnectionCallback::close: ++counts_.close; break;
        }
        if (hook_) hook_(connection, callback);
    }

private:
    ConnectionCallbackCounts counts_;
    Hook hook_;
};

}  // namespace tether::io
