// Statement fingerprints: a lexer over the raw text, a normalizer that folds signs, introducers and value lists, and an output that stops at 256 bytes.
#include "tether/codec/fingerprint.hpp"

#include <array>

namespace tether::codec {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view ellipsis = "...";

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ascii_word(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_ascii_control(unsigned char c) { return (c < 0x20 && !is_space(c)) || c == 0x7F; }

// ASCII-case-insensitive equality with a lowercase constant.
bool iequals(std::string_view text, std::string_view lower) {
    if (text.size() != lower.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

// One character of `s` at `i`, by the well-formed UTF-8 table of Unicode 3.9.
struct Utf8Char {
    enum Status { valid, invalid, incomplete } status;
    std::size_t size;  // invalid: 1; incomplete: the rest of `s`
    bool control;      // a valid C0, DEL or C1 control character
};

Utf8Char utf8_at(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return {Utf8Char::valid, 1, is_ascii_control(c)};
    std::size_t trailing = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the first trailing byte
    if (c >= 0xC2 && c <= 0xDF) {
        trailing = 1;
    } else if (c == 0xE0) {
        trailing = 2, low = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        trailing = 2;
    } else if (c == 0xED) {
        trailing = 2, high = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
        trailing = 3, low = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        trailing = 3;
    } else if (c == 0xF4) {
        trailing = 3, high = 0x8F;  // nothing past U+10FFFF
    } else {
        return {Utf8Char::invalid, 1, false};
    }
    for (std::size_t k = 1; k <= trailing; ++k) {
        if (i + k >= s.size()) return {Utf8Char::incomplete, s.size() - i, false};
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return {Utf8Char::invalid, 1, false};
    }
    const bool c1_control = c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
    return {Utf8Char::valid, trailing + 1, c1_control};
}

// ---- tokens -------------------------------------------------------------------

enum class TokenKind { end, word, quoted_identifier, literal, placeholder, punct, junk };
enum class LiteralKind { none, quoted, number, boolean };

struct Token {
    TokenKind kind = TokenKind::end;
    std::string_view text;       // as in the input (junk and literals are never shown)
    bool space_before = false;   // whitespace or a comment separated it from the previous token
    LiteralKind literal = LiteralKind::none;

    [[nodiscard]] bool is(char c) const { return kind == TokenKind::punct && text.size() == 1 && text[0] == c; }
    [[nodiscard]] bool is_value() const { return kind == TokenKind::literal || kind == TokenKind::placeholder; }
};

// Splits the text into tokens the way MySQL's lexer would, skipping comments.
class Lexer {
public:
    Lexer(std::string_view text, bool truncated) : s_(text), truncated_(truncated) {}

    Token next() {
        const bool space = skip_separators();
        const bool after_name = !space && (previous_ == TokenKind::word || previous_ == TokenKind::quoted_identifier);
        const bool qualified = qualifier_pending_ && !space;
        qualifier_pending_ = false;
        Token t = lex(after_name, qualified);
        t.space_before = space;
        // After `name.` a digit-led word is the next name part (`t.1x`), not a number.
        if (t.is('.') && after_name) qualifier_pending_ = true;
        previous_ = t.kind;
        return t;
    }

private:
    [[nodiscard]] bool at(std::size_t i, char c) const { return i < s_.size() && s_[i] == c; }
    [[nodiscard]] unsigned char byte(std::size_t i) const { return static_cast<unsigned char>(s_[i]); }

    // Whitespace and comments before the next token; true when there were any.
    bool skip_separators() {
        bool any = false;
        while (i_ < s_.size()) {
            const unsigned char c = byte(i_);
            if (is_space(c)) {
                ++i_;
            } else if (c == '#' || (c == '-' && at(i_ + 1, '-') && i_ + 2 < s_.size() &&
                                    (byte(i_ + 2) <= 0x20 || byte(i_ + 2) == 0x7F))) {
                const std::size_t eol = s_.find('\n', i_);
                i_ = eol == std::string_view::npos ? s_.size() : eol + 1;
            } else if (c == '/' && at(i_ + 1, '*')) {
                const std::size_t close = s_.find("*/", i_ + 2);
                i_ = close == std::string_view::npos ? s_.size() : close + 2;
            } else {
                break;
            }
            any = true;
        }
        return any;
    }

    Token make(TokenKind kind, std::size_t begin, LiteralKind literal = LiteralKind::none) const {
        return {kind, s_.substr(begin, i_ - begin), false, literal};
    }

    // A valid, non-control non-ASCII character or an ASCII word byte at `i`: its size, else 0.
    [[nodiscard]] std::size_t word_char(std::size_t i) const {
        if (i >= s_.size()) return 0;
        if (byte(i) < 0x80) return is_ascii_word(byte(i)) ? 1 : 0;
        const auto ch = utf8_at(s_, i);
        return ch.status == Utf8Char::valid && !ch.control ? ch.size : 0;
    }

    // `after_name`: right after a name, where `.` qualifies it; `qualified`: right after such a `.`.
    Token lex(bool after_name, bool qualified) {
        if (i_ >= s_.size()) return {};
        const std::size_t begin = i_;
        const unsigned char c = byte(i_);
        if (c == '\'' || c == '"') return lex_string(begin, begin, c);
        if (c == '`') return lex_quoted_identifier(begin);
        if (at(i_ + 1, '\'')) {
            if (c == 'x' || c == 'X' || c == 'b' || c == 'B') return lex_bit_or_hex_string(begin);
            if (c == 'n' || c == 'N') return lex_string(begin, begin + 1, '\'');
        }
        if (!qualified && (is_digit(c) || (c == '.' && !after_name && i_ + 1 < s_.size() && is_digit(byte(i_ + 1))))) {
            return lex_number(begin);
        }
        if (c == '?') {
            ++i_;
            return make(TokenKind::placeholder, begin);
        }
        if (word_char(i_) > 0) return lex_word(begin);
        if (c < 0x80 && !is_ascii_control(c)) {
            ++i_;
            return make(TokenKind::punct, begin);
        }
        return lex_junk(begin);
    }

    // '...' or "..." (or N'...'), its opening quote at `body`: backslash escapes, doubled quotes.
    Token lex_string(std::size_t begin, std::size_t body, unsigned char quote) {
        i_ = body + 1;
        while (i_ < s_.size()) {
            const unsigned char c = byte(i_);
            if (c == '\\') {
                i_ += 2;
            } else if (c == quote && at(i_ + 1, static_cast<char>(quote))) {
                i_ += 2;
            } else if (c == quote) {
                ++i_;
                return make(TokenKind::literal, begin, LiteralKind::quoted);
            } else {
                ++i_;
            }
        }
        i_ = s_.size();  // unterminated: the rest is the literal
        return make(TokenKind::literal, begin, LiteralKind::quoted);
    }

    Token lex_bit_or_hex_string(std::size_t begin) {
        const std::size_t close = s_.find('\'', begin + 2);
        i_ = close == std::string_view::npos ? s_.size() : close + 1;
        return make(TokenKind::literal, begin, LiteralKind::quoted);
    }

    Token lex_quoted_identifier(std::size_t begin) {
        i_ = begin + 1;
        while (i_ < s_.size()) {
            if (s_[i_] != '`') {
                ++i_;
            } else if (at(i_ + 1, '`')) {
                i_ += 2;
            } else {
                ++i_;
                return make(TokenKind::quoted_identifier, begin);
            }
        }
        // Unterminated: whatever it swallowed may hold literals, so it is hidden.
        return make(TokenKind::literal, begin, LiteralKind::quoted);
    }

    void skip_digits() {
        while (i_ < s_.size() && is_digit(byte(i_))) ++i_;
    }

    // A number, or a word that starts with digits (MySQL reads `1abc` and `0x1g` as names).
    Token lex_number(std::size_t begin) {
        if (s_[begin] == '0' && i_ + 1 < s_.size() && (s_[i_ + 1] == 'x' || s_[i_ + 1] == 'X' ||
                                                       s_[i_ + 1] == 'b' || s_[i_ + 1] == 'B')) {
            const bool hex = s_[i_ + 1] == 'x' || s_[i_ + 1] == 'X';
            i_ += 2;
            while (i_ < s_.size() && (hex ? is_hex_digit(byte(i_)) : (s_[i_] == '0' || s_[i_] == '1'))) ++i_;
            if (i_ > begin + 2 && word_char(i_) == 0) return number(begin);
            i_ = begin;
        }
        skip_digits();
        bool fraction_or_exponent = false;
        if (at(i_, '.')) {
            fraction_or_exponent = true;
            ++i_;
            skip_digits();
        }
        if (at(i_, 'e') || at(i_, 'E')) {
            std::size_t k = i_ + 1;
            if (at(k, '+') || at(k, '-')) ++k;
            if (k < s_.size() && is_digit(byte(k))) {
                i_ = k;
                skip_digits();
                fraction_or_exponent = true;
            }
        }
        if (fraction_or_exponent || word_char(i_) == 0) return number(begin);
        i_ = begin;
        return lex_word(begin);
    }

    // A number, or a digit-led word the end of a truncated text cut short.
    Token number(std::size_t begin) { return make(TokenKind::literal, begin, LiteralKind::number); }

    Token lex_word(std::size_t begin) {
        while (const std::size_t n = word_char(i_)) i_ += n;
        Token t = make(TokenKind::word, begin);
        if (is_digit(byte(begin)) && i_ == s_.size() && truncated_) return number(begin);
        if (iequals(t.text, "true") || iequals(t.text, "false")) t.kind = TokenKind::literal, t.literal = LiteralKind::boolean;
        return t;
    }

    // A run of control characters and bytes that are not UTF-8; an incomplete
    // sequence at the end of a truncated text is not junk but a cut character.
    Token lex_junk(std::size_t begin) {
        bool replaced = false;
        while (i_ < s_.size() && word_char(i_) == 0) {
            const unsigned char c = byte(i_);
            if (c < 0x80 && !is_ascii_control(c)) break;
            const auto ch = utf8_at(s_, i_);
            if (ch.status == Utf8Char::incomplete && truncated_) {
                i_ = s_.size();
                break;
            }
            replaced = true;
            i_ += ch.size;
        }
        if (!replaced) return {};
        return make(TokenKind::junk, begin);
    }

    std::string_view s_;
    bool truncated_;
    std::size_t i_ = 0;
    TokenKind previous_ = TokenKind::end;
    bool qualifier_pending_ = false;
};

// ---- output -------------------------------------------------------------------

// The fingerprint being written: never more than fingerprint_max_bytes, never a
// split UTF-8 sequence; remembers whether anything was left out.
class Output {
public:
    struct Mark {
        std::size_t size;
        bool full;
        bool cut;
    };

    Output() { text_.reserve(fingerprint_max_bytes); }

    [[nodiscard]] Mark mark() const { return {text_.size(), full_, cut_}; }
    // Back to `m`: what was written (or left out) since is replaced by what comes next.
    void rewind(Mark m) {
        text_.resize(m.size);
        full_ = m.full;
        cut_ = m.cut;
    }

    // `text` is valid UTF-8 without control characters.
    void token(bool space_before, std::string_view text) {
        // `--` then a space would read back as a comment: `a--/**/b` is `a--b`.
        const bool after_dashes = text_.size() >= 2 && text_.ends_with("--");
        if (space_before && !text_.empty() && !after_dashes) piece(" ");
        piece(text);
    }

    // A backquoted identifier as written, its invalid bytes and control
    // characters (tab and newline too: only the space is plain text) replaced.
    void identifier(bool space_before, std::string_view text) {
        token(space_before, {});
        const auto printable = [&](std::size_t i) {
            const auto ch = utf8_at(text, i);
            const bool ok = ch.status == Utf8Char::valid && !ch.control && (text[i] == ' ' || !is_space(text[i]));
            return ok ? ch.size : 0;
        };
        std::size_t i = 0;
        while (i < text.size()) {
            if (const std::size_t n = printable(i)) {
                piece(text.substr(i, n));
                i += n;
                continue;
            }
            while (i < text.size() && printable(i) == 0) i += utf8_at(text, i).size;
            piece(replacement_character);
        }
    }

    std::string finish(bool truncated) {
        if (text_.empty()) return {};
        if (cut_ || truncated) {
            std::size_t n = std::min(text_.size(), fingerprint_max_bytes - ellipsis.size());
            while (n > 0 && n < text_.size() && (static_cast<unsigned char>(text_[n]) & 0xC0) == 0x80) --n;
            while (n > 0 && text_[n - 1] == ' ') --n;
            text_.resize(n);
            text_ += ellipsis;
        }
        return std::move(text_);
    }

private:
    void piece(std::string_view s) {
        if (s.empty()) return;
        if (full_) {
            cut_ = true;
            return;
        }
        const std::size_t room = fingerprint_max_bytes - text_.size();
        if (s.size() <= room) {
            text_ += s;
            return;
        }
        std::size_t n = room;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
        text_ += s.substr(0, n);
        full_ = true;
        cut_ = true;
    }

    std::string text_;
    bool full_ = false;  // a piece did not fit: everything after it is left out
    bool cut_ = false;   // something was left out
};

// ---- normalizer ---------------------------------------------------------------

// Words after which an operand is expected, so a sign that follows is unary.
bool expects_operand(std::string_view word) {
    static constexpr std::array<std::string_view, 36> keywords = {
        "select", "where", "and", "or",   "not",    "xor",    "on",    "set",      "values",
        "value",  "in",    "limit", "offset", "then", "else", "when", "case",   "return",
        "having", "between", "like", "regexp", "rlike", "div", "mod",  "interval", "distinct",
        "default", "by",   "is",   "do",    "escape", "all", "any",  "some",   "exists",
    };
    for (std::string_view k : keywords) {
        if (iequals(word, k)) return true;
    }
    return false;
}

bool is_introducer(const Token& t) { return t.kind == TokenKind::word && t.text.size() > 1 && t.text[0] == '_'; }

class Normalizer {
public:
    Normalizer(std::string_view text, bool truncated) : lexer_(text, truncated), truncated_(truncated) {}

    std::string run() {
        for (Token t = pull(); t.kind != TokenKind::end; t = pull()) {
            // `_utf8mb4'x'` is one literal; so is `-1` where an operand is expected.
            const bool folds =
                (is_introducer(t) && (peek().literal == LiteralKind::quoted || peek().literal == LiteralKind::number)) ||
                ((t.is('-') || t.is('+')) && expects_operand_ && peek().literal == LiteralKind::number);
            if (folds) {
                Token literal = pull();
                literal.space_before = t.space_before;
                t = literal;
            }
            feed(t);
        }
        end_list();
        return out_.finish(truncated_);
    }

private:
    // Where a list that may collapse to `(...)` stands.
    enum class ListState {
        none,
        after_keyword,  // IN / VALUES seen, `(` may follow
        expect_value,   // after `(` or `,` inside the list
        after_value,    // `,` or `)` may follow
        row_closed,     // VALUES: a row of values ended, `,` may bring another
        after_row_comma,  // VALUES: `,` after a row, held back until `(` shows it is another row
    };

    Token pull() {
        if (peeked_) {
            peeked_ = false;
            return peek_;
        }
        return lexer_.next();
    }

    const Token& peek() {
        if (!peeked_) {
            peek_ = lexer_.next();
            peeked_ = true;
        }
        return peek_;
    }

    void feed(const Token& t) {
        if (list_ != ListState::none && follow_list(t)) return;
        emit(t);
        if (t.kind == TokenKind::word && iequals(t.text, "in")) {
            list_ = ListState::after_keyword, values_ = false;
        } else if (t.kind == TokenKind::word && (iequals(t.text, "values") || iequals(t.text, "value"))) {
            list_ = ListState::after_keyword, values_ = true;
        }
    }

    // Advances the list state with `t`; true when `t` was handled here.
    bool follow_list(const Token& t) {
        switch (list_) {
            case ListState::none:
                return false;
            case ListState::after_keyword:
                if (!t.is('(')) break;
                list_start_ = out_.mark();
                paren_space_ = t.space_before;
                emit(t);
                list_ = ListState::expect_value;
                return true;
            case ListState::expect_value:
                if (!t.is_value()) break;
                emit(t);
                list_ = ListState::after_value;
                return true;
            case ListState::after_value:
                if (t.is(',')) {
                    emit(t);
                    list_ = ListState::expect_value;
                    return true;
                }
                if (!t.is(')')) break;
                if (values_) {
                    emit(t);
                    list_ = ListState::row_closed;
                } else {
                    collapse();
                    expects_operand_ = false;
                }
                return true;
            case ListState::row_closed:
                if (t.is(',')) {
                    held_comma_ = t;
                    expects_operand_ = true;
                    list_ = ListState::after_row_comma;
                    return true;
                }
                collapse();
                return false;
            case ListState::after_row_comma:
                if (t.is('(')) {
                    emit(held_comma_);
                    emit(t);
                    list_ = ListState::expect_value;
                    return true;
                }
                collapse();
                emit(held_comma_);
                return false;
        }
        list_ = ListState::none;  // something else inside: the list stays as normalized
        return false;
    }

    // The text ended: rows already closed collapse; so does a list still open
    // when the text was cut short (its rest was not seen, not missing).
    void end_list() {
        switch (list_) {
            case ListState::row_closed:
                collapse();
                break;
            case ListState::after_row_comma:
                collapse();
                if (!truncated_) emit(held_comma_);
                break;
            case ListState::expect_value:
            case ListState::after_value:
                if (truncated_) collapse();
                break;
            case ListState::none:
            case ListState::after_keyword:
                break;
        }
    }

    void collapse() {
        out_.rewind(list_start_);
        out_.token(paren_space_, "(...)");
        list_ = ListState::none;
    }

    void emit(const Token& t) {
        switch (t.kind) {
            case TokenKind::end:
                return;
            case TokenKind::literal:
            case TokenKind::placeholder:
                out_.token(t.space_before, "?");
                expects_operand_ = false;
                return;
            case TokenKind::junk:
                out_.token(t.space_before, replacement_character);
                expects_operand_ = false;
                return;
            case TokenKind::quoted_identifier:
                out_.identifier(t.space_before, t.text);
                expects_operand_ = false;
                return;
            case TokenKind::word:
                out_.token(t.space_before, t.text);
                expects_operand_ = expects_operand(t.text);
                return;
            case TokenKind::punct:
                out_.token(t.space_before, t.text);
                expects_operand_ = !t.is(')');
                return;
        }
    }

    Lexer lexer_;
    bool truncated_;
    Output out_;
    Token peek_;
    bool peeked_ = false;
    bool expects_operand_ = true;  // at the start of the text an operand comes first

    ListState list_ = ListState::none;
    bool values_ = false;  // the list is VALUES rows, not an IN list
    Output::Mark list_start_{};
    bool paren_space_ = false;
    Token held_comma_;
};

}  // namespace

std::string fingerprint(std::string_view text, bool truncated) { return Normalizer(text, truncated).run(); }

}  // namespace tether::codec
