// Caps the sessions still in their handshake, in total and per source address,
// so clients that connect and never log in cannot take the server's slots.
#pragma once

#include <cstddef>
#include <string>

#include "tether/attribution/admission.hpp"
#include "tether/attribution/key_counts.hpp"

namespace tether::attribution {

struct HandshakeLimits {
    std::size_t total = 0;        // 0: no cap
    std::size_t per_address = 0;  // 0: no cap
};

// tether connects upstream on accept, so every accepted connection holds a
// server connection from then until it logs in (or tether has finished the
// server side after it left). Counted from accept to authentication (or the
// session's end). An address is in the map only while it has a handshake
// open, so the map never holds more entries than the total cap allows (and
// no more than the open handshakes when there is no total cap).
class HandshakeGate {
public:
    explicit HandshakeGate(HandshakeLimits limits) : limits_(limits) {}

    // An accepted connection from `address` (empty: no address, a unix
    // socket, where only the total applies).
    [[nodiscard]] AdmissionVerdict decide(const std::string& address) const;
    void enter(const std::string& address);
    void leave(const std::string& address);

    [[nodiscard]] std::size_t open() const { return open_; }
    [[nodiscard]] std::size_t of_address(const std::string& address) const;
    [[nodiscard]] std::size_t addresses() const { return per_address_.keys(); }
    [[nodiscard]] std::size_t address_entries() const { return per_address_.entries(); }

private:
    HandshakeLimits limits_;
    std::size_t open_ = 0;
    KeyCounts per_address_;
};

}  // namespace tether::attribution
