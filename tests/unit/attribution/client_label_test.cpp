// --client-label rules: parsing, resolution order against a login, and value cleaning.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tether/attribution/client_label.hpp"

using tether::attribution::clean_label_value;
using tether::attribution::LabelRule;
using tether::attribution::parse_label_rules;
using tether::attribution::resolve_client_label;
using tether::codec::Login;

namespace {

std::vector<LabelRule> rules_of(std::string_view spec) {
    std::string error;
    auto rules = parse_label_rules(spec, error);
    REQUIRE_MESSAGE(rules.has_value(), "spec '", std::string(spec), "': ", error);
    return *rules;
}

Login login_with(std::string user, std::vector<std::pair<std::string, std::string>> attributes) {
    Login login;
    login.user = std::move(user);
    login.attributes = std::move(attributes);
    return login;
}

}  // namespace

TEST_CASE("parse_label_rules reads the default list in order") {
    const auto rules = rules_of("attr:program_name,user,addr");
    REQUIRE(rules.size() == 3);
    CHECK(rules[0].kind == LabelRule::Kind::attribute);
    CHECK(rules[0].attribute == "program_name");
    CHECK(rules[1].kind == LabelRule::Kind::user);
    CHECK(rules[2].kind == LabelRule::Kind::addr);
}

TEST_CASE("parse_label_rules accepts single rules and repeated attributes") {
    CHECK(rules_of("user").size() == 1);
    CHECK(rules_of("addr")[0].kind == LabelRule::Kind::addr);
    const auto rules = rules_of("attr:_client_name,attr:program_name");
    REQUIRE(rules.size() == 2);
    CHECK(rules[0].attribute == "_client_name");
    CHECK(rules[1].attribute == "program_name");
}

TEST_CASE("parse_label_rules trims spaces and tabs around each rule") {
    const auto rules = rules_of("  attr:program_name ,\tuser\t,  addr  ");
    REQUIRE(rules.size() == 3);
    CHECK(rules[0].kind == LabelRule::Kind::attribute);
    CHECK(rules[0].attribute == "program_name");
    CHECK(rules[1].kind == LabelRule::Kind::user);
    CHECK(rules[2].kind == LabelRule::Kind::addr);
}

TEST_CASE("parse_label_rules refuses bad rules and names the culprit") {
    struct Bad {
        const char* spec;
        const char* in_error;
    };
    const Bad cases[] = {
        {"", "no rules"},
        {"hostname", "'hostname'"},
        {"attr:", "'attr:'"},
        {"attr", "'attr'"},
        {"USER", "'USER'"},
        {"user,,addr", "''"},
        {"user,bogus", "'bogus'"},
        {"attr :x", "'attr :x'"},
    };
    for (const auto& bad : cases) {
        const std::string spec = bad.spec;
        CAPTURE(spec);
        std::string error;
        const auto rules = parse_label_rules(spec, error);
        CHECK_FALSE(rules.has_value());
        CHECK(error.find(bad.in_error) != std::string::npos);
    }
}

TEST_CASE("parse_label_rules says what a rule may be") {
    std::string error;
    REQUIRE_FALSE(parse_label_rules("nope", error).has_value());
    CHECK(error == "unknown rule 'nope' (expected attr:NAME, user or addr)");
}

TEST_CASE("resolve_client_label takes the first rule that yields a value") {
    const auto rules = rules_of("attr:program_name,user,addr");

    SUBCASE("the attribute when present") {
        CHECK(resolve_client_label(rules, login_with("app", {{"_os", "Linux"}, {"program_name", "billing"}}),
                                   "10.0.0.7:5123") == "billing");
    }
    SUBCASE("the user when the attribute is absent") {
        CHECK(resolve_client_label(rules, login_with("app", {{"_os", "Linux"}}), "10.0.0.7:5123") == "app");
    }
    SUBCASE("the user when the attribute is empty or only whitespace") {
        CHECK(resolve_client_label(rules, login_with("app", {{"program_name", ""}}), "10.0.0.7:5123") == "app");
        CHECK(resolve_client_label(rules, login_with("app", {{"program_name", " \t "}}), "10.0.0.7:5123") ==
              "app");
    }
    SUBCASE("the address when neither attribute nor user is there") {
        CHECK(resolve_client_label(rules, login_with("", {}), "10.0.0.7:5123") == "10.0.0.7:5123");
    }
    SUBCASE("\"unknown\" when nothing yields a value") {
        CHECK(resolve_client_label(rules, login_with("", {}), "") == "unknown");
    }
}

TEST_CASE("resolve_client_label follows the order the rules were given in") {
    const Login login = login_with("app", {{"program_name", "billing"}});
    CHECK(resolve_client_label(rules_of("user,attr:program_name"), login, "peer") == "app");
    CHECK(resolve_client_label(rules_of("addr,user"), login, "peer") == "peer");
    CHECK(resolve_client_label(rules_of("attr:missing"), login, "peer") == "unknown");
}

TEST_CASE("resolve_client_label trims and cleans the winning value") {
    const auto rules = rules_of("attr:program_name");
    CHECK(resolve_client_label(rules, login_with("", {{"program_name", "  billing\t"}}), "") == "billing");
    CHECK(resolve_client_label(rules, login_with("", {{"program_name", "a\"b\\c\nd"}}), "") == "a_b_c_d");
    const std::string long_name(200, 'x');
    CHECK(resolve_client_label(rules, login_with("", {{"program_name", long_name}}), "") == std::string(64, 'x'));
}

TEST_CASE("clean_label_value keeps printable ASCII") {
    CHECK(clean_label_value("billing-api_v2.1 (prod)") == "billing-api_v2.1 (prod)");
    CHECK(clean_label_value("") == "");
}

TEST_CASE("clean_label_value replaces control characters, quotes and backslashes") {
    CHECK(clean_label_value("a\nb\rc\td") == "a_b_c_d");
    CHECK(clean_label_value(std::string("x\0y", 3)) == "x_y");
    CHECK(clean_label_value("\x7f") == "_");
    CHECK(clean_label_value("say \"hi\"") == "say _hi_");
    CHECK(clean_label_value("C:\\app") == "C:_app");
    // Each byte of a multi-byte UTF-8 sequence is replaced: no partial code points survive.
    CHECK(clean_label_value("caf\xc3\xa9") == "caf__");
    CHECK(clean_label_value("\xff\xfe") == "__");
}

TEST_CASE("clean_label_value caps the length at 64 characters") {
    CHECK(clean_label_value(std::string(64, 'a')) == std::string(64, 'a'));
    CHECK(clean_label_value(std::string(65, 'a')) == std::string(64, 'a'));
    CHECK(clean_label_value(std::string(10'000, '\n')) == std::string(64, '_'));
}
