// AdmissionControl: the total / per-client / per-user caps, their order, and the admin lane.
#include <doctest/doctest.h>

#include <string>

#include "tether/attribution/admission.hpp"

using tether::attribution::AdmissionControl;
using tether::attribution::AdmissionVerdict;
using tether::attribution::ConnectionLimits;
using tether::attribution::Limit;
using tether::attribution::limit_name;

namespace {

ConnectionLimits limits(std::size_t total, std::size_t per_client, std::size_t per_user,
                        std::vector<std::string> admins = {}) {
    ConnectionLimits l;
    l.total = total;
    l.per_client = per_client;
    l.per_user = per_user;
    l.admin_users = std::move(admins);
    return l;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Decides and, when allowed (and not admin), charges: what the proxy does at each login.
AdmissionVerdict login(AdmissionControl& ac, const std::string& client, const std::string& user) {
    AdmissionVerdict v = ac.decide(client, user);
    if (v.allowed && !v.admin) ac.charge(client, user);
    return v;
}

}  // namespace

TEST_CASE("limit_name names each limit") {
    CHECK(limit_name(Limit::total) == "total");
    CHECK(limit_name(Limit::client) == "client");
    CHECK(limit_name(Limit::user) == "user");
}

TEST_CASE("A default verdict is an allowance with no error") {
    const AdmissionVerdict v;
    CHECK(v.allowed);
    CHECK_FALSE(v.admin);
    CHECK(v.error_code == 0);
    CHECK(v.sql_state.empty());
    CHECK(v.message.empty());
}

TEST_CASE("Without caps every login is allowed, and each is counted") {
    AdmissionControl ac(limits(0, 0, 0));
    for (int i = 0; i < 1000; ++i) {
        const auto v = login(ac, "app", "u");
        REQUIRE(v.allowed);
        CHECK_FALSE(v.admin);
        CHECK(v.error_code == 0);
        CHECK(v.sql_state.empty());
        CHECK(v.message.empty());
    }
    CHECK(ac.total() == 1000);
    CHECK(ac.of_client("app") == 1000);
    CHECK(ac.of_user("u") == 1000);
}

TEST_CASE("Counts start at zero and unknown keys count zero") {
    const AdmissionControl ac(limits(5, 5, 5));
    CHECK(ac.total() == 0);
    CHECK(ac.of_client("nobody") == 0);
    CHECK(ac.of_user("nobody") == 0);
    CHECK(ac.of_client("") == 0);
}

TEST_CASE("charge counts per client, per user and in total") {
    AdmissionControl ac(limits(0, 0, 0));
    ac.charge("a", "u1");
    ac.charge("a", "u2");
    ac.charge("b", "u1");
    CHECK(ac.total() == 3);
    CHECK(ac.of_client("a") == 2);
    CHECK(ac.of_client("b") == 1);
    CHECK(ac.of_user("u1") == 2);
    CHECK(ac.of_user("u2") == 1);
    // Clients and users are separate namespaces.
    CHECK(ac.of_client("u1") == 0);
    CHECK(ac.of_user("a") == 0);
}

TEST_CASE("The per-client cap refuses the (N+1)th login of that client with 1203 / 42000") {
    AdmissionControl ac(limits(0, 3, 0));
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        const auto v = login(ac, "billing", "app_user");
        CHECK(v.allowed);
    }
    const auto v = ac.decide("billing", "app_user");
    CHECK_FALSE(v.allowed);
    CHECK_FALSE(v.admin);
    CHECK(v.limit == Limit::client);
    CHECK(v.error_code == 1203);
    CHECK(v.sql_state == "42000");
    CHECK(contains(v.message, "'billing'"));
    CHECK(contains(v.message, "--max-connections-per-client"));
    CHECK(contains(v.message, "3"));
    CHECK_FALSE(contains(v.message, "app_user"));

    // decide() alone charges nothing.
    CHECK(ac.of_client("billing") == 3);
    CHECK(ac.total() == 3);

    // Another client, even with the same user, is not affected.
    CHECK(ac.decide("reports", "app_user").allowed);
}

TEST_CASE("The per-client cap message says how many connections the client has and the cap") {
    AdmissionControl ac(limits(0, 2, 0));
    login(ac, "c", "u");
    login(ac, "c", "u");
    const auto v = ac.decide("c", "u");
    REQUIRE_FALSE(v.allowed);
    CHECK(v.message == "tether: client 'c' already has 2 connections: --max-connections-per-client 2");
}

TEST_CASE("The per-user cap refuses the (N+1)th login of that user with 1203 / 42000") {
    AdmissionControl ac(limits(0, 0, 2));
    CHECK(login(ac, "a", "root").allowed);
    CHECK(login(ac, "b", "root").allowed);
    const auto v = ac.decide("c", "root");
    CHECK_FALSE(v.allowed);
    CHECK_FALSE(v.admin);
    CHECK(v.limit == Limit::user);
    CHECK(v.error_code == 1203);
    CHECK(v.sql_state == "42000");
    CHECK(contains(v.message, "'root'"));
    CHECK(contains(v.message, "--max-connections-per-user"));
    CHECK(v.message == "tether: user 'root' already has 2 connections: --max-connections-per-user 2");

    // Another user of the same client is still allowed.
    CHECK(ac.decide("c", "other").allowed);
    CHECK(ac.decide("a", "other").allowed);
}

TEST_CASE("The total cap refuses everyone with 1040 / 08004 once full") {
    AdmissionControl ac(limits(3, 0, 0));
    CHECK(login(ac, "a", "u1").allowed);
    CHECK(login(ac, "b", "u2").allowed);
    CHECK(login(ac, "c", "u3").allowed);
    const auto v = ac.decide("d", "u4");
    CHECK_FALSE(v.allowed);
    CHECK_FALSE(v.admin);
    CHECK(v.limit == Limit::total);
    CHECK(v.error_code == 1040);
    CHECK(v.sql_state == "08004");
    CHECK(contains(v.message, "--max-connections 3"));
    CHECK_FALSE(contains(v.message, "--max-connections-per"));
    CHECK(contains(v.message, "'d'"));
    CHECK(contains(v.message, "'u4'"));
    // A client that already has sessions is refused the same way.
    const auto again = ac.decide("a", "u1");
    CHECK_FALSE(again.allowed);
    CHECK(again.limit == Limit::total);
    CHECK(again.error_code == 1040);
}

TEST_CASE("A cap of 1 allows exactly one session") {
    AdmissionControl ac(limits(0, 1, 0));
    CHECK(login(ac, "a", "u").allowed);
    CHECK_FALSE(ac.decide("a", "u").allowed);
    CHECK(ac.decide("b", "u").allowed);
}

TEST_CASE("When several caps are reached the per-client one is reported first, then per-user, then total") {
    AdmissionControl ac(limits(2, 2, 2));
    CHECK(login(ac, "a", "u").allowed);
    CHECK(login(ac, "a", "u").allowed);

    // Client a, user u and the total are all at their caps: the client cap is named.
    auto v = ac.decide("a", "u");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::client);
    CHECK(v.error_code == 1203);
    CHECK(contains(v.message, "--max-connections-per-client"));

    // A new client with the full user: the user cap (before the total one).
    v = ac.decide("b", "u");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::user);
    CHECK(v.error_code == 1203);
    CHECK(contains(v.message, "--max-connections-per-user"));

    // A new client and a new user: only the total is full.
    v = ac.decide("b", "w");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::total);
    CHECK(v.error_code == 1040);
    CHECK(v.sql_state == "08004");
}

TEST_CASE("The per-user cap is reported before the total one") {
    AdmissionControl ac(limits(2, 0, 1));
    CHECK(login(ac, "a", "u").allowed);
    CHECK(login(ac, "b", "w").allowed);
    const auto v = ac.decide("c", "u");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::user);
}

TEST_CASE("Admin users are allowed past every cap and charge nothing") {
    AdmissionControl ac(limits(1, 1, 1, {"dba", "root"}));
    CHECK(login(ac, "app", "app_user").allowed);
    // Everything is now full for non-admins.
    CHECK_FALSE(ac.decide("app", "app_user").allowed);
    CHECK_FALSE(ac.decide("other", "someone").allowed);

    for (const std::string admin : {"dba", "root"}) {
        CAPTURE(admin);
        for (const std::string client : {"app", "other"}) {
            CAPTURE(client);
            const auto v = ac.decide(client, admin);
            CHECK(v.allowed);
            CHECK(v.admin);
            CHECK(v.error_code == 0);
            CHECK(v.sql_state.empty());
            CHECK(v.message.empty());
        }
    }
    // Admin logins as the proxy performs them leave the counts alone.
    for (int i = 0; i < 5; ++i) CHECK(login(ac, "app", "root").admin);
    CHECK(ac.total() == 1);
    CHECK(ac.of_client("app") == 1);
    CHECK(ac.of_user("root") == 0);
}

TEST_CASE("Admin users are allowed, flagged admin, even without caps") {
    AdmissionControl ac(limits(0, 0, 0, {"dba"}));
    const auto v = ac.decide("x", "dba");
    CHECK(v.allowed);
    CHECK(v.admin);
    CHECK_FALSE(ac.decide("x", "app").admin);
}

TEST_CASE("is_admin matches whole user names exactly") {
    const AdmissionControl ac(limits(0, 0, 0, {"dba", "root"}));
    CHECK(ac.is_admin("dba"));
    CHECK(ac.is_admin("root"));
    CHECK_FALSE(ac.is_admin("Root"));
    CHECK_FALSE(ac.is_admin("db"));
    CHECK_FALSE(ac.is_admin("dba "));
    CHECK_FALSE(ac.is_admin(""));
    const AdmissionControl none(limits(0, 0, 0));
    CHECK_FALSE(none.is_admin("root"));
    CHECK_FALSE(none.is_admin(""));
}

TEST_CASE("An admin name given as a client label does not make the login an admin one") {
    AdmissionControl ac(limits(0, 1, 0, {"dba"}));
    CHECK(login(ac, "dba", "app").allowed);
    const auto v = ac.decide("dba", "app");
    CHECK_FALSE(v.allowed);
    CHECK_FALSE(v.admin);
}

TEST_CASE("release frees the slot a charge took") {
    AdmissionControl ac(limits(2, 1, 1));
    CHECK(login(ac, "a", "u").allowed);
    CHECK_FALSE(ac.decide("a", "u").allowed);
    ac.release("a", "u");
    CHECK(ac.total() == 0);
    CHECK(ac.of_client("a") == 0);
    CHECK(ac.of_user("u") == 0);
    CHECK(ac.decide("a", "u").allowed);

    // The total cap frees up the same way.
    CHECK(login(ac, "a", "u").allowed);
    CHECK(login(ac, "b", "w").allowed);
    CHECK(ac.decide("c", "x").limit == Limit::total);
    CHECK_FALSE(ac.decide("c", "x").allowed);
    ac.release("b", "w");
    CHECK(ac.decide("c", "x").allowed);
}

TEST_CASE("charge and release are symmetric over many sessions") {
    AdmissionControl ac(limits(0, 0, 0));
    const std::vector<std::pair<std::string, std::string>> sessions{
        {"a", "u"}, {"a", "u"}, {"a", "w"}, {"b", "u"}, {"c", "x"}, {"a", "u"}};
    for (const auto& [c, u] : sessions) ac.charge(c, u);
    CHECK(ac.total() == 6);
    CHECK(ac.of_client("a") == 4);
    CHECK(ac.of_user("u") == 4);
    for (const auto& [c, u] : sessions) ac.release(c, u);
    CHECK(ac.total() == 0);
    for (const std::string key : {"a", "b", "c"}) CHECK(ac.of_client(key) == 0);
    for (const std::string key : {"u", "w", "x"}) CHECK(ac.of_user(key) == 0);
}

TEST_CASE("release of unknown keys or with nothing charged is harmless") {
    AdmissionControl ac(limits(0, 0, 0));
    ac.release("ghost", "nobody");
    CHECK(ac.total() == 0);
    CHECK(ac.of_client("ghost") == 0);
    CHECK(ac.of_user("nobody") == 0);

    ac.charge("a", "u");
    ac.charge("b", "w");
    // Releasing a pair that was never charged never touches other clients' or users' counts.
    ac.release("ghost", "nobody");
    CHECK(ac.of_client("a") == 1);
    CHECK(ac.of_client("b") == 1);
    CHECK(ac.of_user("u") == 1);
    CHECK(ac.of_user("w") == 1);

    // Extra releases never wrap below zero.
    ac.release("a", "u");
    ac.release("a", "u");
    ac.release("b", "w");
    ac.release("b", "w");
    CHECK(ac.total() == 0);
    CHECK(ac.of_client("a") == 0);
    CHECK(ac.of_user("u") == 0);
    ac.charge("a", "u");
    CHECK(ac.total() == 1);
    CHECK(ac.of_client("a") == 1);
    CHECK(ac.of_user("u") == 1);
}

TEST_CASE("A session moved to a new identity (release then charge) counts under the new one") {
    AdmissionControl ac(limits(0, 1, 1));
    ac.charge("a", "u");
    ac.release("a", "u");
    ac.charge("b", "w");
    CHECK(ac.total() == 1);
    CHECK(ac.of_client("a") == 0);
    CHECK(ac.of_user("u") == 0);
    CHECK(ac.decide("a", "u").allowed);
    CHECK_FALSE(ac.decide("b", "z").allowed);
    CHECK_FALSE(ac.decide("z", "w").allowed);
}
