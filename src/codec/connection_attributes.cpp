// Connection attributes kept as their wire block (see connection_attributes.hpp).
#include "tether/codec/connection_attributes.hpp"

#include "tether/codec/wire.hpp"

namespace tether::codec {

ConnectionAttributes::iterator::iterator(Bytes block, std::size_t at) : block_(block), at_(at) { read(); }

// The pair at at_; the block was checked when it was decoded or built.
void ConnectionAttributes::iterator::read() {
    if (at_ >= block_.size()) {
        at_ = block_.size();
        return;
    }
    WireReader r(block_.subspan(at_));
    const auto key = r.lenenc_string();
    const auto value = r.lenenc_string();
    current_ = {key.value_or(std::string_view{}), value.value_or(std::string_view{})};
    next_ = (key && value) ? at_ + r.position() : block_.size();
}

ConnectionAttributes::iterator& ConnectionAttributes::iterator::operator++() {
    at_ = next_;
    read();
    return *this;
}

ConnectionAttributes::ConnectionAttributes(std::initializer_list<Pair> pairs) {
    for (const auto& [key, value] : pairs) emplace_back(key, value);
}

ConnectionAttributes::ConnectionAttributes(const std::vector<std::pair<std::string, std::string>>& pairs) {
    for (const auto& [key, value] : pairs) emplace_back(key, value);
}

std::string_view ConnectionAttributes::decode(Bytes block, ConnectionAttributes& out) {
    for (WireReader r(block); !r.at_end();) {
        if (!r.lenenc_string() || !r.lenenc_string()) return "connection attribute runs past the attribute block";
    }
    out.block_.assign(block.begin(), block.end());
    return {};
}

void ConnectionAttributes::emplace_back(std::string_view key, std::string_view value) {
    WireWriter w(block_);
    w.lenenc_string(key);
    w.lenenc_string(value);
}

ConnectionAttributes::Pair ConnectionAttributes::back() const {
    Pair last;
    for (const Pair pair : *this) last = pair;
    return last;
}

std::optional<std::string_view> ConnectionAttributes::find(std::string_view key) const {
    for (const auto& [k, v] : *this) {
        if (k == key) return v;
    }
    return std::nullopt;
}

}  // namespace tether::codec
