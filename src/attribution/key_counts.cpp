// Counts per string key (see key_counts.hpp).
#include "tether/attribution/key_counts.hpp"

#include <iterator>

namespace tether::attribution {

std::size_t KeyCounts::of(const std::string& key) const {
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
}

void KeyCounts::add(const std::string& key) {
    auto [it, inserted] = counts_.try_emplace(key, 0);
    if (it->second++ == 0) ++live_;
    if (inserted) sweep_if_due();
}

void KeyCounts::remove(const std::string& key) {
    auto it = counts_.find(key);
    if (it == counts_.end() || it->second == 0) return;
    if (--it->second != 0) return;
    --live_;
    sweep_if_due();
}

// A sweep empties the zero entries, and the next one is due only after as many
// new zero entries as there are live keys plus spare_entries: its cost is spread
// over the sessions that made them.
void KeyCounts::sweep_if_due() {
    const std::size_t zeros = counts_.size() - live_;
    if (zeros <= live_ + spare_entries) return;
    for (auto it = counts_.begin(); it != counts_.end();) {
        it = it->second == 0 ? counts_.erase(it) : std::next(it);
    }
}

}  // namespace tether::attribution
