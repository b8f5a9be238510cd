// GET /connections query parameters: parsing, errors, matching, and what the route answers.
#include <doctest/doctest.h>

#include "response_headers.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "tether/admin/admin_api.hpp"
#include "tether/admin/connection_query.hpp"

using namespace tether::admin;

using tether::admin::test::header;

namespace {

ConnectionQuery parsed(std::string_view q) {
    std::string error;
    auto r = parse_connection_query(q, error);
    REQUIRE_MESSAGE(r.has_value(), error);
    return *r;
}

std::string error_of(std::string_view q) {
    std::string error;
    auto r = parse_connection_query(q, error);
    CHECK_FALSE(r.has_value());
    return error;
}

class ListingProxy : public ProxyView {
public:
    std::optional<ConnectionQuery> last;
    ConnectionPage page;
    std::string metrics_text() override { return {}; }
    bool ready() override { return true; }
    std::string not_ready_reason() override { return {}; }
    ConnectionPage connections(const ConnectionQuery& q) override {
        last = q;
        return page;
    }
    bool close_connection(std::uint64_t) override { return false; }
    void drain() override {}
    StatusSnapshot status() override { return {}; }
};

HttpRequest get(std::string target) {
    HttpRequest r;
    r.method = "GET";
    r.target = std::move(target);
    return r;
}

}  // namespace

TEST_CASE("No parameters: no filters and the default limit") {
    for (std::string_view q : {"", "&", "&&"}) {
        const auto query = parsed(q);
        CHECK_FALSE(query.client);
        CHECK_FALSE(query.user);
        CHECK_FALSE(query.state);
        CHECK(query.limit == ConnectionQuery::default_limit);
    }
    CHECK(ConnectionQuery::default_limit == 1000);
    CHECK(ConnectionQuery::max_limit == 10000);
}

TEST_CASE("Filters and limit are read, percent-decoded, '+' as a space") {
    const auto q = parsed("client=report%2Dservice&user=app+user&state=idle&limit=25");
    CHECK(*q.client == "report-service");
    CHECK(*q.user == "app user");
    CHECK(*q.state == "idle");
    CHECK(q.limit == 25);
    CHECK(*parsed("client=").client == "");
    CHECK(*parsed("client=%E2%82%AC").client == "\xE2\x82\xAC");
    CHECK(parsed("limit=10000").limit == 10000);
    CHECK(parsed("limit=1").limit == 1);
    for (std::string_view state : {"idle", "query", "connecting", "awaiting_greeting", "awaiting_login",
                                   "awaiting_admission", "authenticating", "relaying", "finishing_upstream"}) {
        CAPTURE(state);
        CHECK(*parsed("state=" + std::string(state)).state == state);
    }
}

TEST_CASE("Bad parameters are errors that say what is wrong") {
    CHECK(error_of("limit=0") == "limit: '0' is not a whole number from 1 to 10000");
    CHECK(error_of("limit=10001").starts_with("limit: '10001'"));
    CHECK(error_of("limit=-5").starts_with("limit: '-5'"));
    CHECK(error_of("limit=1e3").starts_with("limit: '1e3'"));
    CHECK(error_of("limit=").starts_with("limit: ''"));
    CHECK(error_of("limit=99999999999999999999999").starts_with("limit:"));
    CHECK(error_of("state=busy").starts_with("state: 'busy' is not one of idle, query, connecting"));
    CHECK(error_of("state=command").starts_with("state: 'command'"));
    CHECK(error_of("sort=id") == "unknown parameter 'sort' (use client, user, state, limit)");
    CHECK(error_of("client=a&client=b") == "parameter 'client' given twice");
    CHECK(error_of("limit=1&limit=2") == "parameter 'limit' given twice");
    CHECK(error_of("client=%zz") == "parameter 'client': bad percent-encoding");
    CHECK(error_of("client=%4") == "parameter 'client': bad percent-encoding");
    CHECK(error_of("client=abc%") == "parameter 'client': bad percent-encoding");
}

TEST_CASE("matches: every given filter must hold, exactly") {
    const auto q = parsed("client=billing&state=idle");
    CHECK(q.matches("billing", "anyone", "idle"));
    CHECK_FALSE(q.matches("billing", "anyone", "query"));
    CHECK_FALSE(q.matches("Billing", "anyone", "idle"));
    CHECK_FALSE(q.matches("billing-api", "anyone", "idle"));
    CHECK(parsed("").matches("", "", "connecting"));
    CHECK(parsed("user=app").matches("x", "app", "query"));
    CHECK_FALSE(parsed("user=app").matches("x", "app2", "query"));
}

TEST_CASE("connection_state names the command phase by whether a command is in flight") {
    using tether::session::Phase;
    CHECK(connection_state(Phase::command, false) == "idle");
    CHECK(connection_state(Phase::command, true) == "query");
    CHECK(connection_state(Phase::authenticating, false) == "authenticating");
    CHECK(connection_state(Phase::relaying, true) == "relaying");
}

TEST_CASE("GET /connections passes the query to the proxy and says how many matched") {
    ListingProxy proxy;
    ConnectionInfo row;
    row.id = 3;
    proxy.page.rows = {row};
    proxy.page.total = 1;
    auto r = handle_admin_request(get("/connections?user=app&limit=5"), proxy, AdminAccess{});
    CHECK(r.status == 200);
    REQUIRE(proxy.last);
    CHECK(*proxy.last->user == "app");
    CHECK(proxy.last->limit == 5);
    REQUIRE(header(r, "X-Tether-Total") != nullptr);
    CHECK(*header(r, "X-Tether-Total") == "1");
    CHECK(*header(r, "X-Tether-Truncated") == "false");
    CHECK(nlohmann::json::parse(r.body).size() == 1);

    proxy.page.total = 9950;
    r = handle_admin_request(get("/connections"), proxy, AdminAccess{});
    CHECK(*header(r, "X-Tether-Total") == "9950");
    CHECK(*header(r, "X-Tether-Truncated") == "true");
    CHECK(nlohmann::json::parse(r.body).is_array());
}

TEST_CASE("GET /connections with a bad query answers 400 with the reason and asks the proxy nothing") {
    ListingProxy proxy;
    const auto r = handle_admin_request(get("/connections?limit=0"), proxy, AdminAccess{});
    CHECK(r.status == 400);
    CHECK(r.body == "bad request: limit: '0' is not a whole number from 1 to 10000\n");
    CHECK_FALSE(r.close);  // a query mistake, not a broken connection
    CHECK_FALSE(proxy.last);
    CHECK(handle_admin_request(get("/connections?state=zzz"), proxy, AdminAccess{}).status == 400);
    CHECK(handle_admin_request(get("/connections?nope=1"), proxy, AdminAccess{}).status == 400);
}
