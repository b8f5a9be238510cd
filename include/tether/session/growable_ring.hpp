// A FIFO of small trivially copyable values: inline storage first, a heap ring
// that doubles up to a hard bound when a client pipelines deeper.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace tether::session {

// Holds the commands a session has in flight. Most clients have one at a time,
// so the first `InlineCapacity` live inside the object and an idle session
// allocates nothing. Deep pipelines (the npm `mariadb` connector sends a whole
// Promise.all at once) move the ring to the heap, doubling up to
// `MaxCapacity`; the heap ring is kept once grown, so a client that pipelines
// again reuses it and the steady state allocates nothing. push() refuses at
// the bound instead of growing without limit: the caller decides what a
// client that pipelines that deep deserves.
template <class T, std::size_t InlineCapacity, std::size_t MaxCapacity>
class GrowableRing {
    static_assert(std::is_trivially_copyable_v<T>);
    static_assert(InlineCapacity > 0 && (InlineCapacity & (InlineCapacity - 1)) == 0, "a power of two");
    static_assert(MaxCapacity >= InlineCapacity && (MaxCapacity & (MaxCapacity - 1)) == 0, "a power of two");
    static_assert(MaxCapacity <= UINT16_MAX, "indices are 16-bit: a small object");

public:
    static constexpr std::size_t max_size = MaxCapacity;

    GrowableRing() = default;
    GrowableRing(GrowableRing&& other) noexcept { *this = std::move(other); }
    GrowableRing& operator=(GrowableRing&& other) noexcept {
        if (this == &other) return *this;
        inline_ = other.inline_;
        heap_ = std::move(other.heap_);
        capacity_ = other.capacity_;
        head_ = other.head_;
        size_ = other.size_;
        other.capacity_ = InlineCapacity;  // the moved-from ring is empty and usable
        other.head_ = other.size_ = 0;
        return *this;
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] bool on_heap() const { return heap_ != nullptr; }

    // False (and nothing added) when MaxCapacity values are already queued.
    bool push(const T& value) {
        if (size_ == capacity_) {
            if (capacity_ == MaxCapacity) return false;
            grow();
        }
        data()[(head_ + size_) & (capacity_ - 1u)] = value;
        ++size_;
        return true;
    }

    T& front() {
        assert(size_ > 0);
        return data()[head_];
    }
    const T& front() const {
        assert(size_ > 0);
        return data()[head_];
    }

    void pop() {
        assert(size_ > 0);
        head_ = static_cast<std::uint16_t>((head_ + 1u) & (capacity_ - 1u));
        --size_;
    }

private:
    T* data() { return heap_ ? heap_.get() : inline_.data(); }
    const T* data() const { return heap_ ? heap_.get() : inline_.data(); }

    void grow() {
        const auto next = static_cast<std::uint16_t>(capacity_ * 2);
        auto bigger = std::make_unique_for_overwrite<T[]>(next);
        const T* old = data();
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = old[(head_ + i) & (capacity_ - 1u)];
        heap_ = std::move(bigger);
        capacity_ = next;
        head_ = 0;
    }

    std::array<T, InlineCapacity> inline_{};
    std::unique_ptr<T[]> heap_;
    std::uint16_t capacity_ = InlineCapacity;
    std::uint16_t head_ = 0;
    std::uint16_t size_ = 0;
};

}  // namespace tether::session
