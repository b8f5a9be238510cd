// The value every codec decoder returns: a message, "need more bytes", or "malformed".
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace tether::codec {

enum class DecodeStatus {
    ok,
    need_more,  // the bytes so far are a valid prefix; feed more and call again
    malformed,  // no amount of further bytes can make this valid
};

// Keeps "need more bytes" apart from "malformed" because the callers act
// differently: wait for the socket, or close the session with a reason.
// `error` is a static string (safe to log, never contains input bytes).
template <class T>
struct DecodeResult {
    DecodeStatus status = DecodeStatus::need_more;
    T value{};
    std::size_t consumed = 0;
    std::string_view error{};

    [[nodiscard]] bool ok() const { return status == DecodeStatus::ok; }
    [[nodiscard]] bool need_more() const { return status == DecodeStatus::need_more; }
    [[nodiscard]] bool malformed() const { return status == DecodeStatus::malformed; }

    static DecodeResult success(T v, std::size_t consumed) {
        return {DecodeStatus::ok, std::move(v), consumed, {}};
    }
    static DecodeResult more() { return {DecodeStatus::need_more, T{}, 0, {}}; }
    static DecodeResult bad(std::string_view why) { return {DecodeStatus::malformed, T{}, 0, why}; }
};

}  // namespace tether::codec
