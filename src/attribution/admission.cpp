// Connection caps (see admission.hpp).
#include "tether/attribution/admission.hpp"

#include <algorithm>

namespace tether::attribution {

std::string_view limit_name(Limit limit) {
    switch (limit) {
        case Limit::total: return "total";
        case Limit::client: return "client";
        case Limit::user: return "user";
        case Limit::handshakes: return "handshakes";
        case Limit::handshakes_per_address: return "handshakes_per_address";
        case Limit::server: return "server";
    }
    return "total";
}

bool AdmissionControl::is_admin(const std::string& user) const {
    return std::find(limits_.admin_users.begin(), limits_.admin_users.end(), user) != limits_.admin_users.end();
}

std::size_t AdmissionControl::of_client(const std::string& client) const { return per_client_.of(client); }
std::size_t AdmissionControl::of_user(const std::string& user) const { return per_user_.of(user); }

AdmissionVerdict AdmissionControl::decide(const std::string& client, const std::string& user) const {
    AdmissionVerdict v;
    if (is_admin(user)) {
        v.admin = true;
        return v;
    }
    if (limits_.per_client != 0 && of_client(client) >= limits_.per_client) {
        return AdmissionVerdict::refused(Limit::client, 1203, "42000",  // ER_TOO_MANY_USER_CONNECTIONS
                                         "tether: client '" + client + "' already has " +
                                             std::to_string(of_client(client)) + " connections: --max-connections-per-client " +
                                             std::to_string(limits_.per_client));
    }
    if (limits_.per_user != 0 && of_user(user) >= limits_.per_user) {
        return AdmissionVerdict::refused(Limit::user, 1203, "42000",
                                         "tether: user '" + user + "' already has " + std::to_string(of_user(user)) +
                                             " connections: --max-connections-per-user " + std::to_string(limits_.per_user));
    }
    // The total cap last: a client over its own cap is told so (1203), which
    // names the culprit; 1040 is for everyone once the total is full.
    if (limits_.total != 0 && total_ >= limits_.total) {
        return AdmissionVerdict::refused(Limit::total, 1040, "08004",  // ER_CON_COUNT_ERROR
                                         "tether: too many connections: --max-connections " + std::to_string(limits_.total) +
                                             " reached (client '" + client + "', user '" + user + "')");
    }
    return v;
}

void AdmissionControl::charge(const std::string& client, const std::string& user) {
    ++total_;
    per_client_.add(client);
    per_user_.add(user);
}

void AdmissionControl::release(const std::string& client, const std::string& user) {
    if (total_ > 0) --total_;
    per_client_.remove(client);
    per_user_.remove(user);
}

}  // namespace tether::attribution
