// Event logging to stderr (see log.hpp).
#include "tether/util/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "tether/util/json_string.hpp"
#include "tether/util/utf8.hpp"

namespace tether::log {

namespace {

Level minimum_level = Level::info;
Format output_format = Format::text;

std::string_view level_name(Level level) {
    switch (level) {
        case Level::debug: return "debug";
        case Level::info: return "info";
        case Level::warn: return "warn";
        case Level::error: return "error";
    }
    return "info";
}

void append_timestamp(std::string& out) {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    out += buffer;
}

void append_json_string(std::string& out, std::string_view s) { json::append_string(out, s); }

// Text values with spaces or quotes are quoted so a line stays parseable as
// key=value; control characters and ill-formed UTF-8 never reach the line raw.
void append_text_value(std::string& out, std::string_view s) {
    const bool plain = !s.empty() && s.find_first_of(" \"=\t\n\r") == std::string_view::npos;
    if (plain) {
        std::string valid;
        utf8::append_replacing_invalid(valid, s);
        for (char c : valid) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
    } else {
        append_json_string(out, s);
    }
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
    if (name == "debug") return Level::debug;
    if (name == "info") return Level::info;
    if (name == "warn" || name == "warning") return Level::warn;
    if (name == "error") return Level::error;
    return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
    if (name == "text") return Format::text;
    if (name == "json") return Format::json;
    return std::nullopt;
}

void configure(Level minimum, Format format) {
    minimum_level = minimum;
    output_format = format;
}

bool enabled(Level level) { return level >= minimum_level; }

std::string format_line(Level level, Format format, std::string_view event, std::initializer_list<Field> fields) {
    std::string line;
    line.reserve(256);
    if (format == Format::json) {
        line += "{\"ts\":\"";
        append_timestamp(line);
        line += "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"event\":";
        append_json_string(line, event);
        for (const auto& [key, value] : fields) {
            line += ',';
            append_json_string(line, key);
            line += ':';
            append_json_string(line, value);
        }
        line += "}\n";
    } else {
        append_timestamp(line);
        line += ' ';
        line += level_name(level);
        line += ' ';
        line += event;
        for (const auto& [key, value] : fields) {
            line += ' ';
            line += key;
            line += '=';
            append_text_value(line, value);
        }
        line += '\n';
    }
    return line;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
    const std::string line = format_line(level, output_format, event, fields);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tether::log
