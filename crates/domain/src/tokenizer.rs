//! The one tokenizer every service uses: the original's rule, made Unicode-aware.
//!
//! The rule (DESIGN.md, "Tokenizer"), applied in this order:
//! 1. NFC-normalize;
//! 2. lowercase with full Unicode case mapping (`İ` becomes `i` + U+0307, a final `Σ` becomes `ς`);
//! 3. delete every character that is neither alphanumeric, a combining mark, nor whitespace
//!    (deleting, not splitting: `don't` becomes `dont`, as in the original);
//! 4. split on Unicode White_Space ([`char::is_whitespace`]: on ASCII that is space, `\t`, `\n`,
//!    vertical tab, form feed and `\r`, exactly Java's `\s` that the original's Spark job used);
//! 5. drop tokens shorter than the minimum length, counted in characters (Unicode scalar values);
//! 6. drop stopwords.
//!
//! One refinement over the literal rule (see docs/ARCHITECTURE.md, "Tokenizer"): a combining mark is
//! kept only while the character it combines with was kept. A mark whose base was deleted goes with
//! it, so the emoji presentation selector in `❤️` (U+FE0F, a combining mark) does not survive the
//! deleted heart as an invisible "word". On ASCII input the rule gives exactly the original's tokens.
//!
//! Splitting first and normalizing each whitespace-delimited piece gives the same result as
//! normalizing the whole text first: no canonical composition or case mapping crosses, creates or
//! removes White_Space, and the final-sigma context of case mapping stops at whitespace.
//!
//! This is the hot path of the whole system, so words made only of lowercase ASCII letters and
//! digits are handed out as slices of the input with no copy and no allocation, ASCII words with
//! capitals or punctuation are rebuilt in one reused buffer, and only words with non-ASCII
//! characters go through normalization and full case mapping.

use std::borrow::Cow;

use hashbrown::HashSet;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The original's `length > 2`.
pub const DEFAULT_MIN_WORD_LENGTH: usize = 3;

/// Splits text into counted words. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    min_word_chars: usize,
    stopwords: HashSet<Box<str>>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_WORD_LENGTH)
    }
}

impl Tokenizer {
    /// A tokenizer that keeps words of at least `min_word_chars` characters and has no stopwords.
    pub fn new(min_word_chars: usize) -> Self {
        Self {
            min_word_chars,
            stopwords: HashSet::new(),
        }
    }

    /// Adds stopwords. Each is put through the same rule (without the length limit), so a stopword
    /// written `Don't` or `CAFÉ` matches the tokens `dont` and `café`.
    #[must_use]
    pub fn with_stopwords<I, S>(mut self, stopwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let normalizer = Self::new(1);
        for stopword in stopwords {
            normalizer.for_each_token(stopword.as_ref(), |token| {
                self.stopwords.insert(token.into());
            });
        }
        self
    }

    /// The minimum token length in characters.
    pub fn min_word_chars(&self) -> usize {
        self.min_word_chars
    }

    /// Calls `emit` with every token of `text`, in order.
    ///
    /// Allocation-free when the text is lowercase ASCII; otherwise at most one buffer per call.
    pub fn for_each_token(&self, text: &str, mut emit: impl FnMut(&str)) {
        let bytes = text.as_bytes();
        let mut scratch = String::new();
        let mut pos = 0;
        while pos < bytes.len() {
            while pos < bytes.len() && ASCII_CLASS[usize::from(bytes[pos])] == SPACE {
                pos += 1;
            }
            let start = pos;
            let mut seen = 0;
            while pos < bytes.len() {
                let class = ASCII_CLASS[usize::from(bytes[pos])];
                if class == SPACE {
                    break;
                }
                seen |= class;
                pos += 1;
            }
            if start == pos {
                break;
            }
            // `start` follows an ASCII byte or the start and `pos` is at an ASCII byte or the end,
            // so both are character boundaries.
            let piece = &text[start..pos];
            if seen == KEEP {
                self.emit_token(piece, piece.len(), &mut emit);
            } else if seen & NON_ASCII == 0 {
                scratch.clear();
                scratch.extend(
                    piece
                        .bytes()
                        .filter(|&byte| ASCII_CLASS[usize::from(byte)] & DELETE == 0)
                        .map(|byte| char::from(byte.to_ascii_lowercase())),
                );
                self.emit_token(&scratch, scratch.len(), &mut emit);
            } else {
                // Non-ASCII whitespace (NBSP, U+3000, ...) may still be inside the piece.
                for word in piece.split(char::is_whitespace) {
                    let chars = normalize_word(word, &mut scratch);
                    self.emit_token(&scratch, chars, &mut emit);
                }
            }
        }
    }

    /// The tokens of `text` as owned strings; for tests and tools, not for the hot path.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        self.for_each_token(text, |token| tokens.push(token.to_owned()));
        tokens
    }

    fn emit_token(&self, token: &str, chars: usize, emit: &mut impl FnMut(&str)) {
        if chars == 0 || chars < self.min_word_chars {
            return;
        }
        if !self.stopwords.is_empty() && self.stopwords.contains(token) {
            return;
        }
        emit(token);
    }
}

/// Writes the normalized form of one whitespace-free `word` into `out`; returns its length in
/// characters.
fn normalize_word(word: &str, out: &mut String) -> usize {
    out.clear();
    let composed: Cow<'_, str> = match is_nfc_quick(word.chars()) {
        IsNormalized::Yes => Cow::Borrowed(word),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(word.nfc().collect()),
    };
    // Only `str::to_lowercase` knows that a capital sigma at the end of a word becomes `ς`; it
    // allocates, so it is kept for the words that need it.
    if composed.contains('Σ') {
        keep_counted_chars(composed.to_lowercase().chars(), out)
    } else {
        keep_counted_chars(composed.chars().flat_map(char::to_lowercase), out)
    }
}

/// Appends the characters that count (alphanumerics, and combining marks on a kept base) to `out`;
/// returns how many it appended.
fn keep_counted_chars(lowercase: impl Iterator<Item = char>, out: &mut String) -> usize {
    let mut kept = 0;
    let mut base_kept = false;
    for ch in lowercase {
        // Marks first: some (Devanagari vowel signs) are also alphabetic, yet still need a base.
        let keep = if is_combining_mark(ch) {
            base_kept
        } else {
            base_kept = ch.is_alphanumeric();
            base_kept
        };
        if keep {
            out.push(ch);
            kept += 1;
        }
    }
    kept
}

/// What an ASCII byte is to the tokenizer; bytes of non-ASCII characters are all `NON_ASCII`.
/// The classes are bits so that one OR over a word tells which path it needs.
const SPACE: u8 = 0;
const KEEP: u8 = 1;
const UPPER: u8 = 2;
const DELETE: u8 = 4;
const NON_ASCII: u8 = 8;

static ASCII_CLASS: [u8; 256] = {
    let mut table = [NON_ASCII; 256];
    let mut byte = 0;
    while byte < 128 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_lowercase() || b.is_ascii_digit() {
            KEEP
        } else if b.is_ascii_uppercase() {
            UPPER
        } else if matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            // Unicode White_Space within ASCII; `u8::is_ascii_whitespace` lacks vertical tab.
            SPACE
        } else {
            DELETE
        };
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        Tokenizer::default().tokens(text)
    }

    #[test]
    fn the_ascii_sample_from_the_original_is_lowercased_and_short_words_dropped() {
        assert_eq!(
            tokens("The quick brown fox jumps over the lazy dog"),
            [
                "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"
            ]
        );
        assert_eq!(tokens("Hi to me, an ox!"), Vec::<String>::new());
    }

    #[test]
    fn nfd_input_is_composed_so_cafe_with_a_combining_accent_equals_precomposed_cafe() {
        assert_eq!(tokens("cafe\u{301}"), ["café"]);
        assert_eq!(tokens("Cafe\u{301} CAFÉ café"), ["café", "café", "café"]);
    }

    #[test]
    fn greek_capital_sigma_becomes_final_sigma_at_the_end_of_a_word() {
        // U+03C2 is the final sigma.
        assert_eq!(tokens("ΟΔΟΣ"), ["οδο\u{3C2}"]);
        assert_eq!(tokens("ΟΔΟΣ."), ["οδο\u{3C2}"]);
        assert_eq!(tokens("ΣΟΦΙΑ ΟΔΥΣΣΕΥΣ"), ["σοφια", "οδυσσευς"]);
    }

    #[test]
    fn turkish_dotted_capital_i_lowercases_to_i_with_a_combining_dot_that_stays() {
        assert_eq!(tokens("İstanbul"), ["i\u{307}stanbul"]);
        assert_eq!(tokens("İstanbul")[0].chars().count(), 9);
        assert_eq!(tokens("ISTANBUL ıstanbul"), ["istanbul", "ıstanbul"]);
    }

    #[test]
    fn german_sharp_s_stays_and_capital_sharp_s_lowercases_to_it() {
        assert_eq!(
            tokens("Straße STRASSE STRAẞE"),
            ["straße", "strasse", "straße"]
        );
    }

    #[test]
    fn devanagari_vowel_signs_and_virama_stay_inside_the_word() {
        assert_eq!(tokens("हिन्दी भाषा"), ["हिन्दी", "भाषा"]);
    }

    #[test]
    fn a_cjk_run_without_spaces_is_one_token_and_two_character_runs_are_too_short() {
        assert_eq!(tokens("東京タワー 東京 日本語"), ["東京タワー", "日本語"]);
    }

    #[test]
    fn emoji_are_deleted_without_splitting_the_word_they_touch() {
        assert_eq!(tokens("rust🦀lang 🎉🎉🎉 fire🔥"), ["rustlang", "fire"]);
        assert_eq!(tokens("thumbs👍🏽up"), ["thumbsup"]);
    }

    #[test]
    fn a_presentation_selector_left_by_a_deleted_emoji_is_deleted_with_it() {
        assert_eq!(tokens("❤️❤️❤️ I❤️NY love❤️"), ["iny", "love"]);
    }

    #[test]
    fn zero_width_joiners_and_non_joiners_are_deleted() {
        assert_eq!(tokens("👨\u{200D}👩\u{200D}👧 fam\u{200D}ily"), ["family"]);
        assert_eq!(tokens("می\u{200C}خواهم"), ["میخواهم"]);
    }

    #[test]
    fn digits_of_other_scripts_count_as_alphanumeric() {
        assert_eq!(tokens("١٢٣ ४५६ 2024 ½½½"), ["١٢٣", "४५६", "2024", "½½½"]);
    }

    #[test]
    fn punctuation_inside_a_word_is_deleted_not_split_on() {
        assert_eq!(
            tokens("don't e-mail U.S.A. rock'n'roll"),
            ["dont", "email", "usa", "rocknroll"]
        );
    }

    #[test]
    fn non_latin_words_survive_whole() {
        assert_eq!(tokens("Москва naïve Ελλάδα"), ["москва", "naïve", "ελλάδα"]);
    }

    #[test]
    fn every_unicode_white_space_splits_including_vertical_tab_nbsp_and_ideographic_space() {
        assert_eq!(
            tokens("one\u{B}two\u{A0}six\u{3000}ten\u{2028}big\u{85}end\u{202F}cat"),
            ["one", "two", "six", "ten", "big", "end", "cat"]
        );
    }

    #[test]
    fn control_characters_that_are_not_white_space_are_deleted_not_split_on() {
        assert_eq!(tokens("ab\u{1C}cd ef\u{0}gh"), ["abcd", "efgh"]);
    }

    #[test]
    fn a_stray_combining_mark_with_no_base_is_deleted() {
        assert_eq!(tokens("\u{301}\u{301}\u{301} -\u{301}abc"), ["abc"]);
    }

    #[test]
    fn length_is_counted_in_characters_after_deletion_not_in_bytes() {
        assert_eq!(tokens("éé ééé a.b.c ab"), ["ééé", "abc"]);
    }

    #[test]
    fn the_minimum_length_is_configurable() {
        assert_eq!(Tokenizer::new(1).tokens("a bc - def"), ["a", "bc", "def"]);
        assert_eq!(Tokenizer::new(0).tokens("a -- b"), ["a", "b"]);
        assert_eq!(Tokenizer::new(5).tokens("four fives"), ["fives"]);
    }

    #[test]
    fn stopwords_are_normalized_by_the_same_rule_and_dropped() {
        let tokenizer = Tokenizer::default().with_stopwords(["The", "don't", "CAFÉ"]);
        assert_eq!(tokenizer.tokens("The dont café cafe\u{301} rest"), ["rest"]);
    }

    #[test]
    fn lowercase_ascii_tokens_are_slices_of_the_input() {
        let text = String::from("already lowercase words");
        let range = text.as_bytes().as_ptr_range();
        Tokenizer::default().for_each_token(&text, |token| {
            assert!(range.contains(&token.as_ptr()), "{token} was copied");
        });
    }
}
