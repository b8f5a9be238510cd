// Label cardinality budget (see label_budget.hpp).
#include "tether/attribution/label_budget.hpp"

namespace tether::attribution {

std::string LabelBudget::acquire(const std::string& value) {
    // "_other" may be the one value held beyond the capacity.
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
    if (references_.contains(value) || references_.size() < capacity_ || value == overflow) return value;
    return std::string(overflow);
}

std::size_t LabelBudget::references(const std::string& label) const {
    auto it = references_.find(label);
    return it == references_.end() ? 0 : it->second;
}

}  // namespace tether::attribution
