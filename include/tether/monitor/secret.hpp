// A password held in memory: never printed, and its bytes wiped
// (OPENSSL_cleanse) when it is replaced or destroyed.
#pragma once

#include <string>
#include <string_view>

namespace tether::monitor {

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string_view value) : value_(value) {}
    Secret(const Secret& other) : value_(other.value_) {}
    Secret& operator=(const Secret& other);
    ~Secret() { wipe(); }

    [[nodiscard]] std::string_view view() const { return value_; }
    [[nodiscard]] bool empty() const { return value_.empty(); }
    // Compared without leaving copies behind (a reload that read the same file again).
    [[nodiscard]] bool same_as(const Secret& other) const { return value_ == other.value_; }
    void wipe();

private:
    std::string value_;
};

}  // namespace tether::monitor
