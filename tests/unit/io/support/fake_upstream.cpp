// The scripted fake upstream (see fake_upstream.hpp).
#include "fake_upstream.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace tether::io::test {

struct FakeUpstream::Peer::Write {
    uv_write_t req{};
    Peer* peer = nullptr;
    Bytes bytes;
};

FakeUpstream::FakeUpstream(TestLoop& loop, Script fallback, int receive_buffer)
    : loop_(loop), fallback_(std::move(fallback)), listener_(new uv_tcp_t{}) {
    REQUIRE(uv_tcp_init(loop_.get(), listener_) == 0);
    listener_->data = this;
    sockaddr_in address{};
    REQUIRE(uv_ip4_addr("127.0.0.1", 0, &address) == 0);
    REQUIRE(uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&address), 0) == 0);
    if (receive_buffer > 0) {
        uv_os_fd_t fd = -1;
        REQUIRE(uv_fileno(reinterpret_cast<uv_handle_t*>(listener_), &fd) == 0);
        REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) == 0);
    }
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 64, &FakeUpstream::connection_cb) == 0);
    sockaddr_in bound{};
    int length = sizeof bound;
    REQUIRE(uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &length) == 0);
    port_ = ntohs(bound.sin_port);
}

namespace {

void listener_closed(uv_handle_t* handle) {
    if (handle->data != nullptr) static_cast<bool*>(handle->data)[0] = true;
    delete reinterpret_cast<uv_tcp_t*>(handle);
}

}  // namespace

FakeUpstream::~FakeUpstream() {
    // A test that failed early: what is still open goes to the loop, whose
    // close callbacks free it (TestLoop's destructor runs them).
    if (listener_closed_) {
        if (!listener_close_done_) listener_->data = nullptr;  // its close callback still frees it
    } else if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(listener_))) {
        listener_->data = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(listener_), &listener_closed);
    }  // else closed by TestLoop's straggler sweep (a failure already reported): left to leak
    for (auto& peer : peers_) {
        if (peer->closed_) continue;
        peer->detached_ = true;
        Peer* p = peer.release();
        p->close_handle();  // a no-op when already closing: that close callback frees it
    }
}

void FakeUpstream::connection_cb(uv_stream_t* server, int status) {
    auto* self = static_cast<FakeUpstream*>(server->data);
    if (status < 0) return;
    Script script = self->fallback_;
    if (!self->scripts_.empty()) {
        script = std::move(self->scripts_.front());
        self->scripts_.pop_front();
    }
    auto peer = std::unique_ptr<Peer>(new Peer(*self, std::move(script)));
    uv_tcp_init(self->loop_.get(), &peer->tcp_);
    peer->tcp_.data = peer.get();
    Peer& p = *peer;
    self->peers_.push_back(std::move(peer));
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&p.tcp_)) != 0) {
        p.close_handle();
        return;
    }
    p.read_start();
    p.play();
}

bool FakeUpstream::all_closed() const {
    if (!listener_close_done_) return false;
    for (const auto& peer : peers_) {
        if (!peer->closed_) return false;
    }
    return true;
}

void FakeUpstream::close() {
    if (!listener_closed_) {
        listener_closed_ = true;
        listener_->data = &listener_close_done_;
        uv_close(reinterpret_cast<uv_handle_t*>(listener_), &listener_closed);
    }
    for (auto& peer : peers_) peer->reset_now();
}

void FakeUpstream::Peer::read_start() {
    if (reading_ || closing_) return;
    const auto alloc = [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
        auto* self = static_cast<Peer*>(h->data);
        *buf = uv_buf_init(self->buffer_, sizeof self->buffer_);
    };
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc, &Peer::read_cb) == 0) reading_ = true;
}

void FakeUpstream::Peer::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Peer*>(stream->data);
    if (nread == 0) return;
    if (nread < 0) {
        self->end_status_ = static_cast<int>(nread);
        self->close_handle();
        return;
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(buf->base);
    self->received_.insert(self->received_.end(), bytes, bytes + nread);
    self->play();
}

bool FakeUpstream::Peer::expectation_met() {
    const Script::Step& step = script_.steps()[next_];
    const std::size_t available = received_.size() - consumed_;
    if (step.kind == Script::Step::Kind::expect_bytes) {
        if (available < step.size) return false;
        consumed_ += step.size;
        return true;
    }
    if (available < 4) return false;
    const auto* h = received_.data() + consumed_;
    const std::size_t length = std::to_integer<std::size_t>(h[0]) | (std::to_integer<std::size_t>(h[1]) << 8) |
                               (std::to_integer<std::size_t>(h[2]) << 16);
    if (available < 4 + length) return false;
    packets_.emplace_back(h, h + 4 + length);
    consumed_ += 4 + length;
    return true;
}

void FakeUpstream::Peer::play() {
    using Kind = Script::Step::Kind;
    while (!closing_ && !held_ && next_ < script_.steps().size()) {
        const Script::Step& step = script_.steps()[next_];
        switch (step.kind) {
            case Kind::send:
                write(step.bytes);
                break;
            case Kind::expect_bytes:
            case Kind::expect_packet:
                if (!expectation_met()) return;  // the next read comes back here
                break;
            case Kind::stop_reading:
                uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
                reading_ = false;
                break;
            case Kind::start_reading:
                read_start();
                break;
            case Kind::hold:
                held_ = true;
                return;
            case Kind::close: {
                ++next_;
                closing_ = true;
                auto* req = new uv_shutdown_t;
                req->data = this;
                if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), &Peer::shutdown_cb) != 0) {
                    delete req;
                    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Peer::close_cb);
                }
                return;
            }
            case Kind::reset:
                ++next_;
                reset_now();
                return;
        }
        ++next_;
    }
}

void FakeUpstream::Peer::resume() {
    if (!held_) return;
    held_ = false;
    ++next_;
    play();
}

void FakeUpstream::Peer::write(const Bytes& bytes) {
    auto* w = new Write;
    w->peer = this;
    w->bytes = bytes;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(w->bytes.data()), static_cast<unsigned>(w->bytes.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Peer::write_cb) != 0) {
        delete w;
        return;
    }
    ++writes_started_;
}

void FakeUpstream::Peer::write_cb(uv_write_t* req, int) {
    auto* w = static_cast<Write*>(req->data);
    ++w->peer->writes_completed_;
    delete w;
}

void FakeUpstream::Peer::shutdown_cb(uv_shutdown_t* req, int) {
    auto* self = static_cast<Peer*>(req->data);
    delete req;
    self->close_handle();
}

void FakeUpstream::Peer::reset_now() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0) {
        const linger abort_on_close{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    close_handle();
}

void FakeUpstream::Peer::close_handle() {
    closing_ = true;
    reading_ = false;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Peer::close_cb);
}

void FakeUpstream::Peer::close_cb(uv_handle_t* handle) {
    auto* self = static_cast<Peer*>(handle->data);
    if (self->detached_) {
        delete self;
        return;
    }
    self->closed_ = true;
    ++self->server_.close_callbacks_;
}

}  // namespace tether::io::test
