// --server-reserve (see server_reserve.hpp).
#include "tether/attribution/server_reserve.hpp"

#include <string>

namespace tether::attribution {

void ServerReserve::on_server_state(std::uint64_t threads_connected, std::uint64_t max_connections) {
    reading_ = Reading{threads_connected, max_connections};
    admitted_since_read_ = 0;
}

std::optional<std::int64_t> ServerReserve::free_slots() const {
    if (!reading_) return std::nullopt;
    return static_cast<std::int64_t>(reading_->max_connections) - static_cast<std::int64_t>(reading_->threads_connected) -
           static_cast<std::int64_t>(admitted_since_read_);
}

AdmissionVerdict ServerReserve::decide(bool admin) const {
    if (!enabled() || admin) return {};
    const auto free = free_slots();
    if (!free || *free > static_cast<std::int64_t>(reserve_)) return {};
    const std::int64_t shown = *free < 0 ? 0 : *free;
    return AdmissionVerdict::refused(Limit::server, 1040, "08004",  // ER_CON_COUNT_ERROR
                                     "tether: the server has only " + std::to_string(shown) +
                                         " free connections, tether keeps " + std::to_string(reserve_) +
                                         " for admin users (--server-reserve)");
}

void ServerReserve::admitted() {
    if (enabled() && reading_) ++admitted_since_read_;
}

}  // namespace tether::attribution
