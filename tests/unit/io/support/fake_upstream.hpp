// A scripted stand-in for the server, on the test's loop: a libuv TCP server
// on 127.0.0.1 port 0 that plays a script of steps on every socket it
// accepts (send these bytes, expect N bytes or one packet, stop reading,
// hold, close, reset). Not a MySQL mock: it knows packet framing and nothing
// else; the bytes it sends are the test's (real ones from tests/fixtures/mysql).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "test_loop.hpp"

namespace tether::io::test {

using Bytes = std::vector<std::byte>;

class Script {
public:
    struct Step {
        enum class Kind { send, expect_bytes, expect_packet, stop_reading, start_reading, hold, close, reset };
        Kind kind;
        Bytes bytes;           // send
        std::size_t size = 0;  // expect_bytes
    };

    Script& send(Bytes bytes) { return add({Step::Kind::send, std::move(bytes), 0}); }
    Script& expect_bytes(std::size_t n) { return add({Step::Kind::expect_bytes, {}, n}); }
    // One whole packet (header and payload), whatever its size.
    Script& expect_packet() { return add({Step::Kind::expect_packet, {}, 0}); }
    // The kernel's buffers fill up and the sender's writes back up.
    Script& stop_reading() { return add({Step::Kind::stop_reading, {}, 0}); }
    Script& start_reading() { return add({Step::Kind::start_reading, {}, 0}); }
    // Stops here until the test calls FakeUpstream::Peer::resume().
    Script& hold() { return add({Step::Kind::hold, {}, 0}); }
    // FIN once what was sent is written, then the handle closes.
    Script& close() { return add({Step::Kind::close, {}, 0}); }
    // SO_LINGER 0 and close: the peer gets a TCP reset; unsent bytes are dropped.
    Script& reset() { return add({Step::Kind::reset, {}, 0}); }

    [[nodiscard]] const std::vector<Step>& steps() const { return steps_; }

private:
    Script& add(Step step) {
        steps_.push_back(std::move(step));
        return *this;
    }
    std::vector<Step> steps_;
};

class FakeUpstream {
public:
    // One accepted socket and where it is in its script. After the last step
    // it keeps reading (unless stopped) and closes when the other side does.
    class Peer {
    public:
        [[nodiscard]] const Bytes& received() const { return received_; }
        // The complete packets read by expect_packet steps, in order.
        [[nodiscard]] const std::vector<Bytes>& packets() const { return packets_; }
        [[nodiscard]] bool at_hold() const { return held_; }
        [[nodiscard]] bool script_done() const { return next_ >= script_.steps().size() && !held_; }
        // The other side ended the stream (EOF) or reset it (an error).
        [[nodiscard]] bool saw_end() const { return end_status_ != 0; }
        [[nodiscard]] bool saw_eof() const { return end_status_ == UV_EOF; }
        [[nodiscard]] bool closed() const { return closed_; }
        [[nodiscard]] std::size_t writes_completed() const { return writes_completed_; }
        [[nodiscard]] std::size_t writes_pending() const { return writes_started_ - writes_completed_; }
        // Carries on with the step after a hold.
        void resume();
        // Ends now, whatever the script says.
        void reset_now();

    private:
        friend class FakeUpstream;
        struct Write;
        Peer(FakeUpstream& server, Script script) : server_(server), script_(std::move(script)) {}
        void play();
        bool expectation_met();
        void read_start();
        void write(const Bytes& bytes);
        void close_handle();
        static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
        static void write_cb(uv_write_t* req, int status);
        static void shutdown_cb(uv_shutdown_t* req, int status);
        static void close_cb(uv_handle_t* handle);

        FakeUpstream& server_;
        Script script_;
        uv_tcp_t tcp_{};
        std::size_t next_ = 0;
        bool held_ = false;
        bool reading_ = false;
        bool closing_ = false;
        bool closed_ = false;
        bool detached_ = false;  // its FakeUpstream is gone: the close callback frees it
        Bytes received_;
        std::size_t consumed_ = 0;  // of received_, by expect steps
        std::vector<Bytes> packets_;
        int end_status_ = 0;
        std::size_t writes_started_ = 0;
        std::size_t writes_completed_ = 0;
        char buffer_[64 * 1024];
    };

    // Sockets get the scripts given to push() in the order they are accepted,
    // then `fallback` once none is left. `receive_buffer` > 0 sets SO_RCVBUF on
    // the listener (accepted sockets inherit it), so a script that stops
    // reading backs tether's writes up after a few KiB.
    FakeUpstream(TestLoop& loop, Script fallback, int receive_buffer = 0);
    FakeUpstream(const FakeUpstream&) = delete;
    FakeUpstream& operator=(const FakeUpstream&) = delete;
    ~FakeUpstream();

    void push(Script script) { scripts_.push_back(std::move(script)); }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::size_t accepted() const { return peers_.size(); }
    Peer& peer(std::size_t i) { return *peers_.at(i); }
    // Every accepted socket's handle has closed.
    [[nodiscard]] bool all_closed() const;
    [[nodiscard]] std::size_t close_callbacks() const { return close_callbacks_; }
    // Stops listening and resets every socket still open.
    void close();

private:
    static void connection_cb(uv_stream_t* server, int status);

    TestLoop& loop_;
    Script fallback_;
    std::deque<Script> scripts_;
    uv_tcp_t* listener_;  // on the heap: a test that fails early may leave its close to the loop
    bool listener_closed_ = false;
    bool listener_close_done_ = false;
    int port_ = 0;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::size_t close_callbacks_ = 0;
};

}  // namespace tether::io::test
