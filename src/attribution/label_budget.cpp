// Label cardinality budget (see label_budget.hpp).
#include "tether/attribution/label_budget.hpp"

namespace tether::attribution {

std::string LabelBudget::acquire(const std::string& value) {
    auto [it, inserted] = references_.try_emplace(peek(value), 0);
    ++it->second;
    return it->first;
}

void LabelBudget::release(const std::string& label) {
    auto it = references_.find(label);
    if (it == references_.end()) return;
    if (--it->second == 0) references_.erase(it);
}

std::string LabelBudget::peek(const std::string& value) const {
    if (references_.contains(value) || value == overflow) return value;
    // "_other" is held beyond the capacity: it does not take a client's slot.
    const std::size_t held_values = references_.size() - (references_.contains(std::string(overflow)) ? 1 : 0);
    return held_values < capacity_ ? value : std::string(overflow);
}

std::size_t LabelBudget::references(const std::string& label) const {
    auto it = references_.find(label);
    return it == references_.end() ? 0 : it->second;
}

}  // namespace tether::attribution
