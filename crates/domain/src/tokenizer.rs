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
//! Two refinements over the literal rule (see docs/ARCHITECTURE.md, "Tokenizer"); on ASCII input
//! neither changes anything, and the tokens are exactly the original's:
//! - a combining mark is kept only while the character it combines with was kept. A mark whose base
//!   was deleted goes with it, so the emoji presentation selector in `❤️` (U+FE0F, a combining
//!   mark) does not survive the deleted heart as an invisible "word";
//! - each token is put in NFC once more after steps 2 and 3, which can leave it out of canonical
//!   form (`İ` before another mark lowercases to marks out of order; deleting a hyphen between
//!   Hangul jamo lets them compose). Canonically equivalent words are then always one word, and
//!   the length in step 5 is counted on that form.
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
use std::sync::LazyLock;

use hashbrown::HashSet;
use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
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
    /// Allocation-free when the text is lowercase ASCII; ASCII words with capitals or punctuation
    /// share one buffer per call, and non-ASCII words may allocate while normalized.
    pub fn for_each_token(&self, text: &str, mut emit: impl FnMut(&str)) {
        let bytes = text.as_bytes();
        let mut scratch = String::new();
        let mut pos = 0;
        'pieces: while pos < bytes.len() {
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
                if class == NON_ASCII {
                    // Decoded from the piece's start: only its ASCII prefix is scanned twice.
                    pos = self.emit_non_ascii_words(text, start, &mut scratch, &mut emit);
                    continue 'pieces;
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
            } else {
                scratch.clear();
                scratch.extend(
                    piece
                        .bytes()
                        .filter(|&byte| ASCII_CLASS[usize::from(byte)] & DELETE == 0)
                        .map(|byte| char::from(byte.to_ascii_lowercase())),
                );
                self.emit_token(&scratch, scratch.len(), &mut emit);
            }
        }
    }

    /// Emits the words of the piece of `text` that starts at `start` and has non-ASCII characters,
    /// up to the next ASCII white space; returns where it stopped. Non-ASCII white space (NBSP,
    /// U+3000, ...) splits words inside the piece. One pass decodes each character once, finds the
    /// words and tells whether each is already its own token, as words in lowercase or caseless
    /// scripts usually are: those are emitted as slices of the input, and only the rest are
    /// normalized.
    fn emit_non_ascii_words(
        &self,
        text: &str,
        start: usize,
        scratch: &mut String,
        emit: &mut impl FnMut(&str),
    ) -> usize {
        let props = char_props();
        let mut word_start = start;
        let mut chars = 0;
        let mut as_is = true;
        for (offset, ch) in text[start..].char_indices() {
            let at = start + offset;
            let ch_props = props.get(ch);
            if ch_props & WHITESPACE != 0 {
                self.emit_word(&text[word_start..at], chars, as_is, scratch, emit);
                if ch.is_ascii() {
                    return at;
                }
                word_start = at + ch.len_utf8();
                chars = 0;
                as_is = true;
                continue;
            }
            // A mark with no base before it is deleted, so a word can only start with a base.
            let wanted = if chars == 0 { AS_IS_FIRST } else { AS_IS_NEXT };
            as_is &= ch_props & wanted != 0;
            chars += 1;
        }
        self.emit_word(&text[word_start..], chars, as_is, scratch, emit);
        text.len()
    }

    /// Emits one whitespace-free `word` of `chars` characters, normalized unless it is `as_is`.
    fn emit_word(
        &self,
        word: &str,
        chars: usize,
        as_is: bool,
        scratch: &mut String,
        emit: &mut impl FnMut(&str),
    ) {
        if word.is_empty() {
            return;
        }
        if as_is {
            self.emit_token(word, chars, emit);
        } else {
            let chars = normalize_word(word, scratch);
            self.emit_token(scratch, chars, emit);
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
    let props = char_props();
    let composed: Cow<'_, str> = if word.chars().all(|ch| props.get(ch) & NFC_STARTER != 0)
        || is_nfc_quick(word.chars()) == IsNormalized::Yes
    {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(word.nfc().collect())
    };
    // Only `str::to_lowercase` knows that a capital sigma at the end of a word becomes `ς`; it
    // allocates, so it is kept for the words that need it. Lowercasing twice changes nothing.
    let all_starters = if composed.contains('Σ') {
        keep_counted_chars(composed.to_lowercase().chars(), props, out)
    } else {
        keep_counted_chars(composed.chars(), props, out)
    };
    // Lowercasing (`İ` before another mark) or deleting (between Hangul jamo) can leave the word
    // out of canonical form; normalize again so that equivalent words are one word.
    if !all_starters && is_nfc_quick(out.chars()) != IsNormalized::Yes {
        *out = out.nfc().collect();
    }
    out.chars().count()
}

/// Lowercases `chars` and appends the characters that count (alphanumerics, and combining marks on
/// a kept base) to `out`; returns whether all it appended are NFC starters.
fn keep_counted_chars(
    chars: impl Iterator<Item = char>,
    props: &CharProps,
    out: &mut String,
) -> bool {
    let mut all_starters = true;
    let mut base_kept = false;
    let mut keep_if_counted = |ch: char| {
        let ch_props = props.get(ch);
        // Marks first: some (Devanagari vowel signs) are also alphabetic, yet still need a base.
        let keep = if ch_props & MARK != 0 {
            base_kept
        } else {
            base_kept = ch_props & ALPHANUMERIC != 0;
            base_kept
        };
        if keep {
            out.push(ch);
            all_starters &= ch_props & NFC_STARTER != 0;
        }
    };
    for ch in chars {
        if props.get(ch) & LOWERCASE_ITSELF != 0 {
            keep_if_counted(ch);
        } else {
            ch.to_lowercase().for_each(&mut keep_if_counted);
        }
    }
    all_starters
}

/// What the tokenizer needs to know of a character, as bits: looking them up in the Unicode tables
/// one by one (alphabetic, mark, case mapping, normalization) was most of the time spent on
/// non-ASCII text, while real text uses a few hundred distinct characters. The Basic Multilingual
/// Plane is tabulated once per process (64 KiB, about a millisecond); other planes are computed.
struct CharProps {
    bmp: Box<[u8; 0x1_0000]>,
}

const ALPHANUMERIC: u8 = 1;
const MARK: u8 = 2;
/// Full lowercase mapping is the character itself.
const LOWERCASE_ITSELF: u8 = 4;
/// NFC quick check Yes and canonical combining class 0: a word made only of these is in NFC.
const NFC_STARTER: u8 = 8;
/// Unicode White_Space.
const WHITESPACE: u8 = 16;
/// An alphanumeric that is not a mark, its own lowercase and an NFC starter: a word that starts
/// with one and goes on with [`AS_IS_NEXT`] characters is its own token.
const AS_IS_FIRST: u8 = 32;
/// An alphanumeric or a mark that is its own lowercase and an NFC starter.
const AS_IS_NEXT: u8 = 64;

impl CharProps {
    fn build() -> Self {
        let mut bmp = Box::new([0; 0x1_0000]);
        for (code, props) in bmp.iter_mut().enumerate() {
            if let Some(ch) = u32::try_from(code).ok().and_then(char::from_u32) {
                *props = Self::compute(ch);
            }
        }
        Self { bmp }
    }

    fn compute(ch: char) -> u8 {
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let alphanumeric = ch.is_alphanumeric();
        let mark = is_combining_mark(ch);
        let lowercase_itself = ch.to_lowercase().eq(std::iter::once(ch));
        let nfc_starter = is_nfc_quick(std::iter::once(ch)) == IsNormalized::Yes
            && canonical_combining_class(ch) == 0;
        // Neither lowercasing nor normalizing changes it.
        let unchanged = lowercase_itself && nfc_starter;
        flag(alphanumeric, ALPHANUMERIC)
            | flag(mark, MARK)
            | flag(lowercase_itself, LOWERCASE_ITSELF)
            | flag(nfc_starter, NFC_STARTER)
            | flag(ch.is_whitespace(), WHITESPACE)
            | flag(unchanged && alphanumeric && !mark, AS_IS_FIRST)
            | flag(unchanged && (alphanumeric || mark), AS_IS_NEXT)
    }

    #[inline]
    fn get(&self, ch: char) -> u8 {
        match usize::try_from(u32::from(ch)) {
            Ok(code) if code < self.bmp.len() => self.bmp[code],
            _ => Self::compute(ch),
        }
    }
}

fn char_props() -> &'static CharProps {
    static PROPS: LazyLock<CharProps> = LazyLock::new(CharProps::build);
    &PROPS
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
        } else if (b as char).is_whitespace() {
            // Unicode White_Space, as everywhere; `u8::is_ascii_whitespace` lacks vertical tab.
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
    fn dotted_capital_i_before_another_mark_gives_the_same_word_as_its_canonical_equivalent() {
        // U+0316 (class 220) must precede the U+0307 (class 230) that lowercasing İ produces.
        assert_eq!(tokens("İ\u{316}ab"), ["i\u{316}\u{307}ab"]);
        assert_eq!(tokens("İ\u{316}ab"), tokens("i\u{307}\u{316}ab"));
    }

    #[test]
    fn hangul_jamo_brought_together_by_a_deletion_compose_into_one_syllable() {
        assert_eq!(tokens("\u{1100}-\u{1161}나다"), ["가나다"]);
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
        let mut seen = 0;
        Tokenizer::default().for_each_token(&text, |token| {
            assert!(range.contains(&token.as_ptr()), "{token} was copied");
            seen += 1;
        });
        assert_eq!(seen, 3);
    }
}
