//! Export round trip over the real Recog databases (`RECOG_XML_DIR`): every
//! database written back with [`ExportDatabase`] loads again with the same
//! fingerprints and verifies with the same counts. When `xmllint` (Debian
//! libxml2-utils) is installed, each export is also validated against
//! Recog's own `fingerprints.xsd`; otherwise that step says it is skipped.

use std::path::PathBuf;
use std::process::Command;

use recog_compat::{Database, ExportDatabase, load_dir, verify};

#[test]
fn real_databases_round_trip_through_export() {
    let Some(dir) = std::env::var_os("RECOG_XML_DIR").filter(|d| !d.is_empty()) else {
        eprintln!("RECOG_XML_DIR is not set: skipping the export round trip");
        return;
    };
    let dir = PathBuf::from(dir);
    let dbs = load_dir(&dir)
        .unwrap_or_else(|e| panic!("RECOG_XML_DIR={} is unusable: {e}", dir.display()));
    let xsd = dir.join("fingerprints.xsd");
    let xmllint = Command::new("xmllint").arg("--version").output().is_ok() && xsd.is_file();
    if !xmllint {
        eprintln!("xmllint or fingerprints.xsd not available: skipping schema validation");
    }
    let out = std::env::temp_dir().join(format!("recog-compat-export-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("temp dir");
    for db in &dbs {
        let name = db
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let export = ExportDatabase::from(db);
        let xml = export.to_xml().unwrap_or_else(|e| panic!("{name}: {e}"));
        let back =
            Database::from_xml_str(&xml, &db.match_key).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.match_key, db.match_key, "{name}");
        assert_eq!(back.protocol, db.protocol, "{name}");
        assert_eq!(back.fingerprints.len(), db.fingerprints.len(), "{name}");
        for (a, b) in db.fingerprints.iter().zip(&back.fingerprints) {
            assert_eq!(a.pattern, b.pattern, "{name}:{}", a.line);
            assert_eq!(a.flags, b.flags, "{name}:{}", a.line);
            assert_eq!(a.description, b.description, "{name}:{}", a.line);
            assert_eq!(a.params, b.params, "{name}:{}", a.line);
            assert_eq!(a.examples.len(), b.examples.len(), "{name}:{}", a.line);
            for (x, y) in a.examples.iter().zip(&b.examples) {
                assert_eq!(x.content, y.content, "{name}:{}", x.line);
                assert_eq!(
                    x.expected().collect::<Vec<_>>(),
                    y.expected().collect::<Vec<_>>(),
                    "{name}:{}",
                    x.line
                );
            }
        }
        let (r1, r2) = (verify(db).expect("verify"), verify(&back).expect("verify"));
        assert_eq!(
            (r1.successes, r1.warnings, r1.failures),
            (r2.successes, r2.warnings, r2.failures),
            "{name}"
        );
        if xmllint {
            let file = out.join(&name);
            std::fs::write(&file, &xml).expect("write export");
            let o = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(&xsd)
                .arg(&file)
                .output()
                .expect("run xmllint");
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}
