//! include/eddy.h is generated from src/ by cbindgen and committed; this test
//! fails when it drifts. Regenerate with: EDDY_BLESS=1 cargo test --test header

use std::path::PathBuf;

#[test]
fn header_matches_generated() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/eddy.h");
    if std::env::var_os("EDDY_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/eddy.h is out of date with src/capi: run `EDDY_BLESS=1 cargo test --test header` and commit it"
    );
}
