// A response header by name, for the admin tests.
#pragma once

#include <string>

#include "tether/admin/admin_api.hpp"

namespace tether::admin::test {

// The first header called `name` (exactly), or nullptr.
inline const std::string* header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return &v;
    }
    return nullptr;
}

}  // namespace tether::admin::test
