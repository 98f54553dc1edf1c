//! Property tests: the translator never panics on any pattern, compiled
//! patterns never panic on any banner, and backtracking patterns give up
//! (with an error) instead of hanging on adversarial banners.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use recog_compat::{
    CompiledPattern, Database, Error, Flags, MatcherBuilder, MatcherOptions, translate,
};

/// Characters that exercise the translator's syntax handling.
fn regexish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "\\",
        "(",
        ")",
        "(?",
        "(?<",
        "(?<n>",
        "(?:",
        "(?=",
        "(?!",
        "(?<=",
        "(?>",
        "(?i)",
        "(?m:",
        "(?x)",
        "(?#",
        "[",
        "]",
        "[^",
        "[:",
        ":]",
        "[[:alpha:]]",
        "&&",
        "-",
        "{",
        "}",
        "{2}",
        "{,3}",
        "{1,2}",
        "*",
        "+",
        "?",
        "|",
        "^",
        "$",
        ".",
        "\\A",
        "\\z",
        "\\Z",
        "\\h",
        "\\d",
        "\\w",
        "\\s",
        "\\1",
        "\\k<n>",
        "\\x",
        "\\x4",
        "\\u{",
        "\\u00e9",
        "\\0",
        "\\177",
        "\\c",
        "\\p{",
        "\\p{L}",
        "\\R",
        "\\G",
        "#",
        " ",
        "\n",
        "a",
        "é",
        "~",
        "\u{0}",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn translator_never_panics_on_arbitrary_strings(p in any::<String>(), icase: bool, dot: bool) {
        let flags = Flags { ignore_case: icase, dot_newline: dot };
        if let Ok(t) = translate(&p, flags) {
            prop_assert!(t.pattern.starts_with("(?m"));
        }
        let _ = CompiledPattern::new(&p, flags, &MatcherOptions::default());
    }

    #[test]
    fn translator_never_panics_on_regex_syntax(p in regexish(), banner in prop::collection::vec(any::<u8>(), 0..64)) {
        let opts = MatcherOptions { backtrack_limit: 10_000, ..MatcherOptions::default() };
        match CompiledPattern::new(&p, Flags::default(), &opts) {
            Ok(re) => {
                let text = recog_compat::banner_text(&banner);
                // Either an answer or a clean error; never a panic.
                let _ = re.captures(&text);
            }
            Err(e) => prop_assert!(matches!(
                e,
                Error::Translate { .. } | Error::Regex { .. } | Error::FancyRegex { .. }
            ), "{e:?}"),
        }
    }

    /// A literal string escaped the way Ruby's `Regexp.escape` does matches itself.
    #[test]
    fn escaped_literals_match_themselves(s in "[ -~é\t]{0,40}") {
        let mut p = String::from("\\A");
        for c in s.chars() {
            match c {
                '.' | '*' | '?' | '+' | '^' | '$' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '\\' | '/' | '-' | ' ' | '#' => {
                    p.push('\\');
                    p.push(c);
                }
                '\t' => p.push_str("\\t"),
                c => p.push(c),
            }
        }
        p.push_str("\\z");
        let re = CompiledPattern::new(&p, Flags::default(), &MatcherOptions::default()).unwrap();
        prop_assert!(re.is_match(&s).unwrap());
    }

    /// Catastrophic backtracking is cut off: the answer is "no match" or a
    /// backtrack-limit error, whatever the adversarial banner looks like.
    #[test]
    fn pathological_pattern_returns(n in 20usize..400, tail in prop::sample::select(vec!["", "c", "!", "aab"])) {
        let db = Database::from_xml_str(
            r#"<fingerprints><fingerprint pattern="^(a|aa)+(?=b)\1$"><description>evil</description>
               <param pos="0" name="x" value="y"/></fingerprint></fingerprints>"#,
            "evil",
        ).unwrap();
        let m = MatcherBuilder::new().backtrack_limit(10_000).build(&db).unwrap();
        let banner = format!("{}{tail}", "a".repeat(n));
        let r = m.best_match(banner.as_bytes());
        prop_assert!(matches!(r, Ok(None) | Err(Error::MatchAborted { .. })), "{r:?}");
    }
}

#[test]
fn long_adversarial_banner_hits_the_backtrack_limit() {
    let re = CompiledPattern::new(
        r"^(\w+\s?)+(?=z)\1$",
        Flags::default(),
        &MatcherOptions::default(),
    )
    .unwrap();
    assert_eq!(re.engine(), recog_compat::Engine::Backtracking);
    let banner = format!("{}!", "ab ".repeat(2000));
    assert!(matches!(
        re.is_match(&banner),
        Err(Error::MatchAborted { .. })
    ));
}
