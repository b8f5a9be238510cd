// Bounds-checked little-endian integer, length-encoded integer and string reads and writes.
#include "tether/codec/wire.hpp"

namespace tether::codec {

bool WireReader::skip(std::size_t n) { return bytes(n).has_value(); }

std::optional<std::uint64_t> WireReader::lenenc_int_wide() {
    auto first = u8();
    if (!first) return std::nullopt;
    if (*first < 0xFB) return *first;
    switch (*first) {
        case 0xFC: {
            auto v = u16();
            if (!v) return std::nullopt;
            return *v;
        }
        case 0xFD: {
            auto v = u24();
            if (!v) return std::nullopt;
            return *v;
        }
        case 0xFE: return u64();
        default:
            // 0xFB is a NULL column value and 0xFF an ERR header, never a length.
            failed_ = true;
            return std::nullopt;
    }
}

std::string_view WireReader::nul_or_rest_string(bool& terminated) {
    terminated = false;
    if (failed_) return {};
    if (auto text = take_until_nul()) {
        terminated = true;
        return *text;
    }
    return as_text(rest());  // no NUL: the rest is the string
}

std::span<const std::byte> WireReader::rest() {
    if (failed_) return {};
    auto out = data_.subspan(pos_);
    pos_ = data_.size();
    return out;
}

std::optional<std::uint8_t> WireReader::peek() const {
    if (failed_ || pos_ >= data_.size()) return std::nullopt;
    return std::to_integer<std::uint8_t>(data_[pos_]);
}

void WireWriter::lenenc_int(std::uint64_t v) {
    if (v < 0xFB) {
        u8(static_cast<std::uint8_t>(v));
    } else if (v <= 0xFFFF) {
        u8(0xFC);
        u16(static_cast<std::uint16_t>(v));
    } else if (v <= 0xFFFFFF) {
        u8(0xFD);
        u24(static_cast<std::uint32_t>(v));
    } else {
        u8(0xFE);
        u32(static_cast<std::uint32_t>(v));
        u32(static_cast<std::uint32_t>(v >> 32));
    }
}

void WireWriter::bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }

void WireWriter::text(std::string_view s) { bytes(as_bytes(s)); }

void WireWriter::lenenc_string(std::string_view s) { lenenc_bytes(as_bytes(s)); }

void WireWriter::lenenc_bytes(std::span<const std::byte> b) {
    lenenc_int(b.size());
    bytes(b);
}

void WireWriter::nul_string(std::string_view s) {
    text(s);
    u8(0);
}

void WireWriter::zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }

}  // namespace tether::codec
