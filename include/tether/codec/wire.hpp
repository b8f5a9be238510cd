// Bounds-checked readers and writers of the protocol's integer and string encodings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tether::codec {

// The protocol's one little-endian integer layout, for the readers below and
// for the few fixed-offset fields read without a WireReader (a packet
// header on the relay's hot path, the capability words of a greeting or a
// login). Unchecked: `b` holds exactly the integer's bytes (at most 8).
constexpr std::uint64_t little_endian(std::span<const std::byte> b) {
    std::uint64_t v = 0;
    for (std::size_t i = b.size(); i-- > 0;) v = (v << 8) | std::to_integer<std::uint64_t>(b[i]);
    return v;
}
constexpr std::uint32_t little_endian_u24(std::span<const std::byte> b) {
    return static_cast<std::uint32_t>(little_endian(b.first(3)));
}
constexpr std::uint32_t little_endian_u32(std::span<const std::byte> b) {
    return static_cast<std::uint32_t>(little_endian(b.first(4)));
}

inline std::span<const std::byte> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Reads little-endian integers, length-encoded integers and strings from a
// span. Every read checks the bounds; a failed read returns nullopt and leaves
// the reader failed (ok() false), so a decoder can read a run of fields and
// check once. Never reads past the span.
class WireReader {
public:
    explicit WireReader(std::span<const std::byte> data) : data_(data) {}

    // Defined here, not in wire.cpp: every decoder on the login and result
    // paths calls them field by field, and inlined they cost a few instructions.
    std::optional<std::uint8_t> u8() {
        if (failed_ || pos_ >= data_.size()) return fail();
        return std::to_integer<std::uint8_t>(data_[pos_++]);
    }
    std::optional<std::uint16_t> u16() { return fixed<std::uint16_t, 2>(); }
    std::optional<std::uint32_t> u24() { return fixed<std::uint32_t, 3>(); }
    std::optional<std::uint32_t> u32() { return fixed<std::uint32_t, 4>(); }
    std::optional<std::uint64_t> u64() { return fixed<std::uint64_t, 8>(); }
    // 0xFB (NULL) and 0xFF are not valid length-encoded integers here.
    std::optional<std::uint64_t> lenenc_int() {
        if (!failed_ && pos_ < data_.size() && std::to_integer<std::uint8_t>(data_[pos_]) < 0xFB) {
            return std::to_integer<std::uint8_t>(data_[pos_++]);
        }
        return lenenc_int_wide();
    }
    std::optional<std::span<const std::byte>> bytes(std::size_t n) {
        if (failed_ || n > data_.size() - pos_) return fail();
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    std::optional<std::string_view> lenenc_string() {
        auto n = lenenc_int();
        if (!n) return std::nullopt;
        if (*n > remaining()) return fail();
        auto b = bytes(static_cast<std::size_t>(*n));
        if (!b) return std::nullopt;
        return as_text(*b);
    }
    // Up to (not including) the next NUL; consumes the NUL.
    std::optional<std::string_view> nul_string() {
        if (failed_) return std::nullopt;
        auto text = take_until_nul();
        if (!text) return fail();
        return text;
    }
    // Up to the next NUL (consumed), or everything that is left when there is
    // none; `terminated` says which. For fields old peers send unterminated.
    std::string_view nul_or_rest_string(bool& terminated);
    // Everything that is left.
    std::span<const std::byte> rest();
    bool skip(std::size_t n);

    [[nodiscard]] std::size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
    [[nodiscard]] bool at_end() const { return remaining() == 0; }
    [[nodiscard]] std::size_t position() const { return pos_; }
    [[nodiscard]] bool ok() const { return !failed_; }
    std::optional<std::uint8_t> peek() const;

private:
    // A failed read: the reader stays failed; converts to any empty optional.
    std::nullopt_t fail() {
        failed_ = true;
        return std::nullopt;
    }
    std::optional<std::uint64_t> lenenc_int_wide();  // 2, 3 or 8 bytes after the first, or invalid
    // The bytes up to the next NUL, both consumed; nullopt (nothing consumed,
    // the reader not failed) when no NUL is left. An empty span has no data
    // pointer to search from.
    std::optional<std::string_view> take_until_nul() {
        if (pos_ >= data_.size()) return std::nullopt;
        const std::byte* start = data_.data() + pos_;
        const auto* nul = static_cast<const std::byte*>(std::memchr(start, 0, data_.size() - pos_));
        if (nul == nullptr) return std::nullopt;
        const auto length = static_cast<std::size_t>(nul - start);
        pos_ += length + 1;
        return std::string_view(reinterpret_cast<const char*>(start), length);
    }
    template <typename T, std::size_t N>
    std::optional<T> fixed() {
        if (failed_ || N > data_.size() - pos_) return fail();
        auto v = static_cast<T>(little_endian(data_.subspan(pos_, N)));
        pos_ += N;
        return v;
    }

    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

class WireWriter {
public:
    explicit WireWriter(std::vector<std::byte>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) { fixed<2>(v); }
    void u24(std::uint32_t v) { fixed<3>(v); }
    void u32(std::uint32_t v) { fixed<4>(v); }
    void lenenc_int(std::uint64_t v);
    void bytes(std::span<const std::byte> b);
    void text(std::string_view s);
    void lenenc_string(std::string_view s);
    void lenenc_bytes(std::span<const std::byte> b);
    void nul_string(std::string_view s);
    void zeros(std::size_t n);

private:
    template <std::size_t N>
    void fixed(std::uint64_t v) {
        for (std::size_t i = 0; i < N; ++i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
    }

    std::vector<std::byte>& out_;
};

}  // namespace tether::codec
