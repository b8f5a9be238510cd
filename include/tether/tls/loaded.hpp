// What a TLS loading step returns: the thing it made, or why it could not.
#pragma once

#include <memory>
#include <string>
#include <utility>

namespace tether::tls {

// The tls layer never throws across its boundary and never logs: a caller
// gets either a value or a message it can log or print next to the flag that
// named the file. Messages name files and OpenSSL's reasons, never key
// material or passwords.
template <class T>
class Loaded {
public:
    static Loaded ok(T value) { return Loaded(std::move(value), {}); }
    static Loaded failed(std::string error) { return Loaded(T{}, std::move(error)); }

    [[nodiscard]] bool has_value() const { return error_.empty(); }
    explicit operator bool() const { return has_value(); }
    [[nodiscard]] const T& value() const { return value_; }
    [[nodiscard]] T& value() { return value_; }
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    Loaded(T value, std::string error) : value_(std::move(value)), error_(std::move(error)) {}
    T value_;
    std::string error_;
};

}  // namespace tether::tls
