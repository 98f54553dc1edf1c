//! File names built from untrusted text.

/// `name` made safe as one file name: ASCII letters, digits, `.`, `_` and `-` stay, every other
/// character becomes `_`, at most 120 characters are kept, and a name that is empty or starts
/// with a dot gets a leading `_` (no hidden file, no `.` or `..`). The result never contains a
/// path separator, so a name taken from input (a header name, a clustering name) can never
/// leave its folder.
///
/// ```
/// use bannerlm_base::safe_file_stem;
/// assert_eq!(safe_file_stem("Set-Cookie"), "Set-Cookie");
/// assert_eq!(safe_file_stem("../../etc/passwd"), "_.._.._etc_passwd");
/// assert_eq!(safe_file_stem(".."), "_..");
/// assert_eq!(safe_file_stem(""), "_");
/// ```
pub fn safe_file_stem(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}
