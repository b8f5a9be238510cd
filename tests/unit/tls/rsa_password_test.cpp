// The RSA-encrypted password of caching_sha2_password: decrypted with the
// private key in the test, XORed with the scramble, it is the password and NUL.
#include <doctest/doctest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <string>
#include <vector>

#include "tether/tls/rsa_password.hpp"

using namespace tether;

namespace {

// A 2048-bit RSA key, as MySQL 8 makes for itself (made once for the binary).
EVP_PKEY* server_key() {
    static EVP_PKEY* key = EVP_RSA_gen(2048);
    REQUIRE(key != nullptr);
    return key;
}

std::string public_pem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, key) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return pem;
}

// What the server does: RSA_private_decrypt with RSA_PKCS1_OAEP_PADDING.
std::vector<std::uint8_t> decrypt(EVP_PKEY* key, const std::vector<std::uint8_t>& encrypted) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    REQUIRE(EVP_PKEY_decrypt_init(ctx) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1);
    std::vector<std::uint8_t> out(EVP_PKEY_get_size(key));
    std::size_t length = out.size();
    REQUIRE(EVP_PKEY_decrypt(ctx, out.data(), &length, encrypted.data(), encrypted.size()) == 1);
    EVP_PKEY_CTX_free(ctx);
    out.resize(length);
    return out;
}

constexpr std::array<std::uint8_t, 20> scramble{0x3a, 0x1f, 0x55, 0x02, 0x7e, 0x61, 0x0c, 0x48, 0x33, 0x29,
                                                0x6b, 0x11, 0x70, 0x5d, 0x04, 0x2e, 0x47, 0x19, 0x66, 0x08};

}  // namespace

TEST_CASE("decrypted and XORed with the repeated scramble, it is the password and a NUL") {
    // Shorter and longer than the scramble (it repeats), and empty.
    for (std::string password : {"secret", "a password longer than twenty bytes, with é in it", ""}) {
        CAPTURE(password);
        auto encrypted = tls::encrypt_password_for_server(public_pem(server_key()), password, scramble);
        REQUIRE_MESSAGE(encrypted.has_value(), encrypted.error());
        CHECK(encrypted.value().size() == 256);  // one RSA block of the 2048-bit key
        auto plain = decrypt(server_key(), encrypted.value());
        REQUIRE(plain.size() == password.size() + 1);
        std::string recovered;
        for (std::size_t i = 0; i < plain.size(); ++i) recovered += static_cast<char>(plain[i] ^ scramble[i % scramble.size()]);
        CHECK(recovered == password + '\0');
    }
}

TEST_CASE("OAEP is randomised: the same password encrypts differently each time") {
    const std::string pem = public_pem(server_key());
    auto a = tls::encrypt_password_for_server(pem, "secret", scramble);
    auto b = tls::encrypt_password_for_server(pem, "secret", scramble);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a.value() != b.value());
}

TEST_CASE("keys that cannot be used are errors that never name the password") {
    const std::string password = "hunter2-the-password";
    SUBCASE("not PEM") {
        auto result = tls::encrypt_password_for_server("not a key", password, scramble);
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().find(password) == std::string::npos);
    }
    SUBCASE("not RSA") {
        EVP_PKEY* ec = EVP_EC_gen("P-256");
        REQUIRE(ec != nullptr);
        auto result = tls::encrypt_password_for_server(public_pem(ec), password, scramble);
        EVP_PKEY_free(ec);
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().find("not RSA") != std::string::npos);
    }
    SUBCASE("a password too long for the key") {
        const std::string long_password(256, 'x');
        auto result = tls::encrypt_password_for_server(public_pem(server_key()), long_password, scramble);
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().find("too long") != std::string::npos);
        CHECK(result.error().find("xxxx") == std::string::npos);
    }
    SUBCASE("no scramble") {
        CHECK_FALSE(tls::encrypt_password_for_server(public_pem(server_key()), password, {}).has_value());
    }
}
