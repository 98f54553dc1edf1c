//! The byte <-> text mapping that makes tokenization lossless.
//!
//! Hugging Face tokenizers work on `str`, banners are arbitrary bytes. Each
//! banner byte `b` becomes the character `U+00bb` (ISO-8859-1, "latin-1"),
//! one character per byte, so every byte string is representable, character
//! offsets are byte offsets into the banner, and decoding maps each character
//! back to its byte. The byte-level pre-tokenizer then sees the UTF-8 form of
//! that text: ASCII bytes stay one byte-level symbol, bytes `0x80..=0xFF`
//! become two (their UTF-8 encoding), which BPE merges like any other pair.
//! Python does the same with `banner.decode("latin-1")` and
//! `text.encode("latin-1")`.

/// Maps each byte to the character with the same code point (latin-1).
///
/// ```
/// assert_eq!(bpe_tokenizer::bytes_to_text(b"A\x00\xff"), "A\u{0}\u{ff}");
/// ```
pub fn bytes_to_text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The inverse of [`bytes_to_text`]; `None` when a character is above
/// `U+00FF` (the text did not come from bytes).
///
/// ```
/// use bpe_tokenizer::{bytes_to_text, text_to_bytes};
/// assert_eq!(text_to_bytes(&bytes_to_text(b"\x00\x80\xff")).as_deref(), Some(&b"\x00\x80\xff"[..]));
/// assert_eq!(text_to_bytes("\u{20ac}"), None);
/// ```
pub fn text_to_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_bytes_round_trip_one_char_each() {
        let all: Vec<u8> = (0..=255).collect();
        let text = bytes_to_text(&all);
        assert_eq!(text.chars().count(), 256);
        assert_eq!(text_to_bytes(&text), Some(all));
    }
}
