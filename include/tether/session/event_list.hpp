// The events of one Session step, held inline: raising one on the relay path allocates nothing.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "tether/session/events.hpp"

namespace tether::session {

// A fixed-capacity list in the order the events were raised. One step raises
// at most three (a greeting, a refusal of the client's login, the finish's
// problem); the capacity leaves room for one more. An empty list (the
// command-phase fast path) costs one byte to make and nothing to destroy.
class EventList {
public:
    static constexpr std::size_t capacity = 4;

    EventList() = default;
    EventList(const EventList& other) { append_all(other); }
    EventList(EventList&& other) noexcept {
        append_all(std::move(other));
        other.clear();
    }
    EventList& operator=(const EventList& other) {
        if (this != &other) {
            clear();
            append_all(other);
        }
        return *this;
    }
    EventList& operator=(EventList&& other) noexcept {
        if (this != &other) {
            clear();
            append_all(std::move(other));
            other.clear();
        }
        return *this;
    }
    ~EventList() { clear(); }

    // More than `capacity` in one step is a bug in the session (asserted); in
    // a release build the extra event is dropped rather than written past the end.
    template <class E>
    void raise(E&& event) {
        assert(size_ < capacity && "a Session step raised more events than EventList holds");
        if (size_ == capacity) return;
        // Built in place: no temporary variant to move from.
        ::new (static_cast<void*>(slot(size_))) SessionEvent(std::in_place_type<std::decay_t<E>>, std::forward<E>(event));
        ++size_;
    }
    void push(const SessionEvent& event) {
        std::visit([this](const auto& e) { raise(e); }, event);
    }
    void clear() {
        for (std::size_t i = 0; i < size_; ++i) std::destroy_at(slot(i));
        size_ = 0;
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] const SessionEvent& operator[](std::size_t i) const { return *slot(i); }
    [[nodiscard]] const SessionEvent* begin() const { return slot(0); }
    [[nodiscard]] const SessionEvent* end() const { return slot(size_); }

    // The first event of type E, or nullptr.
    template <class E>
    [[nodiscard]] const E* find() const {
        for (const SessionEvent& e : *this) {
            if (const E* found = std::get_if<E>(&e)) return found;
        }
        return nullptr;
    }
    template <class E>
    [[nodiscard]] bool contains() const {
        return find<E>() != nullptr;
    }

private:
    SessionEvent* slot(std::size_t i) { return reinterpret_cast<SessionEvent*>(storage_) + i; }
    const SessionEvent* slot(std::size_t i) const { return reinterpret_cast<const SessionEvent*>(storage_) + i; }
    void append_all(const EventList& other) {
        for (const SessionEvent& e : other) push(e);
    }
    void append_all(EventList&& other) {
        for (std::size_t i = 0; i < other.size_; ++i) {
            std::visit([this](auto& e) { raise(std::move(e)); }, *other.slot(i));
        }
    }

    alignas(SessionEvent) std::byte storage_[capacity * sizeof(SessionEvent)];
    std::uint8_t size_ = 0;
};

}  // namespace tether::session
