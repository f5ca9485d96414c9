//! `[phantom]`: a phantom file, a generator specification file or an inline
//! `[phantom.spec]`, and the `[phantom.lesion]` it may be nested in (`lesion.rs`).

use std::path::{Path, PathBuf};

use toml_edit::Item;

use super::{get_str, lesion, read_text, sub, Ctx, LesionSpec, Tab};

/// Where the phantom comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PhantomSource {
    /// An xfire phantom HDF5 file.
    File(PathBuf),
    /// A generator specification (TOML text, from a file or inline).
    Spec {
        /// The specification text.
        text: String,
        /// Where it came from (a path or "inline").
        origin: String,
    },
}

impl PhantomSource {
    /// `[phantom]` of the root table and its `[phantom.lesion]`; `text` is the whole
    /// scenario (an inline `[phantom.spec]` is re-read from it), `base` its folder.
    pub(super) fn from_root(
        cx: &mut Ctx,
        root: &mut Tab,
        text: &str,
        base: &Path,
    ) -> (Option<PhantomSource>, Option<LesionSpec>) {
        let Some(mut pt) = sub(cx, root, "phantom") else {
            if root.t.get("phantom").is_none() {
                cx.problem(None, "missing table [phantom] (file = \"x.h5\", generate = \"spec.toml\" or [phantom.spec])");
            }
            return (None, None);
        };
        let file = get_str(cx, &mut pt, "file");
        let gen = get_str(cx, &mut pt, "generate");
        let spec_item = pt.get("spec");
        let lesion = lesion::read(cx, &mut pt, base);
        let n = usize::from(file.is_some())
            + usize::from(gen.is_some())
            + usize::from(spec_item.is_some());
        if n != 1 {
            cx.problem(pt.line, "[phantom] needs exactly one of file = \"phantom.h5\", generate = \"spec.toml\" or a [phantom.spec] table");
        }
        let mut phantom = None;
        if let Some((f, line)) = file {
            let p = base.join(f);
            if !p.is_file() {
                cx.problem(
                    line,
                    format!(
                        "phantom.file: {} does not exist (or is not a file)",
                        p.display()
                    ),
                );
            }
            phantom = Some(PhantomSource::File(p));
        } else if let Some((g, line)) = gen {
            phantom = Self::generate(cx, &base.join(&g), line);
        } else if let Some(it) = spec_item {
            phantom = Self::inline_spec(cx, it, text);
        }
        pt.finish(cx, &[]);
        (phantom, lesion)
    }

    /// `generate = "spec.toml"`: the specification file's text (`p` resolved).
    fn generate(cx: &mut Ctx, p: &Path, line: Option<usize>) -> Option<PhantomSource> {
        match read_text(p) {
            Ok(t) => Some(PhantomSource::Spec {
                text: t,
                origin: p.display().to_string(),
            }),
            Err(e) => {
                cx.problem(
                    line,
                    format!("phantom.generate: cannot read {}: {e}", p.display()),
                );
                None
            }
        }
    }

    /// `[phantom.spec]` (item `it`): printed back from `text` and checked as a specification.
    fn inline_spec(cx: &mut Ctx, it: &Item, text: &str) -> Option<PhantomSource> {
        let line = cx.item_line(it);
        // re-read the sub-table with the plain toml parser and print it back
        let v: Result<toml::Value, _> = toml::from_str(text);
        let st = v
            .ok()
            .and_then(|v| v.get("phantom").and_then(|p| p.get("spec")).cloned())
            .and_then(|s| toml::to_string(&s).ok());
        match st {
            Some(t) => match xfire_phantom::Spec::from_toml(&t) {
                Ok(_) => Some(PhantomSource::Spec {
                    text: t,
                    origin: "inline [phantom.spec]".into(),
                }),
                Err(e) => {
                    cx.problem(line, format!("phantom.spec: {e}"));
                    None
                }
            },
            None => {
                cx.problem(
                    line,
                    "phantom.spec must be a table (a phantom generator specification)",
                );
                None
            }
        }
    }
}
