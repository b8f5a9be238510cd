// A raw MySQL client socket on the test's loop: connects to tether over TCP,
// sends what the test gives it, keeps what it reads, and counts its own
// connect, write and close callbacks. It closes its handle when the other
// side ends the stream, as a client would.
#pragma once

#include <uv.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "test_loop.hpp"

namespace tether::io::test {

using Bytes = std::vector<std::byte>;

class TestClient {
public:
    // `receive_buffer` > 0 sets SO_RCVBUF before connecting, so that a client
    // that stops reading backs tether's writes up after a few KiB.
    TestClient(TestLoop& loop, int port, int receive_buffer = 0);
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;
    ~TestClient();

    void send(const Bytes& bytes);
    void stop_reading();
    void start_reading();
    // FIN after what was sent, then the handle closes.
    void close();
    // SO_LINGER 0 and close: tether gets a TCP reset.
    void reset();

    [[nodiscard]] bool connected() const { return state_->connected; }
    [[nodiscard]] const Bytes& received() const { return state_->received; }
    // The bytes of the packet at `index` (header included), once it is complete.
    [[nodiscard]] std::optional<Bytes> packet(std::size_t index) const;
    [[nodiscard]] bool saw_end() const { return state_->end_status != 0; }
    [[nodiscard]] bool closed() const { return state_->closed; }
    [[nodiscard]] int connect_callbacks() const { return state_->connect_callbacks; }
    [[nodiscard]] int write_callbacks() const { return state_->write_callbacks; }
    [[nodiscard]] int write_errors() const { return state_->write_errors; }
    [[nodiscard]] int writes_started() const { return state_->writes_started; }
    [[nodiscard]] int close_callbacks() const { return state_->close_callbacks; }

private:
    // On the heap, apart from the object: a test that fails early leaves
    // the handle's close (and this state's deletion) to the loop.
    struct State {
        uv_tcp_t tcp{};
        uv_connect_t connect{};
        bool connected = false;
        bool reading = false;
        bool closing = false;
        bool closed = false;
        bool detached = false;
        int end_status = 0;
        Bytes received;
        int connect_callbacks = 0;
        int writes_started = 0;
        int write_callbacks = 0;
        int write_errors = 0;
        int close_callbacks = 0;
        char buffer[64 * 1024];
    };
    struct Write;
    static void connect_cb(uv_connect_t* req, int status);
    static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void write_cb(uv_write_t* req, int status);
    static void close_cb(uv_handle_t* handle);
    static void read_start(State& state);
    static void close_handle(State& state);

    State* state_;
};

}  // namespace tether::io::test
