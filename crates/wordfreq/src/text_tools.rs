//! `wordfreq tokenize` and `wordfreq count`: the tokenizer over standard input, for scripts and for
//! checking the rule by hand. Both stream, so memory stays bounded by one chunk (or one line) and the
//! map of distinct words, whatever the input size.

use std::io::{self, BufRead, Read, Write};

use wordfreq_domain::{Tokenizer, WordCounts};

/// Why a text tool stopped.
#[derive(Debug, thiserror::Error)]
pub enum TextToolError {
    #[error("input is not valid UTF-8 at byte {offset}")]
    NotUtf8 { offset: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Input is read in chunks of this size, cut at the last ASCII whitespace byte so no word is split.
const CHUNK_BYTES: usize = 1 << 20;

/// Writes each input line's tokens joined by one space, one output line per input line.
pub fn tokenize(
    tokenizer: &Tokenizer,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), TextToolError> {
    let mut offset = 0u64;
    for line in input.split(b'\n') {
        let line = line?;
        let text = as_utf8(&line, offset)?;
        offset += line.len() as u64 + 1;
        let mut first = true;
        let mut write_result = Ok(());
        tokenizer.for_each_token(text, |token| {
            if write_result.is_ok() {
                let separator: &[u8] = if first { b"" } else { b" " };
                write_result = output
                    .write_all(separator)
                    .and_then(|()| output.write_all(token.as_bytes()));
                first = false;
            }
        });
        write_result?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(())
}

/// Counts every token of the input.
pub fn count(tokenizer: &Tokenizer, mut input: impl Read) -> Result<WordCounts, TextToolError> {
    let mut counts = WordCounts::new();
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut filled = 0;
    let mut consumed = 0u64;
    loop {
        if filled == buffer.len() {
            // A single word longer than the buffer: grow rather than split it.
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = match input.read(&mut buffer[filled..]) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        filled += read;
        let at_end = read == 0;
        // ASCII bytes never occur inside a multi-byte UTF-8 sequence, so cutting after one keeps
        // every character and every word whole.
        let cut = if at_end {
            filled
        } else {
            match buffer[..filled]
                .iter()
                .rposition(|&byte| is_ascii_white_space(byte))
            {
                Some(last_space) => last_space + 1,
                None => continue,
            }
        };
        counts.add_text(tokenizer, as_utf8(&buffer[..cut], consumed)?);
        consumed += cut as u64;
        buffer.copy_within(cut..filled, 0);
        filled -= cut;
        if at_end {
            return Ok(counts);
        }
    }
}

/// Writes `word<TAB>count` lines, count descending then word ascending.
pub fn write_counts(counts: &WordCounts, mut output: impl Write) -> io::Result<()> {
    for (word, count) in counts.ranked() {
        writeln!(output, "{word}\t{count}")?;
    }
    output.flush()
}

fn as_utf8(bytes: &[u8], offset: u64) -> Result<&str, TextToolError> {
    std::str::from_utf8(bytes).map_err(|err| TextToolError::NotUtf8 {
        offset: offset + err.valid_up_to() as u64,
    })
}

/// The ASCII characters with the Unicode White_Space property.
fn is_ascii_white_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenized(input: &str) -> String {
        let mut output = Vec::new();
        tokenize(&Tokenizer::default(), input.as_bytes(), &mut output).unwrap();
        String::from_utf8(output).unwrap()
    }

    fn counted(input: &[u8]) -> String {
        let mut output = Vec::new();
        write_counts(&count(&Tokenizer::default(), input).unwrap(), &mut output).unwrap();
        String::from_utf8(output).unwrap()
    }

    #[test]
    fn tokenize_writes_one_line_per_input_line_even_when_it_has_no_tokens() {
        assert_eq!(
            tokenized("Hello, World!\nab\n\nCafé au lait\n"),
            "hello world\n\n\ncafé lait\n"
        );
    }

    #[test]
    fn tokenize_handles_a_last_line_without_newline_and_crlf_line_ends() {
        assert_eq!(tokenized("one two\r\nthree"), "one two\nthree\n");
    }

    #[test]
    fn count_lists_count_descending_then_word_ascending() {
        assert_eq!(
            counted(b"pear apple zebra zebra apple pear fig zebra"),
            "zebra\t3\napple\t2\npear\t2\nfig\t1\n"
        );
    }

    #[test]
    fn count_of_empty_input_writes_nothing() {
        assert_eq!(counted(b""), "");
    }

    #[test]
    fn count_reports_the_byte_offset_of_invalid_utf8() {
        let err = count(&Tokenizer::default(), &b"good words \xff bad"[..]).unwrap_err();
        assert!(
            matches!(err, TextToolError::NotUtf8 { offset: 11 }),
            "{err:?}"
        );
    }

    /// A reader that hands out a few bytes per call, to cut chunks in awkward places.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn count_gives_the_same_result_however_the_input_is_cut_into_reads() {
        let text = "Ünïcödé wörds\u{A0}spread ácross réads, and ascii too. ".repeat(50);
        let whole = count(&Tokenizer::default(), text.as_bytes()).unwrap();
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(
                count(&Tokenizer::default(), Trickle(text.as_bytes(), step)).unwrap(),
                whole
            );
        }
    }

    #[test]
    fn count_keeps_a_word_longer_than_one_chunk_whole() {
        let long_word = "x".repeat(CHUNK_BYTES * 2 + 5);
        let counts = count(
            &Tokenizer::default(),
            format!("aaa {long_word} bbb").as_bytes(),
        )
        .unwrap();
        assert_eq!((counts.get(&long_word), counts.unique()), (1, 3));
    }
}
