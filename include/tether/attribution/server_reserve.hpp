// --server-reserve: logins refused while the server itself is nearly full, so
// a fleet of tethers in front of one server keeps slots for admin users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tether/attribution/admission.hpp"

namespace tether::attribution {

// The server is the one source of truth every sidecar of every app sees: each
// tether reads its free slots (max_connections - Threads_connected, through the
// monitor session) and, between two reads, subtracts the logins it admitted
// itself. A burst through one tether cannot overshoot; through a fleet it can
// by the logins the other tethers admit within one read interval (README:
// size the reserve as replicas x logins per interval).
class ServerReserve {
public:
    explicit ServerReserve(std::size_t reserve) : reserve_(reserve) {}

    [[nodiscard]] bool enabled() const { return reserve_ > 0; }
    // A fresh read of the server: the logins admitted before it are in it.
    void on_server_state(std::uint64_t threads_connected, std::uint64_t max_connections);
    // The monitor lost the server: nothing is known, nothing is refused (a
    // tether whose monitor fails must not lock every app out; the monitor's
    // own metrics and /readyz say it is down).
    void forget() { reading_.reset(); }
    // Refused (ERR 1040) when the free slots are at or below the reserve;
    // admin users are never refused (nor counted: they use the reserve).
    [[nodiscard]] AdmissionVerdict decide(bool admin) const;
    // A non-admin login was admitted: one slot fewer until the next read.
    void admitted();
    // Free slots as tether counts them now, when a reading is known.
    [[nodiscard]] std::optional<std::int64_t> free_slots() const;
    [[nodiscard]] std::size_t reserve() const { return reserve_; }

private:
    struct Reading {
        std::uint64_t threads_connected = 0;
        std::uint64_t max_connections = 0;
    };
    std::size_t reserve_;
    std::optional<Reading> reading_;
    std::uint64_t admitted_since_read_ = 0;
};

}  // namespace tether::attribution
