//! How a [`crate::Matcher`] runs one compiled fingerprint on a banner.
//!
//! Linear-time patterns run on `regex-automata`'s meta regex, built from the same syntax tree
//! as the `regex` crate would build (same syntax options, same leftmost-first semantics), so
//! that a pattern whose every match starts at a line start (`^Apache` with Ruby's always
//! multi-line `^`) can be searched *anchored* at each line start in turn instead of
//! unanchored. An anchored search is one pass of the one-pass DFA (or the bounded
//! backtracker) over the banner; an unanchored one is a forward and a reverse DFA pass and
//! then a capture pass. Line starts are tried left to right, so the first anchored match is
//! the leftmost match, the one the unanchored search finds.
//!
//! Backtracking patterns run on `fancy-regex` as compiled by [`CompiledPattern`].

use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::Look;

use crate::error::{Error, Result};
use crate::matcher::CompiledPattern;
use crate::prefilter::{Factor, factors_of};
use crate::translate::Engine;

/// The captures of one match, borrowed from the text (no copy until a param needs one).
pub(crate) enum CapturesRef<'t> {
    /// From the meta regex.
    Meta(Captures, &'t str),
    /// From the `regex` crate.
    Linear(regex::Captures<'t>),
    /// From `fancy-regex`.
    Backtracking(fancy_regex::Captures<'t, str>),
}

impl CapturesRef<'_> {
    /// The text of group `i`, if it took part.
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        match self {
            Self::Meta(c, text) => c.get_group(i).and_then(|s| text.get(s.range())),
            Self::Linear(c) => c.get(i).map(|m| m.as_str()),
            Self::Backtracking(c) => c.get(i).map(|m| m.as_str()),
        }
    }
}

/// One fingerprint's pattern, ready to run.
#[derive(Debug, Clone)]
pub(crate) enum Runner {
    /// A linear-time pattern on the meta regex.
    Meta {
        /// The regex.
        re: meta::Regex,
        /// Every match starts at a line start (position 0 or after `\n`).
        line_start: bool,
    },
    /// A pattern on the engine [`CompiledPattern`] chose (backtracking patterns, and the
    /// rare linear one the meta regex could not be built for).
    Compiled(CompiledPattern),
}

impl Runner {
    /// Prepares a compiled pattern; returns the runner and the literal factors of the
    /// prefilter (empty for a pattern that must always run).
    pub(crate) fn new(re: CompiledPattern, size_limit: usize) -> (Self, Vec<Factor>) {
        let CompiledPattern::Linear(r) = &re else {
            return (Self::Compiled(re), Vec::new());
        };
        let Ok(hir) = regex_syntax::Parser::new().parse(r.as_str()) else {
            return (Self::Compiled(re), Vec::new());
        };
        let built = meta::Regex::builder()
            .configure(meta::Config::new().nfa_size_limit(Some(size_limit)))
            .build_from_hir(&hir);
        let Ok(meta) = built else {
            return (Self::Compiled(re), Vec::new());
        };
        let prefix = hir.properties().look_set_prefix();
        let line_start = prefix.contains(Look::Start) || prefix.contains(Look::StartLF);
        (
            Self::Meta {
                re: meta,
                line_start,
            },
            factors_of(&hir),
        )
    }

    /// The engine the pattern needs.
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Meta { .. } => Engine::Linear,
            Self::Compiled(c) => c.engine(),
        }
    }

    /// Where an anchored search may start: 0 and after each `\n`, in order.
    fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
    }

    /// Whether the pattern matches anywhere in `text`.
    ///
    /// # Errors
    /// [`Error::MatchAborted`] when a backtracking pattern hits its limit.
    pub(crate) fn is_match(&self, text: &str) -> Result<bool> {
        match self {
            Self::Meta {
                re,
                line_start: true,
            } => Ok(Self::line_starts(text).any(|at| {
                re.is_match(
                    Input::new(text)
                        .range(at..)
                        .anchored(Anchored::Yes)
                        .earliest(true),
                )
            })),
            Self::Meta { re, .. } => Ok(re.is_match(Input::new(text).earliest(true))),
            Self::Compiled(c) => c.is_match(text),
        }
    }

    /// The captures of the first (leftmost) match.
    ///
    /// # Errors
    /// [`Error::MatchAborted`] when a backtracking pattern hits its limit.
    pub(crate) fn captures<'t>(&self, text: &'t str) -> Result<Option<CapturesRef<'t>>> {
        match self {
            Self::Meta { re, line_start } => {
                let mut caps = re.create_captures();
                if *line_start {
                    for at in Self::line_starts(text) {
                        re.search_captures(
                            &Input::new(text).range(at..).anchored(Anchored::Yes),
                            &mut caps,
                        );
                        if caps.is_match() {
                            break;
                        }
                    }
                } else {
                    re.search_captures(&Input::new(text), &mut caps);
                }
                Ok(caps.is_match().then_some(CapturesRef::Meta(caps, text)))
            }
            Self::Compiled(CompiledPattern::Backtracking(r)) => match r.captures(text) {
                Ok(c) => Ok(c.map(CapturesRef::Backtracking)),
                Err(e) => Err(Error::MatchAborted {
                    pattern: r.as_str().to_owned(),
                    source: Box::new(e),
                }),
            },
            Self::Compiled(CompiledPattern::Linear(r)) => {
                Ok(r.captures(text).map(CapturesRef::Linear))
            }
        }
    }
}
