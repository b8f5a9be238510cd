// The bounded test loop and its leak check (see test_loop.hpp).
#include "test_loop.hpp"

#include <doctest/doctest.h>

#include <string>

namespace tether::io::test {

TestLoop::TestLoop() {
    REQUIRE(uv_loop_init(&loop_) == 0);
    uv_timer_init(&loop_, &deadline_);
    deadline_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&deadline_));
}

TestLoop::~TestLoop() {
    if (!closed_) close_cleanly();
}

void TestLoop::deadline_cb(uv_timer_t* timer) { static_cast<TestLoop*>(timer->data)->expired_ = true; }

bool TestLoop::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    expired_ = false;
    uv_update_time(&loop_);
    uv_timer_start(&deadline_, &TestLoop::deadline_cb, static_cast<std::uint64_t>(limit.count()), 0);
    // The unreferenced deadline still wakes UV_RUN_ONCE, so a run never blocks past it.
    while (!done() && !expired_) {
        if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !done()) break;  // nothing left that could make it true
    }
    uv_timer_stop(&deadline_);
    return done();
}

void TestLoop::turn(int times) {
    for (int i = 0; i < times; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
}

void TestLoop::close_cleanly() {
    closed_ = true;
    // Whatever is still finishing (close callbacks, cancelled writes) runs first.
    run_until([this] { return uv_loop_alive(&loop_) == 0; });
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
    std::string stragglers;
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void* arg) {
            if (uv_is_closing(handle)) return;
            auto& names = *static_cast<std::string*>(arg);
            names += std::string(names.empty() ? "" : ", ") + uv_handle_type_name(uv_handle_get_type(handle)) +
                     (uv_is_active(handle) ? " (active)" : "");
            uv_close(handle, nullptr);
        },
        &stragglers);
    CHECK_MESSAGE(stragglers.empty(), "handles left open at the end of the test: " << stragglers);
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop_) == 0);
}

}  // namespace tether::io::test
