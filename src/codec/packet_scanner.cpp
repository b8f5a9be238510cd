// Streaming packet framer (see packet_scanner.hpp).
#include "tether/codec/packet_scanner.hpp"

#include <algorithm>
#include <cstring>

namespace tether::codec {

bool PacketScanner::next(Bytes& input, Event& event) {
    for (;;) {
        if (!in_packet_) {
            PacketHeader h;
            if (header_length_ == 0 && input.size() >= header_size) {
                // The usual case: the whole header is in this chunk, read where it is.
                h = decode_header(input).value;
                header_length_ = header_size;
                input = input.subspan(header_size);
            } else {
                const std::size_t take = std::min(header_size - header_length_, input.size());
                std::memcpy(header_.data() + header_length_, input.data(), take);
                header_length_ += take;
                input = input.subspan(take);
                if (header_length_ < header_size) return false;
                h = decode_header(Bytes(header_.data(), header_size)).value;
            }
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
            Bytes prefix;
            if (peek_length_ == 0 && input.size() >= peek_wanted_) {
                prefix = input.first(peek_wanted_);
                input = input.subspan(peek_wanted_);
            } else {
                const std::size_t take = std::min(peek_wanted_ - peek_length_, input.size());
                std::memcpy(peek_.data() + peek_length_, input.data(), take);
                peek_length_ += take;
                input = input.subspan(take);
                if (peek_length_ < peek_wanted_) return false;
                prefix = Bytes(peek_.data(), peek_length_);
            }
            remaining_ -= static_cast<std::uint32_t>(peek_wanted_);
            started_ = true;
            event = Event{EventKind::start, current_, prefix, current_is_continuation_};
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
