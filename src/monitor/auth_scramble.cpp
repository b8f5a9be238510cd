// Password scrambles (see auth_scramble.hpp), with OpenSSL's SHA-1 and SHA-256.
#include "tether/monitor/auth_scramble.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace tether::monitor {

namespace {

constexpr std::size_t nonce_size = 20;

// One digest over the concatenation of `parts`.
template <std::size_t N>
std::array<unsigned char, N> digest(const EVP_MD* md, std::initializer_list<std::span<const unsigned char>> parts) {
    std::array<unsigned char, N> out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned int length = 0;
    bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, md, nullptr) == 1;
    for (const auto& part : parts) ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == N;
    EVP_MD_CTX_free(ctx);
    if (!ok) out.fill(0);  // a wrong answer, refused by the server: never a crash
    return out;
}

std::span<const unsigned char> bytes_of(std::string_view s) {
    return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}
std::span<const unsigned char> bytes_of(std::span<const std::byte> b) {
    return {reinterpret_cast<const unsigned char*>(b.data()), b.size()};
}

template <std::size_t N>
std::vector<std::byte> xor_of(std::array<unsigned char, N>& a, std::array<unsigned char, N>& b) {
    std::vector<std::byte> out(N);
    for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::byte>(a[i] ^ b[i]);
    return out;
}

}  // namespace

std::span<const std::byte> scramble_nonce(std::span<const std::byte> plugin_data) {
    return plugin_data.first(std::min(plugin_data.size(), nonce_size));
}

std::vector<std::byte> native_password_scramble(std::string_view password, std::span<const std::byte> nonce) {
    if (password.empty()) return {};
    auto stage1 = digest<20>(EVP_sha1(), {bytes_of(password)});
    auto stage2 = digest<20>(EVP_sha1(), {stage1});
    auto mask = digest<20>(EVP_sha1(), {bytes_of(scramble_nonce(nonce)), stage2});
    auto out = xor_of(stage1, mask);
    OPENSSL_cleanse(stage1.data(), stage1.size());
    OPENSSL_cleanse(stage2.data(), stage2.size());
    return out;
}

std::vector<std::byte> caching_sha2_scramble(std::string_view password, std::span<const std::byte> nonce) {
    if (password.empty()) return {};
    auto stage1 = digest<32>(EVP_sha256(), {bytes_of(password)});
    auto stage2 = digest<32>(EVP_sha256(), {stage1});
    auto mask = digest<32>(EVP_sha256(), {stage2, bytes_of(scramble_nonce(nonce))});
    auto out = xor_of(stage1, mask);
    OPENSSL_cleanse(stage1.data(), stage1.size());
    OPENSSL_cleanse(stage2.data(), stage2.size());
    return out;
}

}  // namespace tether::monitor
