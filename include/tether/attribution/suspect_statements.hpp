// What the leak suspects of each client last ran, for the periodic leak report:
// "28 of 30 suspects last ran SELECT * FROM invoices WHERE customer_id = ?".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tether/attribution/leak_scan.hpp"

namespace tether::attribution {

// Built for one report from the suspects of one scan, then dropped: it holds at
// most one fingerprint per suspect.
class SuspectStatements {
public:
    // `fingerprint`: the suspect's latest statement (none: it ran no statement,
    // or fingerprints are off); `commands`: how many commands it ran after login.
    void add(const LabelPair& labels, const std::optional<std::string>& fingerprint, std::uint64_t commands);

    struct Line {
        std::string statement;  // a fingerprint, or one of the texts below
        std::size_t suspects = 0;
    };
    // The pair's most common lines, most suspects first (ties by text), at most `top`.
    [[nodiscard]] std::vector<Line> top(const LabelPair& labels, std::size_t top = 3) const;

    // The line of suspects that ran no command at all after their login: a pool
    // that opened connections and never used them, the signature of a pool built
    // per request.
    static constexpr const char* never_used = "(no command since login)";
    // Suspects that ran commands but no statement tether kept (fingerprints off).
    static constexpr const char* not_recorded = "(no statement recorded)";

private:
    std::map<LabelPair, std::map<std::string, std::size_t>> counts_;
};

}  // namespace tether::attribution
