// Statement fingerprints: a statement's text with every literal value replaced, for grouping and display.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tether::codec {

inline constexpr std::size_t fingerprint_max_bytes = 256;

// The fingerprint of a statement, normalized the way query-digest tools do it,
// so that statements differing only in their values look the same and no value
// (a password, an e-mail address) is ever kept, exported or logged.
//
// `text` is a statement's first bytes; `truncated` says the statement went on
// past them. Pure, one pass over `text` (O(n), whatever its length), no
// allocation but the returned string. The rules:
//
// - Comments are dropped and count as whitespace: `#` and `-- ` (`--` then
//   whitespace or a control character) to the end of the line, and
//   `/* ... */` including `/*! ... */` and `/*+ ... */`, whose contents are
//   never shown. Comments do not nest (the first `*/` ends one, as in MySQL).
//   An unterminated comment drops the rest of the text.
// - Tokens stay separated the way the text had them: a run of whitespace
//   (space, tab, CR, LF, FF, VT) or comments becomes one space, none is added
//   where there was none (`id=?` and `id = ?` stay apart); leading and
//   trailing ones are dropped.
// - Literals become `?`: strings '...' and "..." (backslash escapes and
//   doubled quotes; a "..." under ANSI_QUOTES is hidden too), X'..', B'..',
//   N'..', numbers (`1`, `.5`, `1.`, `1.5`, `1e-3`, `0x1F`, `0b101`), and
//   TRUE / FALSE (whole word, any case). NULL stays. A word that starts with
//   digits but goes on with letters (`1abc`) is an identifier, as in MySQL,
//   and so is what follows `name.` (`t.1x`).
// - A charset introducer before a literal (`_utf8mb4'x'`, `_binary 0x1F`: any
//   `_word` directly before a string, X'', B'' or number) is dropped with it.
// - A sign before a number where an operand is expected (at the start, after
//   an operator, `(`, `,`, `;` or an expression keyword such as WHERE, AND,
//   SELECT, THEN, LIMIT) is part of the literal: `= -1` and `= 1` give `= ?`;
//   after an operand it stays (`a-1` gives `a-?`).
// - `IN (?, ?, ...)` (any case, a parenthesized list of only `?` after the
//   replacements) becomes `IN (...)`, so `NOT IN` too. `VALUES` / `VALUE`
//   followed by rows of only `?` becomes `VALUES (...)` (`VALUE (...)`).
//   A list holding anything else (a column, NULL, a subquery) is kept as
//   normalized. When a truncated text ends inside such a list, the list
//   collapses as if it had been closed.
// - Backquoted identifiers are kept as written (case too, `` doubled inside,
//   inner spaces; tabs and newlines in them count as control characters);
//   an unterminated one becomes `?` (it may have swallowed literals).
//   Keywords and identifiers keep their case. `?` placeholders stay `?`.
// - Every statement of a multi-statement text is normalized.
// - An unterminated string becomes `?`, as does a digit-led word at the end of
//   a truncated text (a number cut short).
// - The output is valid UTF-8 without control characters: outside literals a
//   run of bytes that are not valid UTF-8 or are control characters (C0 but
//   whitespace, DEL, C1, NUL included) becomes one U+FFFD; an incomplete
//   UTF-8 sequence at the very end of a truncated text is dropped.
// - At most fingerprint_max_bytes bytes, never splitting a UTF-8 sequence.
//   When `truncated` is set or the normalized text did not fit, the output
//   ends with `...` (within the limit: the first 253 bytes, then `...`).
// - Empty, all-whitespace or all-comment text gives "".
//
// The output is a fixed point: fingerprint(fingerprint(s)) == fingerprint(s)
// whenever the output does not end with `...`.
std::string fingerprint(std::string_view text, bool truncated = false);

}  // namespace tether::codec
