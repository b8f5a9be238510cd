// The password file: read, newline stripped, re-read when it is replaced (as a
// Kubernetes Secret volume replaces it), errors that name the flag and not the content.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tether/monitor/password_source.hpp"

namespace tether::monitor {

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/tether-monitor-test-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

void write_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// As a Secret volume does it: a new file renamed over the old one (a new inode).
void replace_file(const std::filesystem::path& path, const std::string& content) {
    const auto next = path.string() + ".next";
    write_file(next, content);
    std::filesystem::rename(next, path);
}

}  // namespace

TEST_CASE("one trailing newline is stripped, nothing else") {
    CHECK(strip_trailing_newline("pw\n") == "pw");
    CHECK(strip_trailing_newline("pw\r\n") == "pw");
    CHECK(strip_trailing_newline("pw\n\n") == "pw\n");
    CHECK(strip_trailing_newline(" pw ") == " pw ");
    CHECK(strip_trailing_newline("") == "");
}

TEST_CASE("the file is read, and read again only when it was replaced") {
    TempDir dir;
    const auto file = dir.path / "password";
    write_file(file, "first\n");
    std::string error;
    auto source = PasswordSource::from_file(file.string(), error);
    REQUIRE(source);
    CHECK(source->from_file());
    CHECK(source->current().view() == "first");
    CHECK_FALSE(source->reload_if_changed(error));
    replace_file(file, "second\n");
    CHECK(source->reload_if_changed(error));
    CHECK(error.empty());
    CHECK(source->current().view() == "second");
    // Replaced with the same content: nothing to do.
    replace_file(file, "second\n");
    CHECK_FALSE(source->reload_if_changed(error));
    CHECK(source->current().view() == "second");
}

TEST_CASE("a file that goes away keeps the password; errors name the flag, never the content") {
    TempDir dir;
    const auto file = dir.path / "password";
    write_file(file, "kept-secret");
    std::string error;
    auto source = PasswordSource::from_file(file.string(), error);
    REQUIRE(source);
    std::filesystem::remove(file);
    CHECK_FALSE(source->reload_if_changed(error));
    CHECK(error.find("--monitor-password-file") != std::string::npos);
    CHECK(source->current().view() == "kept-secret");

    error.clear();
    CHECK_FALSE(PasswordSource::from_file((dir.path / "missing").string(), error));
    CHECK(error.find("--monitor-password-file") != std::string::npos);

    write_file(file, std::string(PasswordSource::max_file_size + 1, 'k'));
    error.clear();
    CHECK_FALSE(PasswordSource::from_file(file.string(), error));
    CHECK(error.find("longer than") != std::string::npos);
    CHECK(error.find("kkkk") == std::string::npos);
}

TEST_CASE("from the configuration: the file, or TETHER_MONITOR_PASSWORD") {
    config::MonitorConfig config;
    config.user = "monitor";
    ::setenv(config::monitor_password_env, "from-env", 1);
    std::string error;
    auto source = PasswordSource::from_config(config, error);
    ::unsetenv(config::monitor_password_env);
    REQUIRE(source);
    CHECK_FALSE(source->from_file());
    CHECK(source->current().view() == "from-env");
    error.clear();
    CHECK_FALSE(PasswordSource::from_config(config, error));
    CHECK(error.find("TETHER_MONITOR_PASSWORD") != std::string::npos);
}

TEST_CASE("a Secret wipes what it held when replaced") {
    Secret secret("first-password");
    const char* bytes = secret.view().data();
    secret.wipe();
    CHECK(secret.empty());
    // The buffer is still the string's own (capacity kept), now zeroed.
    for (std::size_t i = 0; i < 14; ++i) CHECK(bytes[i] == '\0');
}

}  // namespace tether::monitor
