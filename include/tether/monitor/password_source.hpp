// Where the monitor's password comes from: --monitor-password-file (a mounted
// Kubernetes Secret, re-read when it changes) or TETHER_MONITOR_PASSWORD.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tether/config/config.hpp"
#include "tether/monitor/secret.hpp"
#include "tether/util/file_identity.hpp"

namespace tether::monitor {


class PasswordSource {
public:
    // Files longer than this are not a password (a wrong path, say a log).
    static constexpr std::size_t max_file_size = 4096;

    // From a file: read now; nullopt (with a message naming the flag, never
    // the content) when it cannot be read.
    static std::optional<PasswordSource> from_file(const std::string& path, std::string& error);
    // A fixed value (the environment variable): never changes.
    static PasswordSource fixed(std::string_view value);
    // What the configuration names: the file, or TETHER_MONITOR_PASSWORD
    // read from the environment now. nullopt with a message naming the flag.
    static std::optional<PasswordSource> from_config(const config::MonitorConfig& config, std::string& error);

    [[nodiscard]] const Secret& current() const { return current_; }
    [[nodiscard]] bool from_file() const { return !path_.empty(); }

    // Checks the file's identity; when it moved, reads it again. True when the
    // password is now different. A file that cannot be read keeps the old
    // password (error says why, once per change).
    bool reload_if_changed(std::string& error);

private:
    PasswordSource() = default;
    bool read(std::string& error);

    std::string path_;
    util::FileIdentity identity_{};
    Secret current_;
};

// The file's content as a password: one trailing "\n" (or "\r\n") stripped,
// as `echo pw > file` and `kubectl create secret --from-file` leave it.
std::string_view strip_trailing_newline(std::string_view text);

}  // namespace tether::monitor
