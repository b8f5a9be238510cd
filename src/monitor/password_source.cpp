// The monitor's password (see password_source.hpp).
#include "tether/monitor/password_source.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tether::monitor {

Secret& Secret::operator=(const Secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

void Secret::wipe() {
    // The whole capacity: a shorter value assigned earlier may have left bytes past size().
    if (value_.capacity() > 0) OPENSSL_cleanse(value_.data(), value_.capacity());
    value_.clear();
}


std::string_view strip_trailing_newline(std::string_view text) {
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    return text;
}

std::optional<PasswordSource> PasswordSource::from_file(const std::string& path, std::string& error) {
    PasswordSource source;
    source.path_ = path;
    source.identity_ = util::file_identity(path);
    if (!source.read(error)) return std::nullopt;
    return source;
}

PasswordSource PasswordSource::fixed(std::string_view value) {
    PasswordSource source;
    source.current_ = Secret(value);
    return source;
}

// One read() into a fixed buffer that is wiped afterwards: no std::string
// growth leaves copies of the password on the heap.
bool PasswordSource::read(std::string& error) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = "--monitor-password-file: cannot open " + path_ + ": " + std::strerror(errno);
        return false;
    }
    std::array<char, max_file_size + 1> buffer{};
    std::size_t length = 0;
    while (length < buffer.size()) {
        const ssize_t n = ::read(fd, buffer.data() + length, buffer.size() - length);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = "--monitor-password-file: cannot read " + path_ + ": " + std::strerror(errno);
            ::close(fd);
            OPENSSL_cleanse(buffer.data(), buffer.size());
            return false;
        }
        if (n == 0) break;
        length += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (length > max_file_size) {
        OPENSSL_cleanse(buffer.data(), buffer.size());
        error = "--monitor-password-file: " + path_ + " is longer than " + std::to_string(max_file_size) +
                " bytes: not a password file";
        return false;
    }
    current_ = Secret(strip_trailing_newline(std::string_view(buffer.data(), length)));
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return true;
}

std::optional<PasswordSource> PasswordSource::from_config(const config::MonitorConfig& config, std::string& error) {
    if (!config.password_file.empty()) return from_file(config.password_file, error);
    const char* value = std::getenv(config::monitor_password_env);
    if (value == nullptr) {
        error = "--monitor-user: needs --monitor-password-file FILE or TETHER_MONITOR_PASSWORD";
        return std::nullopt;
    }
    return fixed(value);
}

bool PasswordSource::reload_if_changed(std::string& error) {
    if (path_.empty()) return false;
    const util::FileIdentity now = util::file_identity(path_);
    if (now == identity_) return false;
    identity_ = now;
    const Secret previous = current_;
    if (!read(error)) return false;
    return !previous.same_as(current_);
}

}  // namespace tether::monitor
