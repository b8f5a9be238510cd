// The RSA-encrypted password of caching_sha2_password (see rsa_password.hpp).
#include "tether/tls/rsa_password.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "openssl_error.hpp"

namespace tether::tls {

namespace {
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct ContextFree {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
// SHA-1 OAEP adds 2 * 20 + 2 bytes to the message (RFC 8017 7.1.1).
constexpr std::size_t oaep_sha1_overhead = 42;
}  // namespace

Loaded<std::vector<std::uint8_t>> encrypt_password_for_server(std::string_view public_key_pem,
                                                              std::string_view password,
                                                              std::span<const std::uint8_t> scramble) {
    using Result = Loaded<std::vector<std::uint8_t>>;
    if (scramble.empty()) return Result::failed("no scramble to mix the password with");
    detail::clear_openssl_errors();
    std::unique_ptr<BIO, BioFree> pem(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
    if (!pem) return Result::failed(detail::openssl_error("cannot read the server's public key"));
    // MySQL sends "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo).
    std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PUBKEY(pem.get(), nullptr, nullptr, nullptr));
    if (!key) return Result::failed(detail::openssl_error("the server's public key is not a PEM public key"));
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return Result::failed("the server's public key is not RSA");
    const auto key_bytes = static_cast<std::size_t>(EVP_PKEY_get_size(key.get()));

    // (password + NUL) XOR the scramble, repeated over the length.
    std::vector<std::uint8_t> message(password.begin(), password.end());
    message.push_back(0);
    if (message.size() + oaep_sha1_overhead > key_bytes)
        return Result::failed("the password is too long for the server's " + std::to_string(key_bytes * 8) +
                              "-bit RSA key");
    for (std::size_t i = 0; i < message.size(); ++i) message[i] ^= scramble[i % scramble.size()];

    std::unique_ptr<EVP_PKEY_CTX, ContextFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    // OAEP's defaults are SHA-1 for the label hash and MGF1: what the server's
    // RSA_private_decrypt(RSA_PKCS1_OAEP_PADDING) expects.
    std::vector<std::uint8_t> encrypted(key_bytes);
    std::size_t length = encrypted.size();
    const bool ok = ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
                    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                    EVP_PKEY_encrypt(ctx.get(), encrypted.data(), &length, message.data(), message.size()) == 1;
    // The XORed password is as good as the password to whoever has the scramble.
    OPENSSL_cleanse(message.data(), message.size());
    if (!ok) return Result::failed(detail::openssl_error("cannot encrypt the password with the server's public key"));
    encrypted.resize(length);
    return Result::ok(std::move(encrypted));
}

}  // namespace tether::tls
