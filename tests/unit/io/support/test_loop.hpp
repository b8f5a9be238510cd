// One libuv loop per test: runs are bounded in loop time, and the test ends by
// proving every handle was closed (uv_loop_close() == 0). A handle still open
// at the end is a straggler: named, closed, and a test failure.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

namespace tether::io::test {

class TestLoop {
public:
    TestLoop();
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;
    // Closes what is left if the test did not get to close_cleanly() (it failed early).
    ~TestLoop();

    [[nodiscard]] uv_loop_t* get() { return &loop_; }

    // Runs the loop until `done()` holds, nothing is left to run, or `limit`
    // of loop time has passed. Returns done().
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5));
    // Lets pending callbacks run without waiting for new events (a few loop turns).
    void turn(int times = 5);

    // Runs the loop until nothing holds it (bounded), then fails the test for
    // every handle still open, closes them, and checks uv_loop_close() == 0.
    void close_cleanly();
    [[nodiscard]] bool closed() const { return closed_; }

private:
    static void deadline_cb(uv_timer_t* timer);

    uv_loop_t loop_{};
    uv_timer_t deadline_{};  // bounds each run; unreferenced, so it never keeps the loop alive
    bool expired_ = false;
    bool closed_ = false;
};

}  // namespace tether::io::test
