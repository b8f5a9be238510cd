// What each client's leak suspects last ran (see suspect_statements.hpp).
#include "tether/attribution/suspect_statements.hpp"

#include <algorithm>

namespace tether::attribution {

void SuspectStatements::add(const LabelPair& labels, const std::optional<std::string>& fingerprint,
                            std::uint64_t commands) {
    auto& lines = counts_[labels];
    if (fingerprint) {
        ++lines[*fingerprint];
    } else {
        ++lines[commands == 0 ? never_used : not_recorded];
    }
}

std::vector<SuspectStatements::Line> SuspectStatements::top(const LabelPair& labels, std::size_t top) const {
    std::vector<Line> lines;
    const auto it = counts_.find(labels);
    if (it == counts_.end()) return lines;
    lines.reserve(it->second.size());
    for (const auto& [statement, suspects] : it->second) lines.push_back({statement, suspects});
    std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
        return a.suspects != b.suspects ? a.suspects > b.suspects : a.statement < b.statement;
    });
    if (lines.size() > top) lines.resize(top);
    return lines;
}

}  // namespace tether::attribution
