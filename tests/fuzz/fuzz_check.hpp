// Invariant checks for the fuzz targets: a failed check prints what broke and aborts, which libFuzzer records as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

namespace tether::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    std::abort();
}

// An exact-size heap copy: AddressSanitizer then catches a decoder that reads
// one byte past what it was given, which a view into a larger buffer hides.
inline std::vector<std::byte> exact_copy(std::span<const std::byte> bytes) { return {bytes.begin(), bytes.end()}; }

inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

// Reads the fuzz input front to back; past the end every read yields zero.
class InputReader {
public:
    explicit InputReader(std::span<const std::byte> data) : data_(data) {}
    [[nodiscard]] bool empty() const { return pos_ >= data_.size(); }
    [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }
    std::uint8_t u8() { return empty() ? 0 : std::to_integer<std::uint8_t>(data_[pos_++]); }
    std::uint16_t u16() {
        const std::uint16_t lo = u8();
        return static_cast<std::uint16_t>(lo | (u8() << 8));
    }
    std::uint32_t u32() {
        const std::uint32_t lo = u16();
        return lo | (static_cast<std::uint32_t>(u16()) << 16);
    }
    // Up to n bytes (fewer at the end of the input).
    std::span<const std::byte> take(std::size_t n) {
        if (n > remaining()) n = remaining();
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    std::span<const std::byte> rest() { return take(remaining()); }

private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

}  // namespace tether::fuzz

#define FUZZ_CHECK(condition) \
    do { \
        if (!(condition)) ::tether::fuzz::fail(__FILE__, __LINE__, #condition); \
    } while (false)
