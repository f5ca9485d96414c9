//! Embeds the voxel S-value library `kernels/vsv/*.csv` (repository root) into the crate:
//! writes `$OUT_DIR/embedded_kernels.rs` with one `(file name, include_str!)` entry per file,
//! sorted by name.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../kernels/vsv");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "csv"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from("/// The embedded library files: (file name, text).\n");
    code.push_str("pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n");
    for p in &files {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let abs = p.canonicalize().expect("kernel file readable");
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_kernels.rs");
    std::fs::write(out, code).expect("OUT_DIR writable");
}
