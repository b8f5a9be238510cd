// Streaming decoder of compressed-protocol frames (see compressed_stream_decoder.hpp).
#include "tether/session/compressed_stream_decoder.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <new>

namespace tether::session {

namespace {

// What the tracker is fed at a time: any size works, it reads packet headers.
constexpr std::size_t output_window = 16 * 1024;
// A zstd window larger than the frame it serves is never needed (a compressor
// that knows its input size, as every MySQL peer does, shrinks the window to
// it), so each frame's window is capped at the power of two that covers the
// frame's stated inflated length: at most 2^24 for a 0xFFFFFF-byte frame. A
// frame asking for more is refused instead of allocated.
int zstd_window_log_for(std::uint32_t inflated_length) {
    int log = 10;  // zstd's smallest window
    while (log < 24 && (std::uint32_t{1} << log) < inflated_length) ++log;
    return log;
}

struct Step {
    std::size_t consumed = 0;
    std::size_t produced = 0;
    bool ended = false;  // the frame's stream is complete and every byte of it has been output
    bool error = false;
};

}  // namespace

class CompressedStreamDecoder::Inflater {
public:
    virtual ~Inflater() = default;
    // Inflates from `input` into the output window, writing at most `capacity` bytes.
    virtual Step run(codec::Bytes input, std::size_t capacity) = 0;
    codec::Bytes output(std::size_t n) const { return {out_.data(), n}; }

protected:
    std::array<std::byte, output_window> out_{};
};

namespace {

class ZlibInflater final : public CompressedStreamDecoder::Inflater {
public:
    bool init(std::uint32_t /*inflated_length*/) { return inflateInit(&stream_) == Z_OK && (initialised_ = true); }
    ~ZlibInflater() override {
        if (initialised_) inflateEnd(&stream_);
    }
    Step run(codec::Bytes input, std::size_t capacity) override {
        // zlib's API is not const-correct; it never writes through next_in.
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
        stream_.avail_in = static_cast<uInt>(input.size());
        stream_.next_out = reinterpret_cast<Bytef*>(out_.data());
        stream_.avail_out = static_cast<uInt>(capacity);
        const int rc = inflate(&stream_, Z_NO_FLUSH);
        Step s;
        s.consumed = input.size() - stream_.avail_in;
        s.produced = capacity - stream_.avail_out;
        s.ended = rc == Z_STREAM_END;
        // Z_BUF_ERROR only means "no progress possible now"; the caller sees that in the counts.
        s.error = rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR;
        return s;
    }

private:
    z_stream stream_{};
    bool initialised_ = false;
};

class ZstdInflater final : public CompressedStreamDecoder::Inflater {
public:
    bool init(std::uint32_t inflated_length) {
        context_ = ZSTD_createDCtx();
        return context_ != nullptr &&
               !ZSTD_isError(ZSTD_DCtx_setParameter(context_, ZSTD_d_windowLogMax, zstd_window_log_for(inflated_length)));
    }
    ~ZstdInflater() override { ZSTD_freeDCtx(context_); }
    Step run(codec::Bytes input, std::size_t capacity) override {
        ZSTD_inBuffer in{input.data(), input.size(), 0};
        ZSTD_outBuffer out{out_.data(), capacity, 0};
        const std::size_t rc = ZSTD_decompressStream(context_, &out, &in);
        Step s;
        s.consumed = in.pos;
        s.produced = out.pos;
        s.error = ZSTD_isError(rc) != 0;
        s.ended = !s.error && rc == 0;  // 0: a frame is fully decoded and flushed
        return s;
    }

private:
    ZSTD_DCtx* context_ = nullptr;
};

template <class T>
std::unique_ptr<CompressedStreamDecoder::Inflater> make(std::uint32_t inflated_length) {
    auto inflater = std::unique_ptr<T>(new (std::nothrow) T());
    if (!inflater || !inflater->init(inflated_length)) return nullptr;
    return inflater;
}

}  // namespace

CompressedStreamDecoder::CompressedStreamDecoder(CompressionAlgorithm algorithm) : algorithm_(algorithm) {}

CompressedStreamDecoder::~CompressedStreamDecoder() = default;

bool CompressedStreamDecoder::fail(const char* why) {
    if (error_ == nullptr) error_ = why;
    inflater_.reset();
    release_inflater_ = false;
    return false;
}

void CompressedStreamDecoder::end_frame() {
    in_frame_ = false;
    ++frames_;
    // Its output may be what next() is about to hand out: freed on the next step.
    if (inflater_) release_inflater_ = true;
}

bool CompressedStreamDecoder::next(codec::Bytes& input, codec::Bytes& inner) {
    while (!failed()) {
        if (release_inflater_) {
            inflater_.reset();
            release_inflater_ = false;
        }
        if (!in_frame_) {
            if (input.empty()) return false;
            const std::size_t take = std::min<std::size_t>(codec::compressed_header_size - header_length_, input.size());
            std::copy_n(input.begin(), take, header_ + header_length_);
            header_length_ = static_cast<std::uint8_t>(header_length_ + take);
            input = input.subspan(take);
            if (header_length_ < codec::compressed_header_size) return false;
            header_length_ = 0;
            frame_ = codec::decode_compressed_header(codec::Bytes(header_, codec::compressed_header_size)).value;
            in_frame_ = true;
            compressed_left_ = frame_.compressed_length;
            inflated_left_ = frame_.uncompressed_length;
            if (compressed_left_ == 0) {
                if (!frame_.stored()) return fail("compressed frame without a payload");
                end_frame();  // an empty stored frame carries nothing
            }
            continue;
        }
        if (frame_.stored()) {  // the packets themselves: shown in place
            if (input.empty()) return false;
            const std::size_t take = std::min<std::size_t>(compressed_left_, input.size());
            inner = input.first(take);
            input = input.subspan(take);
            compressed_left_ -= static_cast<std::uint32_t>(take);
            if (compressed_left_ == 0) end_frame();
            return true;
        }
        if (!inflater_) {
            inflater_ = algorithm_ == CompressionAlgorithm::zlib ? make<ZlibInflater>(frame_.uncompressed_length)
                                                                  : make<ZstdInflater>(frame_.uncompressed_length);
            if (!inflater_) return fail("cannot allocate an inflater");
        }
        const codec::Bytes available = input.first(std::min<std::size_t>(compressed_left_, input.size()));
        // One byte more than the frame may still produce, so a stream that
        // inflates past its stated length is caught at once, not buffered.
        const std::size_t capacity = std::min<std::size_t>(output_window, std::size_t{inflated_left_} + 1);
        const Step step = inflater_->run(available, capacity);
        if (step.error) return fail("compressed frame does not inflate");
        input = input.subspan(step.consumed);
        compressed_left_ -= static_cast<std::uint32_t>(step.consumed);
        if (step.produced > inflated_left_) return fail("compressed frame inflates to more than its header says");
        inflated_left_ -= static_cast<std::uint32_t>(step.produced);
        if (step.ended) {
            if (compressed_left_ != 0) return fail("compressed frame has bytes after the end of its stream");
            if (inflated_left_ != 0) return fail("compressed frame inflates to less than its header says");
            end_frame();
        } else if (step.consumed == 0 && step.produced == 0) {
            if (compressed_left_ == 0) return fail("compressed frame ends before its stream does");
            if (available.empty()) return false;  // the rest of the frame is still on its way
            return fail("compressed frame's stream makes no progress");
        }
        if (step.produced > 0) {
            inner = inflater_->output(step.produced);
            return true;
        }
    }
    return false;
}

}  // namespace tether::session
