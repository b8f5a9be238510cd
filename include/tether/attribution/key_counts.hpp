// Counts per string key (a client label, a user, a peer address), for the caps.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace tether::attribution {

// A key whose count falls to zero keeps its entry, so an app that connects and
// disconnects in a loop (a pool per request, a PHP worker) costs no allocation
// per session. Zero entries are swept once they outnumber the live keys by more
// than `spare_entries`, so memory is bounded by the keys in use now, never by
// every key ever seen (keys are client-chosen strings).
class KeyCounts {
public:
    static constexpr std::size_t spare_entries = 256;

    [[nodiscard]] std::size_t of(const std::string& key) const;
    void add(const std::string& key);
    void remove(const std::string& key);  // a key not counted is left alone
    // Keys with a count above zero.
    [[nodiscard]] std::size_t keys() const { return live_; }
    // Entries held, zero ones included: at most 2 * keys() + spare_entries + 1.
    [[nodiscard]] std::size_t entries() const { return counts_.size(); }

private:
    void sweep_if_due();

    std::unordered_map<std::string, std::size_t> counts_;
    std::size_t live_ = 0;
};

}  // namespace tether::attribution
