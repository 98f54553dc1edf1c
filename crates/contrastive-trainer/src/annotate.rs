//! Banners with their predicted dynamic parts marked, for a terminal (dimmed, control
//! characters escaped) and as HTML (grey spans), like the paper's Figure 2.

use banner_parse::{BannerKind, Label, LabelStyle, label_pair, render_labels};
use bannerlm_base::{escape_bytes, escape_html};
use bpe_tokenizer::BannerTokenizer;
use burn::tensor::Device;
use roberta_model::RobertaForStability;

use crate::error::Result;
use crate::eval::Evaluator;

/// Per-token stability predictions for one banner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotation {
    /// The banner bytes.
    pub banner: Vec<u8>,
    /// Byte ranges and P(stable) of the non-special tokens, restricted to the bytes the paper's
    /// labels cover (one entry per covered run of a token's bytes).
    pub tokens: Vec<(std::ops::Range<usize>, f32)>,
}

impl Annotation {
    /// Predicts P(stable) for every token of `banner` with `model`.
    ///
    /// Only the bytes that the paper's labels cover are annotated: for an HTTP banner (one that
    /// starts with `HTTP/`) the header values and the body, not the status line, header names or
    /// line breaks. Training never labels those, so the stability head's output there means
    /// nothing and is left out; such bytes render as stable.
    ///
    /// # Errors
    /// Tokenizer and tensor errors.
    pub fn predict(
        model: &RobertaForStability,
        tokenizer: &BannerTokenizer,
        banner: &[u8],
        device: &Device,
    ) -> Result<Self> {
        let enc = tokenizer.encode(banner)?;
        let ids = crate::data::unpadded_ids(&enc);
        let pred = Evaluator::default().predict(model, &[ids.as_slice()], device)?;
        let probs = pred.stable_prob.first().cloned().unwrap_or_default();
        let kind = if banner.starts_with(b"HTTP/") {
            BannerKind::Http
        } else {
            BannerKind::Text
        };
        // A banner labelled against itself: Stable exactly where labels exist.
        let covered = label_pair(banner, banner, kind).a;
        let mut tokens = Vec::new();
        for ((&(s, e), _), p) in enc
            .offsets()
            .iter()
            .zip(enc.special_tokens_mask())
            .zip(probs)
            .filter(|((_, special), _)| **special == 0)
        {
            let e = e.min(covered.len());
            let mut x = s.min(e);
            while x < e {
                if covered[x] == Label::Unlabelled {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < e && covered[x] != Label::Unlabelled {
                    x += 1;
                }
                tokens.push((start..x, p));
            }
        }
        Ok(Self {
            banner: banner.to_vec(),
            tokens,
        })
    }

    /// One label per banner byte: [`Label::Dynamic`] under tokens with P(stable) below
    /// `threshold`, [`Label::Stable`] under the others, [`Label::Unlabelled`] where no token
    /// covers the byte (cut off by truncation).
    ///
    /// ```
    /// use banner_parse::Label;
    /// use contrastive_trainer::Annotation;
    ///
    /// let a = Annotation { banner: b"ab".to_vec(), tokens: vec![(0..1, 0.9), (1..2, 0.1)] };
    /// assert_eq!(a.byte_labels(0.5), [Label::Stable, Label::Dynamic]);
    /// ```
    pub fn byte_labels(&self, threshold: f32) -> Vec<Label> {
        let mut labels = vec![Label::Unlabelled; self.banner.len()];
        for (range, p) in &self.tokens {
            let end = range.end.min(labels.len());
            let start = range.start.min(end);
            let l = if *p < threshold {
                Label::Dynamic
            } else {
                Label::Stable
            };
            for x in &mut labels[start..end] {
                // A byte shared by two tokens (a split UTF-8 pair) is dynamic if either is.
                if *x != Label::Dynamic {
                    *x = l;
                }
            }
        }
        labels
    }

    /// The banner for a terminal: dynamic parts dimmed (ANSI), control characters escaped.
    pub fn to_terminal(&self, threshold: f32) -> String {
        render_labels(&self.banner, &self.byte_labels(threshold), LabelStyle::Ansi)
    }

    /// The banner as an HTML fragment (`<pre>`), dynamic parts in grey spans; text is escaped
    /// as for the terminal, then HTML-escaped.
    ///
    /// ```
    /// use contrastive_trainer::Annotation;
    ///
    /// let a = Annotation { banner: b"ETag: <x>\r\n".to_vec(), tokens: vec![(0..5, 0.9), (5..9, 0.1)] };
    /// let html = a.to_html(0.5);
    /// assert!(html.contains(r#"<span class="dyn">"#) && html.contains("&lt;x&gt;"));
    /// ```
    pub fn to_html(&self, threshold: f32) -> String {
        let labels = self.byte_labels(threshold);
        let mut out = String::from("<pre class=\"banner\">");
        let mut i = 0;
        while i < self.banner.len() {
            let dynamic = labels[i] == Label::Dynamic;
            let mut j = i;
            while j < self.banner.len() && (labels[j] == Label::Dynamic) == dynamic {
                j += 1;
            }
            // Break lines after each escaped `\n`; HTML escaping leaves backslashes alone.
            let text = escape_html(&escape_bytes(&self.banner[i..j])).replace("\\n", "\\n\n");
            if dynamic {
                out.push_str("<span class=\"dyn\">");
                out.push_str(&text);
                out.push_str("</span>");
            } else {
                out.push_str(&text);
            }
            i = j;
        }
        out.push_str("</pre>\n");
        out
    }
}

/// A standalone HTML page with the annotated banners and the grey style.
pub fn html_page(title: &str, fragments: &[String]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n\
         <style>body{{font-family:sans-serif}} pre.banner{{background:#fafafa;padding:8px;\
         border:1px solid #ddd;white-space:pre-wrap}} .dyn{{color:#aaa}}</style></head><body>\n\
         <h1>{}</h1>\n<p>Grey: parts the model predicts to be dynamic (changing between scans).</p>\n",
        escape_html(title),
        escape_html(title)
    );
    for f in fragments {
        out.push_str(f);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::Annotation;

    /// The shared escaper keeps the line breaks after each escaped `\n` and escapes markup.
    #[test]
    fn html_breaks_lines_and_escapes_markup() {
        let a = Annotation {
            banner: b"A: <x>\r\nB: 'y'\r\n".to_vec(),
            tokens: vec![(0..15, 0.9)],
        };
        assert_eq!(
            a.to_html(0.5),
            "<pre class=\"banner\">A: &lt;x&gt;\\r\\n\nB: &#39;y&#39;\\r\\n\n</pre>\n"
        );
    }
}
