// Log lines: JSON lines must parse with a strict parser whatever bytes the fields hold.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tether/util/log.hpp"

using namespace tether;

TEST_CASE("a JSON line with client bytes that are not UTF-8 is valid JSON and valid UTF-8") {
    const std::string program("evil\xFF\xFE-\x80-\xC3", 10);
    const std::string line = log::format_line(log::Level::info, log::Format::json, "session_opened",
                                              {{"client", program}, {"note", "tab\there \"quoted\" \\ \x01\x7f"}});
    REQUIRE(line.ends_with("}\n"));
    nlohmann::json json;
    // nlohmann's parser rejects ill-formed UTF-8 inside strings.
    REQUIRE_NOTHROW(json = nlohmann::json::parse(line));
    CHECK(json.at("event") == "session_opened");
    CHECK(json.at("level") == "info");
    CHECK(json.at("client").get<std::string>() == "evil\xEF\xBF\xBD\xEF\xBF\xBD-\xEF\xBF\xBD-\xEF\xBF\xBD");
    CHECK(json.at("note").get<std::string>() == "tab\there \"quoted\" \\ \x01\x7f");
    CHECK(line.find('\t') == std::string::npos);
}

TEST_CASE("valid UTF-8 passes into JSON lines unchanged") {
    const std::string line =
        log::format_line(log::Level::warn, log::Format::json, "x", {{"client", "caf\xC3\xA9 \xF0\x9F\x98\x80"}});
    CHECK(nlohmann::json::parse(line).at("client").get<std::string>() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST_CASE("text lines replace ill-formed UTF-8 and control characters too") {
    const std::string line = log::format_line(log::Level::info, log::Format::text, "x", {{"client", "a\xFF\x01z"}});
    CHECK(line.ends_with(" info x client=a\xEF\xBF\xBD?z\n"));
    const std::string quoted = log::format_line(log::Level::info, log::Format::text, "x", {{"client", "a b\xFF"}});
    CHECK(quoted.ends_with(" client=\"a b\xEF\xBF\xBD\"\n"));
}
