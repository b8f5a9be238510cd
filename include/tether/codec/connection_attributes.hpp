// A login's connection attributes (CLIENT_CONNECT_ATTRS): key/value pairs in wire order.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::codec {

// The attribute block as it came (length-encoded key, length-encoded value,
// repeated), kept as one buffer and read in place: a login costs one copy of
// the block, not two strings per pair. Pairs are views into this object, valid
// while it lives unchanged. Two lists are equal when their blocks are.
class ConnectionAttributes {
public:
    using Pair = std::pair<std::string_view, std::string_view>;

    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Pair;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = Pair;

        iterator() = default;
        Pair operator*() const { return current_; }
        iterator& operator++();
        iterator operator++(int) {
            iterator before = *this;
            ++*this;
            return before;
        }
        bool operator==(const iterator& other) const { return at_ == other.at_; }

    private:
        friend class ConnectionAttributes;
        iterator(Bytes block, std::size_t at);
        void read();

        Bytes block_;
        std::size_t at_ = 0;    // where the current pair starts (block size: the end)
        std::size_t next_ = 0;  // where the one after it starts
        Pair current_;
    };

    ConnectionAttributes() = default;
    ConnectionAttributes(std::initializer_list<Pair> pairs);
    ConnectionAttributes(const std::vector<std::pair<std::string, std::string>>& pairs);

    // The pairs of `block` (the bytes after the block's length), or the reason
    // they do not fill it exactly.
    static std::string_view decode(Bytes block, ConnectionAttributes& out);

    void emplace_back(std::string_view key, std::string_view value);

    [[nodiscard]] iterator begin() const { return {block(), 0}; }
    [[nodiscard]] iterator end() const { return {block(), block_.size()}; }
    // A pair takes at least two bytes: no pairs, no block. The block is all the
    // state, so a moved-from list is simply empty.
    [[nodiscard]] bool empty() const { return block_.empty(); }
    // Walks the block.
    [[nodiscard]] std::size_t size() const { return static_cast<std::size_t>(std::distance(begin(), end())); }
    [[nodiscard]] Pair front() const { return *begin(); }
    [[nodiscard]] Pair back() const;
    // The value of the first pair named `key`.
    [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const;
    // The block as it goes on the wire (without its length).
    [[nodiscard]] Bytes block() const { return block_; }

    bool operator==(const ConnectionAttributes& other) const { return block_ == other.block_; }

private:
    std::vector<std::byte> block_;
};

}  // namespace tether::codec
