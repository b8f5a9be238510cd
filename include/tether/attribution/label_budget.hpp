// Caps how many distinct values a metric label may take (--max-client-labels).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace tether::attribution {

// Counts references per label value. A value already held is always granted;
// a new one is granted while fewer than `capacity` values are held, otherwise
// the caller gets `overflow` ("_other") instead. Releasing the last reference
// frees the slot. Keeps Prometheus cardinality bounded whatever clients send.
class LabelBudget {
public:
    static constexpr std::string_view overflow = "_other";

    explicit LabelBudget(std::size_t capacity) : capacity_(capacity) {}

    // Returns the label to use (the value, or "_other") and takes a reference on it.
    std::string acquire(const std::string& value);
    void release(const std::string& label);
    // What acquire(value) would return, without taking a reference.
    [[nodiscard]] std::string peek(const std::string& value) const;

    [[nodiscard]] std::size_t held() const { return references_.size(); }
    [[nodiscard]] std::size_t references(const std::string& label) const;

private:
    std::size_t capacity_;
    std::unordered_map<std::string, std::size_t> references_;
};

}  // namespace tether::attribution
