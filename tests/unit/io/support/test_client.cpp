// The raw test client (see test_client.hpp).
#include "test_client.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>

namespace tether::io::test {

struct TestClient::Write {
    uv_write_t req{};
    State* state = nullptr;
    Bytes bytes;
};

TestClient::TestClient(TestLoop& loop, int port, int receive_buffer) : state_(new State) {
    // uv_tcp_init_ex creates the socket now, so its buffer is sized before the
    // handshake (the window scale is agreed on then).
    REQUIRE(uv_tcp_init_ex(loop.get(), &state_->tcp, AF_INET) == 0);
    state_->tcp.data = state_;
    state_->connect.data = state_;
    if (receive_buffer > 0) {
        uv_os_fd_t fd = -1;
        REQUIRE(uv_fileno(reinterpret_cast<uv_handle_t*>(&state_->tcp), &fd) == 0);
        REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) == 0);
    }
    sockaddr_in address{};
    REQUIRE(uv_ip4_addr("127.0.0.1", port, &address) == 0);
    REQUIRE(uv_tcp_connect(&state_->connect, &state_->tcp, reinterpret_cast<const sockaddr*>(&address),
                           &TestClient::connect_cb) == 0);
    state_->reading = true;  // reads start once connected, unless stop_reading() comes first
}

TestClient::~TestClient() {
    if (state_->closed) {
        delete state_;
        return;
    }
    state_->detached = true;  // the close callback frees it
    close_handle(*state_);
}

void TestClient::connect_cb(uv_connect_t* req, int status) {
    auto& state = *static_cast<State*>(req->data);
    ++state.connect_callbacks;
    if (status != 0) {
        state.end_status = status;
        close_handle(state);
        return;
    }
    state.connected = true;
    if (state.reading) {
        state.reading = false;
        read_start(state);
    }
}

void TestClient::read_start(State& state) {
    if (state.reading || state.closing) return;
    const auto alloc = [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
        auto* s = static_cast<State*>(h->data);
        *buf = uv_buf_init(s->buffer, sizeof s->buffer);
    };
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&state.tcp), alloc, &TestClient::read_cb) == 0) state.reading = true;
}

void TestClient::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto& state = *static_cast<State*>(stream->data);
    if (nread == 0) return;
    if (nread < 0) {
        state.end_status = static_cast<int>(nread);
        close_handle(state);
        return;
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(buf->base);
    state.received.insert(state.received.end(), bytes, bytes + nread);
}

void TestClient::send(const Bytes& bytes) {
    REQUIRE(!state_->closing);
    auto* w = new Write;
    w->state = state_;
    w->bytes = bytes;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(w->bytes.data()), static_cast<unsigned>(w->bytes.size()));
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&state_->tcp), &buf, 1, &TestClient::write_cb);
    if (rc != 0) delete w;
    REQUIRE(rc == 0);
    ++state_->writes_started;
}

void TestClient::write_cb(uv_write_t* req, int status) {
    auto* w = static_cast<Write*>(req->data);
    ++w->state->write_callbacks;
    if (status < 0) ++w->state->write_errors;
    delete w;
}

void TestClient::stop_reading() {
    if (!state_->reading) return;
    if (state_->connected) uv_read_stop(reinterpret_cast<uv_stream_t*>(&state_->tcp));
    state_->reading = false;
}

void TestClient::start_reading() {
    if (state_->connected) {
        read_start(*state_);
    } else {
        state_->reading = true;
    }
}

void TestClient::close() {
    if (state_->closing) return;
    state_->closing = true;
    auto* req = new uv_shutdown_t;
    req->data = state_;
    const auto done = [](uv_shutdown_t* r, int) {
        auto* s = static_cast<State*>(r->data);
        delete r;
        close_handle(*s);
    };
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&state_->tcp), done) != 0) {
        delete req;
        close_handle(*state_);
    }
}

void TestClient::reset() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&state_->tcp))) return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&state_->tcp), &fd) == 0) {
        const linger abort_on_close{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    close_handle(*state_);
}

void TestClient::close_handle(State& state) {
    state.closing = true;
    state.reading = false;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&state.tcp))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&state.tcp), &TestClient::close_cb);
    }
}

void TestClient::close_cb(uv_handle_t* handle) {
    auto* state = static_cast<State*>(handle->data);
    if (state->detached) {
        delete state;
        return;
    }
    ++state->close_callbacks;
    state->closed = true;
}

std::optional<Bytes> TestClient::packet(std::size_t index) const {
    const Bytes& in = state_->received;
    std::size_t at = 0;
    for (std::size_t i = 0;; ++i) {
        if (in.size() - at < 4) return std::nullopt;
        const std::size_t length = std::to_integer<std::size_t>(in[at]) | (std::to_integer<std::size_t>(in[at + 1]) << 8) |
                                   (std::to_integer<std::size_t>(in[at + 2]) << 16);
        if (in.size() - at < 4 + length) return std::nullopt;
        if (i == index) return Bytes(in.begin() + static_cast<std::ptrdiff_t>(at),
                                     in.begin() + static_cast<std::ptrdiff_t>(at + 4 + length));
        at += 4 + length;
    }
}

}  // namespace tether::io::test
