// The scrambles against values computed independently (Python's hashlib, and
// PyMySQL's own login recorded against MariaDB).
#include <doctest/doctest.h>

#include "../support/hex.hpp"
#include "tether/codec/wire.hpp"
#include "tether/monitor/auth_scramble.hpp"

namespace tether::monitor {

namespace {

using tether::test::from_hex;
using tether::test::to_hex;

std::string compact(std::string hex) {
    std::string out;
    for (char c : hex) {
        if (c != ' ') out += c;
    }
    return out;
}

}  // namespace

TEST_CASE("mysql_native_password: PyMySQL's scramble of a recorded MariaDB nonce") {
    // The nonce of the greeting in pymysql_mariadb-10.11_eof-results.hex; the
    // answer is the auth response PyMySQL sent in that session's login.
    const auto nonce = codec::as_bytes("&UX<c^,_}tOn^it-\"_:C");
    CHECK(compact(to_hex(native_password_scramble("monitorpw", nonce))) == "84bb5df3005d0a308218013f4033f33ce2dac167");
}

TEST_CASE("mysql_native_password: a nonce with the server's trailing NUL is cut at 20 bytes") {
    std::vector<std::byte> nonce(codec::as_bytes("ABCDEFGHIJKLMNOPQRST").begin(), codec::as_bytes("ABCDEFGHIJKLMNOPQRST").end());
    // hashlib: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))
    CHECK(compact(to_hex(native_password_scramble("monitorpw", nonce))) == "8f11bcde4a55786d927cc5794401e8c2c2aa5653");
    nonce.push_back(std::byte{0});
    CHECK(compact(to_hex(native_password_scramble("monitorpw", nonce))) == "8f11bcde4a55786d927cc5794401e8c2c2aa5653");
}

TEST_CASE("caching_sha2_password: the fast-path scramble of MySQL 8.0.33's greeting nonce") {
    // Nonce from tests/fixtures/mysql/greeting_mysql-8.0.33.hex; expected from hashlib:
    // SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce).
    const auto nonce = from_hex("4f7b320426385b0c 015a0607574f7e6876541630");
    CHECK(compact(to_hex(caching_sha2_scramble("monitorpw", nonce))) ==
          "242d9ba827fbd709925013519251618d92ee439207ad1496e6b145b9ce10061e");
}

TEST_CASE("an empty password answers with nothing, as the server expects") {
    const auto nonce = from_hex("4f7b320426385b0c015a0607574f7e6876541630");
    CHECK(native_password_scramble("", nonce).empty());
    CHECK(caching_sha2_scramble("", nonce).empty());
}

}  // namespace tether::monitor
