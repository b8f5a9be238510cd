// One line per event on stderr, as text or JSON. Never pass secrets in fields.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tether::log {

enum class Level { debug, info, warn, error };
enum class Format { text, json };

std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);
void configure(Level minimum, Format format);
bool enabled(Level level);

// A field's value is viewed, not copied: a line below the level costs no
// copies of the strings it names (a temporary such as std::to_string(id)
// lives until the call returns, which is as long as the field is used).
using Field = std::pair<std::string_view, std::string_view>;

// `event` is a stable snake_case name (e.g. "session_closed"); fields follow
// in the order given.
// One line, newline included. JSON lines are valid UTF-8 whatever the fields
// hold (ill-formed sequences become U+FFFD); text lines too.
std::string format_line(Level level, Format format, std::string_view event, std::initializer_list<Field> fields);
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields) {
    if (enabled(Level::debug)) write(Level::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields) {
    if (enabled(Level::info)) write(Level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields) {
    if (enabled(Level::warn)) write(Level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields) {
    if (enabled(Level::error)) write(Level::error, event, fields);
}

}  // namespace tether::log
