// The cap on open handshakes (see handshake_gate.hpp).
#include "tether/attribution/handshake_gate.hpp"

namespace tether::attribution {

std::size_t HandshakeGate::of_address(const std::string& address) const {
    return per_address_.of(address);
}

AdmissionVerdict HandshakeGate::decide(const std::string& address) const {
    // 1040 (ER_CON_COUNT_ERROR) for both: to a client it is "too many connections", which drivers
    // and pools already know to retry; the message tells the two apart.
    if (limits_.total != 0 && open_ >= limits_.total) {
        return AdmissionVerdict::refused(
            Limit::handshakes, 1040, "08004",
            "tether: too many connections still logging in: --max-handshakes " + std::to_string(limits_.total) + " reached");
    }
    if (limits_.per_address != 0 && !address.empty() && of_address(address) >= limits_.per_address) {
        return AdmissionVerdict::refused(Limit::handshakes_per_address, 1040, "08004",
                                         "tether: too many connections still logging in from " + address +
                                             ": --max-handshakes-per-address " + std::to_string(limits_.per_address) +
                                             " reached");
    }
    return {};
}

void HandshakeGate::enter(const std::string& address) {
    ++open_;
    if (!address.empty()) per_address_.add(address);
}

void HandshakeGate::leave(const std::string& address) {
    if (open_ > 0) --open_;
    if (!address.empty()) per_address_.remove(address);
}

}  // namespace tether::attribution
