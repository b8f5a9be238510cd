// Streaming packet framer (see packet_scanner.hpp).
#include "tether/codec/packet_scanner.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>

namespace tether::codec {

namespace {

// The next `wanted` bytes of a stream that arrives in chunks: viewed in `input`
// when they are all there and none came before (the usual case), else gathered
// in `stage` across chunks (`staged` of them so far). Nullopt while some are missing.
// Inline: it runs twice per packet the tracker follows.
[[gnu::always_inline]] inline std::optional<Bytes> take_whole(Bytes& input, std::span<std::byte> stage, std::size_t& staged,
                                                          std::size_t wanted) {
    if (staged == 0 && input.size() >= wanted) {
        const Bytes whole = input.first(wanted);
        input = input.subspan(wanted);
        return whole;
    }
    const std::size_t take = std::min(wanted - staged, input.size());
    if (take > 0) std::memcpy(stage.data() + staged, input.data(), take);
    staged += take;
    input = input.subspan(take);
    if (staged < wanted) return std::nullopt;
    return Bytes(stage.data(), wanted);
}

}  // namespace

bool PacketScanner::next(Bytes& input, Event& event) {
    for (;;) {
        if (!in_packet_) {
            const auto header = take_whole(input, header_, header_length_, header_size);
            if (!header) return false;
            const PacketHeader h = decode_header(*header).value;
            current_ = h;
            current_is_continuation_ = previous_was_full_;
            previous_was_full_ = h.payload_length == max_physical_payload;
            peek_wanted_ = std::min<std::size_t>(h.payload_length, peek_size);
            peek_length_ = 0;
            remaining_ = h.payload_length;
            in_packet_ = true;
            started_ = false;
        }
        if (!started_) {
            const auto prefix = take_whole(input, peek_, peek_length_, peek_wanted_);
            if (!prefix) return false;
            remaining_ -= static_cast<std::uint32_t>(peek_wanted_);
            started_ = true;
            event = Event{EventKind::start, current_, *prefix, current_is_continuation_};
            if (remaining_ == 0) {
                in_packet_ = false;
                header_length_ = 0;
            }
            return true;
        }
        const std::size_t take = std::min<std::size_t>(remaining_, input.size());
        if (sink_ != nullptr && sink_->size() < sink_limit_) {
            const std::size_t keep = std::min(take, sink_limit_ - sink_->size());
            sink_->insert(sink_->end(), input.begin(), input.begin() + static_cast<std::ptrdiff_t>(keep));
        }
        input = input.subspan(take);
        remaining_ -= static_cast<std::uint32_t>(take);
        if (remaining_ > 0) return false;
        in_packet_ = false;
        header_length_ = 0;
        if (sink_ != nullptr) {
            sink_ = nullptr;
            event = Event{EventKind::end, current_, {}, current_is_continuation_};
            return true;
        }
    }
}

bool PacketScanner::capture_rest(std::vector<std::byte>* sink, std::size_t limit) {
    if (current_.payload_length > limit) return false;
    if (!in_packet_) return true;  // the prefix was the whole packet; nothing more will come
    sink_ = sink;
    sink_limit_ = limit;
    return true;
}

void PacketScanner::capture_prefix(std::vector<std::byte>* sink, std::size_t limit) {
    if (!in_packet_) return;  // the prefix was the whole packet; nothing more will come
    sink_ = sink;
    sink_limit_ = limit;
}

}  // namespace tether::codec
