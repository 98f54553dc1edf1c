//! The literal prefilter changes speed, never answers: `best_match` and `all_matches` with the
//! prefilter equal the plain scan (every pattern run in file order) on every example banner
//! of every Recog database in `RECOG_XML_DIR`, on mutated copies of them (proptest), and on
//! a built-in database of patterns that stress the literal extraction (case folding,
//! alternations, optional parts, Unicode, backtracking patterns).
//!
//! Without `RECOG_XML_DIR` only the built-in database is checked.
//! Run: `RECOG_XML_DIR=<recog checkout>/xml cargo test -p recog-compat --test prefilter_equivalence`
//! (`PROPTEST_CASES=5000` for more mutated banners).

use std::sync::OnceLock;

use proptest::prelude::*;
use recog_compat::{Database, Matcher, MatcherBuilder, load_dir};

/// A database and its matcher with and without the prefilter.
struct Pair {
    name: String,
    with: Matcher,
    without: Matcher,
    examples: Vec<Vec<u8>>,
}

fn pair(db: &Database) -> Pair {
    let build = |p: bool| match MatcherBuilder::new().prefilter(p).build_lenient(db) {
        Ok((m, _)) => m,
        Err(e) => panic!("{}: {e}", db.path.display()),
    };
    Pair {
        name: db.path.display().to_string(),
        with: build(true),
        without: build(false),
        examples: db
            .fingerprints
            .iter()
            .flat_map(|f| f.examples.iter().map(|e| e.content.clone()))
            .collect(),
    }
}

/// Patterns chosen to stress the literal extraction; the last ones need backtracking.
const BUILTIN: &str = r#"<fingerprints matches="t.key" protocol="http">
  <fingerprint pattern="^Apache/(\d+(?:\.\d+)*) \(Unix\)"><description>a</description><param pos="1" name="service.version"/></fingerprint>
  <fingerprint pattern="^(?:Foo|Bar)-?(Baz)?/(\d)" flags="REG_ICASE"><description>b</description><param pos="2" name="v"/></fingerprint>
  <fingerprint pattern="keep(?:alive)?s*" flags="REG_ICASE"><description>c</description><param pos="0" name="x" value="y"/></fingerprint>
  <fingerprint pattern="^Ümlaut\s+(\S+)$"><description>d</description><param pos="1" name="v"/></fingerprint>
  <fingerprint pattern="(?:ab){2,3}c|xyz"><description>e</description><param pos="0" name="x" value="y"/></fingerprint>
  <fingerprint pattern="^\x00\xff(.)"><description>f</description><param pos="1" name="v"/></fingerprint>
  <fingerprint pattern="^srv(?=-\d)"><description>g</description><param pos="0" name="x" value="y"/></fingerprint>
  <fingerprint pattern="^(\w+)\s\1$"><description>h</description><param pos="1" name="v"/></fingerprint>
  <fingerprint pattern="^[\w.-]+$"><description>i</description><param pos="0" name="x" value="y"/></fingerprint>
</fingerprints>"#;

fn builtin() -> &'static Pair {
    static B: OnceLock<Pair> = OnceLock::new();
    B.get_or_init(|| pair(&Database::from_xml_str(BUILTIN, "builtin").expect("loads")))
}

fn recog() -> &'static [Pair] {
    static R: OnceLock<Vec<Pair>> = OnceLock::new();
    R.get_or_init(|| match std::env::var_os("RECOG_XML_DIR") {
        Some(d) if !d.is_empty() => load_dir(&d)
            .unwrap_or_else(|e| panic!("RECOG_XML_DIR is set but unusable: {e}"))
            .iter()
            .map(pair)
            .collect(),
        _ => {
            eprintln!("RECOG_XML_DIR is not set: only the built-in database is checked");
            Vec::new()
        }
    })
}

/// Both matchers' answers on `banner` (errors compared by message).
fn same(p: &Pair, banner: &[u8]) -> Result<(), String> {
    let a = p.with.best_match(banner).map_err(|e| e.to_string());
    let b = p.without.best_match(banner).map_err(|e| e.to_string());
    if a != b {
        return Err(format!(
            "{}: best_match differs on {:?}: {a:?} vs {b:?}",
            p.name,
            String::from_utf8_lossy(banner)
        ));
    }
    let a = p.with.all_matches(banner).map_err(|e| e.to_string());
    let b = p.without.all_matches(banner).map_err(|e| e.to_string());
    if a != b {
        return Err(format!(
            "{}: all_matches differs on {:?}",
            p.name,
            String::from_utf8_lossy(banner)
        ));
    }
    Ok(())
}

#[test]
fn every_example_gives_the_same_answer() {
    for p in recog().iter().chain([builtin()]) {
        for ex in &p.examples {
            same(p, ex).unwrap_or_else(|e| panic!("{e}"));
            // Swapped case: the prefilter's case folding must not drop a candidate.
            let swapped: Vec<u8> = ex
                .iter()
                .map(|b| {
                    if b.is_ascii_lowercase() {
                        b.to_ascii_uppercase()
                    } else {
                        b.to_ascii_lowercase()
                    }
                })
                .collect();
            same(p, &swapped).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn builtin_database_matches_as_written() {
    let p = builtin();
    let first = |b: &[u8]| p.with.best_match(b).ok().flatten().map(|m| m.fingerprint);
    // Known answers, so the comparison above is not between two broken matchers.
    assert_eq!(first(b"Apache/2.4.1 (Unix)"), Some(0));
    assert_eq!(first(b"bar-baz/7"), Some(1));
    assert_eq!(first(b"x KEEPALIVE"), Some(2));
    assert_eq!(first("\u{212a}eep".as_bytes()), Some(2));
    assert_eq!(first("Ümlaut  v1".as_bytes()), Some(3));
    assert_eq!(first(b"zzababc"), Some(4));
    assert_eq!(first(b"\x00\xffq"), Some(5));
    assert_eq!(first(b"srv-1"), Some(6));
    assert_eq!(first(b"ab ab"), Some(7));
    assert_eq!(first(b"plain.name"), Some(8));
    assert_eq!(first(b"no match here!"), None);
}

/// One edit of a banner.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, u8),
    FlipCase(usize),
    /// Splice a piece of another example in.
    Splice(usize, usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (
            any::<usize>(),
            prop::sample::select(b" /-.()_0123456789\n\r\xff".to_vec())
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::FlipCase),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, b, c)| Edit::Splice(a, b, c)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(examples: &[Vec<u8>], mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = b.len();
        match *e {
            Edit::Delete(i) if n > 0 => {
                b.remove(i % n);
            }
            Edit::Insert(i, x) => b.insert(i % (n + 1), x),
            Edit::FlipCase(i) if n > 0 => {
                let c = &mut b[i % n];
                *c = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
            Edit::Splice(i, other, at) if !examples.is_empty() => {
                let o = &examples[other % examples.len()];
                let start = at % (o.len() + 1);
                let piece = &o[start..o.len().min(start + 12)];
                let pos = i % (n + 1);
                b.splice(pos..pos, piece.iter().copied());
            }
            Edit::Truncate(i) => b.truncate(i % (n + 1)),
            _ => {}
        }
    }
    b
}

proptest! {
    /// Mutated example banners of every database (and of the built-in one).
    #[test]
    fn mutated_examples_give_the_same_answer(
        db in any::<usize>(),
        ex in any::<usize>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let all = recog();
        let p = if all.is_empty() || db % 5 == 0 { builtin() } else { &all[db % all.len()] };
        prop_assume!(!p.examples.is_empty());
        let banner = apply(&p.examples, p.examples[ex % p.examples.len()].clone(), &edits);
        prop_assert!(same(p, &banner).is_ok(), "{}", same(p, &banner).err().unwrap_or_default());
    }
}
