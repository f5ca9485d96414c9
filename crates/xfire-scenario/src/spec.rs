//! Reading a scenario file: every key checked, every quantity converted from its unit, and
//! every problem collected with its line number (format: `docs/formats/scenario.md`).

use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike, Value};
use xfire_core::units;
use xfire_kinetics::{ExpTerm, Regimen, Tac, Tail};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1-based line number, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the key, the value and the expected unit.
    pub message: String,
}

/// One line per problem: `line N: message`.
pub fn format_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| match p.line {
            Some(l) => format!("  line {l}: {}", p.message),
            None => format!("  {}", p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

mod lesion;
mod lymphocytes;
mod output;
mod radiobiology;
mod transport;
pub use lesion::{
    LesionActivity, LesionGeometry, LesionPosition, LesionSpec, SphereLesion, BODY_MATERIAL,
};
pub use lymphocytes::{CirculatingSpec, LymphocyteSpec, MigratingSpec};
pub use output::OutputSpec;
pub use radiobiology::RadiobiologySpec;
pub use transport::TransportSpec;

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

/// The radioligand: nuclide and binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// Canonical nuclide name of the parent ("Lu-177").
    pub nuclide: String,
    /// Source distribution of the bound agent: `tumour_membrane`, `tumour_cytoplasm`,
    /// `tumour_nucleus`, `tumour_uniform`, `vessels`, `label:<name>` or a phantom map name.
    pub binding: String,
    /// Line of `binding` (for problems found once the phantom exists).
    pub binding_line: Option<usize>,
    /// Fraction of tumour cells that carry the agent \[1\] (0, 1].
    pub labelled_fraction: f64,
    /// Log-standard deviation of the lognormal per-cell uptake \[1\] (0: equal).
    pub uptake_sigma: f64,
}

/// What sets the amount of activity in the phantom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountSpec {
    /// Cumulated decays of the parent per labelled cell, for the first administration \[1\].
    DecaysPerLabelledCell(f64),
    /// Activity concentration in the tumour at t = 0 of the first administration \[Bq/g\].
    BqPerGram(f64),
    /// Administered activity × tumour uptake fraction, spread over a tumour of this mass.
    UptakeFraction {
        /// Fraction of the administered activity in the whole tumour \[1\].
        fraction: f64,
        /// Mass of the whole tumour \[g\]; the phantom's tumour gets its share by mass.
        tumour_mass_g: f64,
    },
}

/// Release rule of a daughter.
#[derive(Debug, Clone, PartialEq)]
pub struct DaughterSpec {
    /// Daughter nuclide (canonical), None for the `default` rule.
    pub daughter: Option<String>,
    /// Fraction released from the bound site \[1\].
    pub release: f64,
    /// Destination distribution (`uniform`, `vessels`, `label:<name>`, a map name).
    pub to: String,
    /// Clearance half-time from the destination \[s\] (∞: stays).
    pub clearance_half_time_s: f64,
    /// Line of the rule.
    pub line: Option<usize>,
}

/// A validated scenario: every quantity in internal units.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file it was read from (relative paths inside resolve against its folder).
    pub path: Option<PathBuf>,
    /// The text of the file.
    pub text: String,
    /// Free description.
    pub description: Option<String>,
    /// The phantom.
    pub phantom: PhantomSource,
    /// The lesion and body the phantom is nested in (`[phantom.lesion]`), if any.
    pub lesion: Option<LesionSpec>,
    /// The agent.
    pub agent: Agent,
    /// Time-activity curve of the parent at the binding site (shape).
    pub tac: Tac,
    /// What sets its amplitude.
    pub amount: AmountSpec,
    /// The regimen.
    pub regimen: Regimen,
    /// Body mass \[kg\] (for amounts per kg).
    pub body_mass_kg: Option<f64>,
    /// Daughter release rules.
    pub daughters: Vec<DaughterSpec>,
    /// Lymphocyte models.
    pub lymphocytes: LymphocyteSpec,
    /// Radiobiology.
    pub radiobiology: RadiobiologySpec,
    /// Transport.
    pub transport: TransportSpec,
    /// Output.
    pub output: OutputSpec,
}

struct Ctx<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl<'t> Ctx<'t> {
    fn line_of(&self, span: Option<std::ops::Range<usize>>) -> Option<usize> {
        span.map(|s| {
            1 + self.text.as_bytes()[..s.start.min(self.text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        })
    }
    fn item_line(&self, it: &Item) -> Option<usize> {
        let span = match it {
            Item::Table(t) => t.span(),
            Item::Value(Value::InlineTable(t)) => t.span(),
            _ => it.span(),
        };
        self.line_of(span)
    }
    fn problem(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            message: message.into(),
        });
    }
}

/// A table (or inline table) being read: remembers which keys were used.
struct Tab<'a> {
    path: String,
    t: &'a dyn TableLike,
    line: Option<usize>,
    used: Vec<&'static str>,
}

impl<'a> Tab<'a> {
    fn get(&mut self, key: &'static str) -> Option<&'a Item> {
        self.used.push(key);
        self.t.get(key).filter(|i| !i.is_none())
    }
    fn key_name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
    fn finish(self, cx: &mut Ctx, allowed_extra: &[&str]) {
        for (k, it) in self.t.iter() {
            if !self.used.contains(&k) && !allowed_extra.contains(&k) {
                let mut known: Vec<&str> = self.used.clone();
                known.extend_from_slice(allowed_extra);
                known.sort();
                known.dedup();
                let line = cx.item_line(it).or(self.line);
                cx.problem(
                    line,
                    format!(
                        "unknown key {:?}{}; known keys: {}",
                        self.key_name(k),
                        suggestion(k, &known),
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

fn suggestion(k: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|c| (levenshtein(k, c), *c))
        .min()
        .filter(|(d, _)| *d <= 2 + k.len() / 4);
    match best {
        Some((_, c)) => format!(" (did you mean {c:?}?)"),
        None => String::new(),
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let c = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(c);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn sub<'a>(cx: &mut Ctx, parent: &mut Tab<'a>, key: &'static str) -> Option<Tab<'a>> {
    let it = parent.get(key)?;
    let path = parent.key_name(key);
    match it.as_table_like() {
        Some(t) => Some(Tab {
            path,
            t,
            line: cx.item_line(it),
            used: vec![],
        }),
        None => {
            let l = cx.item_line(it);
            cx.problem(l, format!("{path} must be a table"));
            None
        }
    }
}

fn get_str(cx: &mut Ctx, t: &mut Tab, key: &'static str) -> Option<(String, Option<usize>)> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    match it.as_str() {
        Some(s) => Some((s.to_string(), line)),
        None => {
            cx.problem(
                line,
                format!("{} must be a string, got {}", t.key_name(key), show(it)),
            );
            None
        }
    }
}

fn show(it: &Item) -> String {
    it.to_string().trim().to_string()
}

fn num_of(it: &Item) -> Option<f64> {
    it.as_float().or_else(|| it.as_integer().map(|i| i as f64))
}

/// A plain number (no unit) checked against `lo`/`hi` (inclusive unless `lo_open`).
fn get_num(
    cx: &mut Ctx,
    t: &mut Tab,
    key: &'static str,
    lo: f64,
    lo_open: bool,
    hi: f64,
) -> Option<f64> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    let name = t.key_name(key);
    let Some(v) = num_of(it) else {
        cx.problem(line, format!("{name} must be a number, got {}", show(it)));
        return None;
    };
    let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
    if !ok {
        cx.problem(
            line,
            format!(
                "{name} = {v} is out of range: expected a finite number {} {lo}{}",
                if lo_open { ">" } else { ">=" },
                if hi.is_finite() {
                    format!(" and <= {hi}")
                } else {
                    String::new()
                }
            ),
        );
        return None;
    }
    Some(v)
}

fn get_u64(cx: &mut Ctx, t: &mut Tab, key: &'static str, min: u64) -> Option<u64> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    match it.as_integer() {
        Some(i) if i >= min as i64 => Some(i as u64),
        _ => {
            cx.problem(
                line,
                format!(
                    "{} must be an integer >= {min}, got {}",
                    t.key_name(key),
                    show(it)
                ),
            );
            None
        }
    }
}

fn get_bool(cx: &mut Ctx, t: &mut Tab, key: &'static str) -> Option<bool> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    match it.as_bool() {
        Some(b) => Some(b),
        None => {
            cx.problem(
                line,
                format!(
                    "{} must be true or false, got {}",
                    t.key_name(key),
                    show(it)
                ),
            );
            None
        }
    }
}

/// A quantity string converted by `parse`, positive (or ≥ 0 with `allow_zero`).
fn get_qty(
    cx: &mut Ctx,
    t: &mut Tab,
    key: &'static str,
    what: &str,
    allow_zero: bool,
    parse: &dyn Fn(&str) -> Result<f64, String>,
) -> Option<f64> {
    let (s, line) = get_str(cx, t, key)?;
    qty_text(cx, &t.key_name(key), &s, line, what, allow_zero, parse)
}

fn qty_text(
    cx: &mut Ctx,
    name: &str,
    s: &str,
    line: Option<usize>,
    what: &str,
    allow_zero: bool,
    parse: &dyn Fn(&str) -> Result<f64, String>,
) -> Option<f64> {
    match parse(s) {
        Ok(v)
            if (v.is_finite() || (v == f64::INFINITY && what == "half-time"))
                && (v > 0.0 || (allow_zero && v == 0.0)) =>
        {
            Some(v)
        }
        Ok(v) => {
            cx.problem(
                line,
                format!(
                    "{name} = {s:?} ({v}): a {what} must be finite and {}",
                    if allow_zero { ">= 0" } else { "> 0" }
                ),
            );
            None
        }
        Err(e) => {
            cx.problem(line, format!("{name} = {s:?}: {e}"));
            None
        }
    }
}

fn time(s: &str) -> Result<f64, String> {
    units::parse_time_s(s).map_err(|e| e.to_string())
}

fn time_or_inf(s: &str) -> Result<f64, String> {
    let l = s.trim().to_ascii_lowercase();
    if l == "inf" || l == "infinite" || l == "infinity" || l == "none" {
        return Ok(f64::INFINITY);
    }
    time(s)
}

fn length(s: &str) -> Result<f64, String> {
    units::parse_length_cm(s).map_err(|e| e.to_string())
}

/// A mass ("50 g", "0.05 kg", "500 mg", "70 kg") in grams.
pub fn parse_mass_g(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t
        .char_indices()
        .find(|(_, c)| c.is_alphabetic() && *c != 'e' && *c != 'E')
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.trim().parse().map_err(|_| {
        format!("cannot read a mass from {s:?} (expected e.g. \"50 g\", \"70 kg\")")
    })?;
    let f = match unit.trim() {
        "ug" | "µg" => 1e-6,
        "mg" => 1e-3,
        "g" => 1.0,
        "kg" => 1e3,
        u => {
            return Err(format!(
                "unknown mass unit {u:?} in {s:?} (known: ug, mg, g, kg)"
            ))
        }
    };
    Ok(v * f)
}

/// An activity concentration ("1 MBq/g", "5 kBq/mg", "2 GBq/kg") in Bq/g.
pub fn parse_bq_per_g(s: &str) -> Result<f64, String> {
    let Some((a, m)) = s.split_once('/') else {
        return Err(format!(
            "cannot read an activity concentration from {s:?} (expected e.g. \"1 MBq/g\")"
        ));
    };
    let a = units::parse_activity_bq(a).map_err(|e| e.to_string())?;
    let m = parse_mass_g(&format!("1 {}", m.trim()))?;
    Ok(a / m)
}

/// A speed ("5 um/min", "0.1 mm/h") in cm/s.
pub fn parse_speed_cm_per_s(s: &str) -> Result<f64, String> {
    let Some((l, t)) = s.split_once('/') else {
        return Err(format!(
            "cannot read a speed from {s:?} (expected e.g. \"5 um/min\")"
        ));
    };
    let l = length(l)?;
    let t = time(&format!("1 {}", t.trim()))?;
    Ok(l / t)
}

fn get_array<'a>(
    cx: &mut Ctx,
    t: &mut Tab<'a>,
    key: &'static str,
) -> Option<(Vec<&'a Value>, Option<usize>)> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    match it.as_array() {
        Some(a) => Some((a.iter().collect(), line)),
        None => {
            cx.problem(
                line,
                format!("{} must be an array, got {}", t.key_name(key), show(it)),
            );
            None
        }
    }
}

fn get_time_list(
    cx: &mut Ctx,
    t: &mut Tab,
    key: &'static str,
    allow_zero: bool,
) -> Option<Vec<f64>> {
    let it = t.get(key)?;
    let line = cx.item_line(it);
    let name = t.key_name(key);
    let mut out = Vec::new();
    let strings: Vec<String> = if let Some(s) = it.as_str() {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    } else if let Some(a) = it.as_array() {
        let mut v = Vec::new();
        for x in a.iter() {
            match x.as_str() {
                Some(s) => v.push(s.to_string()),
                None => {
                    cx.problem(
                        line,
                        format!("{name}: every entry must be a time string like \"7 d\", got {x}"),
                    );
                    return None;
                }
            }
        }
        v
    } else {
        cx.problem(
            line,
            format!("{name} must be a list of times like [\"1 d\", \"7 d\"]"),
        );
        return None;
    };
    let mut ok = true;
    for s in &strings {
        match qty_text(cx, &name, s, line, "time", allow_zero, &time) {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The canonical library name of `text`, or a problem with suggestions.
fn nuclide(cx: &mut Ctx, text: &str, line: Option<usize>, what: &str) -> Option<String> {
    match xfire_data::nuclides::library().resolve(text) {
        Ok(n) => Some(n.name.clone()),
        Err(_) => {
            let close = xfire_data::nuclides::library().close_matches(text);
            cx.problem(
                line,
                format!(
                    "{what}: unknown nuclide {text:?}{}",
                    if close.is_empty() {
                        " (see `xfire nuclide list`)".to_string()
                    } else {
                        format!("; did you mean {}?", close.join(", "))
                    }
                ),
            );
            None
        }
    }
}

/// Why a TOML document is a phantom generator specification rather than a scenario: it has
/// the spec's `[grid]` table and none of a scenario's `[phantom]`, `[agent]`, `[regimen]`.
fn phantom_spec_not_scenario(t: &toml_edit::Table) -> Option<&'static str> {
    let scenario = ["phantom", "agent", "regimen", "kinetics"]
        .iter()
        .any(|k| t.contains_key(k));
    (t.contains_key("grid") && !scenario).then_some("it has [grid] and no [phantom] or [agent]")
}

/// Accepted binding names besides `label:<name>` and phantom map names.
pub const BINDINGS: [&str; 6] = [
    "tumour_membrane",
    "tumour_cytoplasm",
    "tumour_nucleus",
    "tumour_uniform",
    "uniform",
    "vessels",
];

/// Largest scenario or phantom specification file read \[bytes\] (real ones are a few kB).
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// Reads a text input: a regular file (never a device or FIFO, which could be read without
/// end) of at most [`MAX_TEXT_BYTES`]; the error names the size.
fn read_text(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_TEXT_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than the {MAX_TEXT_BYTES} bytes a scenario or specification may have",
            meta.len()
        )));
    }
    std::fs::read_to_string(path)
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn from_file(path: &Path) -> crate::Result<Self> {
        let text = read_text(path).map_err(|e| {
            crate::ScenarioError::Failed(format!("cannot read scenario {}: {e}", path.display()))
        })?;
        Self::from_text(&text, Some(path))
    }

    /// Validate scenario `text`; `path` (if any) resolves relative file names and names the
    /// file in problems. All problems are reported together.
    pub fn from_text(text: &str, path: Option<&Path>) -> crate::Result<Self> {
        let file = path.map_or("<scenario>".to_string(), |p| p.display().to_string());
        let invalid = |problems| crate::ScenarioError::Invalid {
            file: file.clone(),
            problems,
        };
        let doc = match ImDocument::parse(text.to_string()) {
            Ok(d) => d,
            Err(e) => {
                let line = e
                    .span()
                    .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
                return Err(invalid(vec![Problem {
                    line,
                    message: format!("TOML syntax: {}", e.message()),
                }]));
            }
        };
        if let Some(why) = phantom_spec_not_scenario(doc.as_table()) {
            return Err(invalid(vec![Problem {
                line: None,
                message: format!(
                    "this is a phantom specification ({why}), not a scenario: generate the \
                     phantom with `xfire phantom generate {} -o phantom.h5`, or use it from a \
                     scenario's [phantom] table (generate = \"{}\"); scenarios: \
                     docs/formats/scenario.md",
                    file,
                    path.and_then(|p| p.file_name())
                        .map_or("spec.toml".into(), |n| n.to_string_lossy())
                ),
            }]));
        }
        let mut cx = Ctx {
            text,
            problems: Vec::new(),
        };
        let base = path
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut root = Tab {
            path: String::new(),
            t: doc.as_table(),
            line: Some(1),
            used: vec![],
        };
        let description = get_str(&mut cx, &mut root, "description").map(|x| x.0);
        let seed = get_u64(&mut cx, &mut root, "seed", 0).unwrap_or(1);

        // phantom
        let mut phantom = None;
        let mut lesion = None;
        match sub(&mut cx, &mut root, "phantom") {
            None => {
                if root.t.get("phantom").is_none() {
                    cx.problem(None, "missing table [phantom] (file = \"x.h5\", generate = \"spec.toml\" or [phantom.spec])");
                }
            }
            Some(mut pt) => {
                let file = get_str(&mut cx, &mut pt, "file");
                let gen = get_str(&mut cx, &mut pt, "generate");
                let spec_item = pt.get("spec");
                lesion = lesion::read(&mut cx, &mut pt, &base);
                let n = usize::from(file.is_some())
                    + usize::from(gen.is_some())
                    + usize::from(spec_item.is_some());
                if n != 1 {
                    cx.problem(pt.line, "[phantom] needs exactly one of file = \"phantom.h5\", generate = \"spec.toml\" or a [phantom.spec] table");
                }
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
                    let p = base.join(&g);
                    match read_text(&p) {
                        Ok(t) => {
                            phantom = Some(PhantomSource::Spec {
                                text: t,
                                origin: p.display().to_string(),
                            })
                        }
                        Err(e) => cx.problem(
                            line,
                            format!("phantom.generate: cannot read {}: {e}", p.display()),
                        ),
                    }
                } else if let Some(it) = spec_item {
                    let line = cx.item_line(it);
                    // re-read the sub-table with the plain toml parser and print it back
                    let v: Result<toml::Value, _> = toml::from_str(text);
                    let st = v
                        .ok()
                        .and_then(|v| v.get("phantom").and_then(|p| p.get("spec")).cloned())
                        .and_then(|s| toml::to_string(&s).ok());
                    match st {
                        Some(t) => match xfire_phantom::Spec::from_toml(&t) {
                            Ok(_) => {
                                phantom = Some(PhantomSource::Spec {
                                    text: t,
                                    origin: "inline [phantom.spec]".into(),
                                })
                            }
                            Err(e) => cx.problem(line, format!("phantom.spec: {e}")),
                        },
                        None => cx.problem(
                            line,
                            "phantom.spec must be a table (a phantom generator specification)",
                        ),
                    }
                }
                pt.finish(&mut cx, &[]);
            }
        }

        // agent
        let mut agent = None;
        match sub(&mut cx, &mut root, "agent") {
            None => cx.problem(None, "missing table [agent] (nuclide, binding)"),
            Some(mut at) => {
                let nuc = match get_str(&mut cx, &mut at, "nuclide") {
                    Some((s, l)) => nuclide(&mut cx, &s, l, "agent.nuclide"),
                    None => {
                        cx.problem(at.line, "agent.nuclide is required (e.g. \"Lu-177\")");
                        None
                    }
                };
                let binding = match get_str(&mut cx, &mut at, "binding") {
                    Some((s, l)) => {
                        let s = s.trim().to_string();
                        let s = match s.as_str() {
                            "membrane" => "tumour_membrane".to_string(),
                            "cytoplasm" => "tumour_cytoplasm".to_string(),
                            "nucleus" => "tumour_nucleus".to_string(),
                            "uniform_in_tumour" | "uniform in tumour" => {
                                "tumour_uniform".to_string()
                            }
                            _ => s,
                        };
                        if s.is_empty() {
                            cx.problem(l, "agent.binding must not be empty");
                        }
                        Some((s, l))
                    }
                    None => {
                        cx.problem(at.line, format!("agent.binding is required (one of {}, label:<name> or a source map of the phantom)", BINDINGS.join(", ")));
                        None
                    }
                };
                let lf =
                    get_num(&mut cx, &mut at, "labelled_fraction", 0.0, true, 1.0).unwrap_or(1.0);
                let sigma =
                    get_num(&mut cx, &mut at, "uptake_sigma", 0.0, false, 5.0).unwrap_or(0.0);
                at.finish(&mut cx, &[]);
                if let (Some(n), Some((b, bl))) = (nuc, binding) {
                    agent = Some(Agent {
                        nuclide: n,
                        binding: b,
                        binding_line: bl,
                        labelled_fraction: lf,
                        uptake_sigma: sigma,
                    });
                }
            }
        }

        // kinetics
        let mut tac = None;
        let mut amount = None;
        match sub(&mut cx, &mut root, "kinetics") {
            None => cx.problem(
                None,
                "missing table [kinetics] (clearance or table, and one amount)",
            ),
            Some(mut kt) => {
                let uptake = get_qty(&mut cx, &mut kt, "uptake_half_time", "time", false, &time);
                let clear = kt.get("clearance");
                let table = kt.get("table");
                let tail = get_str(&mut cx, &mut kt, "tail");
                match (clear, table) {
                    (Some(_), Some(_)) => cx.problem(kt.line, "kinetics: give either clearance (exponentials) or table (points), not both"),
                    (Some(c), None) => {
                        let line = cx.item_line(c);
                        let mut terms = Vec::new();
                        let mut ok = true;
                        let entries: Vec<Item> = if let Some(s) = c.as_str() {
                            vec![Item::Value(Value::from(s))]
                        } else if let Some(a) = c.as_array() {
                            a.iter().map(|v| Item::Value(v.clone())).collect()
                        } else if let Some(a) = c.as_array_of_tables() {
                            a.iter().map(|t| Item::Table(t.clone())).collect()
                        } else {
                            cx.problem(line, "kinetics.clearance must be a half-time (\"60 h\", \"inf\") or a list of { fraction, half_time }");
                            vec![]
                        };
                        for e in &entries {
                            if let Some(s) = e.as_str() {
                                match qty_text(&mut cx, "kinetics.clearance", s, line, "half-time", false, &time_or_inf) {
                                    Some(h) => terms.push(ExpTerm { fraction: 1.0, half_time_s: h }),
                                    None => ok = false,
                                }
                            } else if let Some(t) = e.as_table_like() {
                                let mut tt = Tab { path: "kinetics.clearance[]".into(), t, line, used: vec![] };
                                let f = get_num(&mut cx, &mut tt, "fraction", 0.0, false, f64::INFINITY);
                                let h = get_qty(&mut cx, &mut tt, "half_time", "half-time", false, &time_or_inf);
                                if tt.t.get("fraction").is_none() || tt.t.get("half_time").is_none() {
                                    cx.problem(line, "kinetics.clearance: each term needs fraction and half_time");
                                    ok = false;
                                }
                                tt.finish(&mut cx, &[]);
                                match (f, h) {
                                    (Some(f), Some(h)) => terms.push(ExpTerm { fraction: f, half_time_s: h }),
                                    _ => ok = false,
                                }
                            } else {
                                cx.problem(line, format!("kinetics.clearance: cannot read term {}", show(e)));
                                ok = false;
                            }
                        }
                        if ok && !terms.is_empty() {
                            if terms.iter().map(|t| t.fraction).sum::<f64>() <= 0.0 {
                                cx.problem(line, "kinetics.clearance: the fractions sum to 0");
                            } else {
                                tac = Some(Tac::Exponentials { terms, uptake_half_time_s: uptake });
                            }
                        }
                        if tail.is_some() {
                            cx.problem(line, "kinetics.tail applies to a table only");
                        }
                    }
                    (None, Some(tb)) => {
                        let line = cx.item_line(tb);
                        let mut pts = Vec::new();
                        let mut ok = true;
                        match tb.as_array() {
                            Some(a) => {
                                for p in a.iter() {
                                    let pair = p.as_array().filter(|x| x.len() == 2);
                                    let parsed = pair.and_then(|x| {
                                        let t = x.get(0)?.as_str()?.to_string();
                                        let v = x.get(1)?;
                                        let v = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
                                        Some((t, v))
                                    });
                                    match parsed {
                                        Some((t, v)) => {
                                            let ts = qty_text(&mut cx, "kinetics.table", &t, line, "time", true, &time);
                                            if !(v.is_finite() && v >= 0.0) {
                                                cx.problem(line, format!("kinetics.table: relative activity {v} must be finite and >= 0"));
                                                ok = false;
                                            }
                                            match ts {
                                                Some(ts) => pts.push((ts, v)),
                                                None => ok = false,
                                            }
                                        }
                                        None => {
                                            cx.problem(line, format!("kinetics.table: each point must be [\"time\", value], got {p}"));
                                            ok = false;
                                        }
                                    }
                                }
                            }
                            None => {
                                cx.problem(line, "kinetics.table must be a list of [\"time\", relative activity] points");
                                ok = false;
                            }
                        }
                        if ok && pts.windows(2).any(|w| w[1].0 <= w[0].0) {
                            cx.problem(line, "kinetics.table: times must increase");
                            ok = false;
                        }
                        if ok && pts.is_empty() {
                            cx.problem(line, "kinetics.table has no points");
                            ok = false;
                        }
                        let tail_v = match tail {
                            None => Some(Tail::Physical),
                            Some((s, l)) => match s.trim() {
                                "physical" => Some(Tail::Physical),
                                "fit" | "fit_last_two" => Some(Tail::FitLastTwo),
                                x => qty_text(&mut cx, "kinetics.tail", x, l, "effective half-time", false, &time)
                                    .map(Tail::EffectiveHalfTime),
                            },
                        };
                        if uptake.is_some() {
                            cx.problem(line, "kinetics.uptake_half_time applies to clearance exponentials only");
                        }
                        if let (true, Some(tail)) = (ok, tail_v) {
                            tac = Some(Tac::Table { points: pts, tail });
                        }
                    }
                    (None, None) => {
                        tac = Some(Tac::Exponentials {
                            terms: vec![ExpTerm { fraction: 1.0, half_time_s: f64::INFINITY }],
                            uptake_half_time_s: uptake,
                        });
                    }
                }
                let dpc = get_num(
                    &mut cx,
                    &mut kt,
                    "decays_per_labelled_cell",
                    0.0,
                    false,
                    f64::INFINITY,
                );
                let bqg = get_qty(
                    &mut cx,
                    &mut kt,
                    "activity_concentration",
                    "activity concentration",
                    true,
                    &parse_bq_per_g,
                );
                let uf = get_num(&mut cx, &mut kt, "uptake_fraction", 0.0, false, 1.0);
                let tm = get_qty(
                    &mut cx,
                    &mut kt,
                    "tumour_mass",
                    "mass",
                    false,
                    &parse_mass_g,
                );
                let given =
                    usize::from(dpc.is_some() || kt.t.contains_key("decays_per_labelled_cell"))
                        + usize::from(bqg.is_some() || kt.t.contains_key("activity_concentration"))
                        + usize::from(uf.is_some() || kt.t.contains_key("uptake_fraction"));
                if given != 1 {
                    cx.problem(kt.line, "kinetics needs exactly one amount: decays_per_labelled_cell, activity_concentration (\"1 MBq/g\") or uptake_fraction with tumour_mass");
                }
                if let Some(d) = dpc {
                    amount = Some(AmountSpec::DecaysPerLabelledCell(d));
                } else if let Some(c) = bqg {
                    amount = Some(AmountSpec::BqPerGram(c));
                } else if let Some(f) = uf {
                    match tm {
                        Some(m) => {
                            amount = Some(AmountSpec::UptakeFraction {
                                fraction: f,
                                tumour_mass_g: m,
                            })
                        }
                        None => {
                            if !kt.t.contains_key("tumour_mass") {
                                cx.problem(kt.line, "kinetics.uptake_fraction needs kinetics.tumour_mass (\"10 g\"): the phantom gets the share of its tumour mass")
                            }
                        }
                    }
                }
                if tm.is_some() && uf.is_none() && kt.t.get("uptake_fraction").is_none() {
                    cx.problem(
                        kt.line,
                        "kinetics.tumour_mass is used only with uptake_fraction",
                    );
                }
                kt.finish(&mut cx, &[]);
            }
        }

        // regimen
        let mut regimen = None;
        let mut body_mass_kg = None;
        match sub(&mut cx, &mut root, "regimen") {
            None => {
                regimen = Some(Regimen::single(1.0));
                if root.t.get("regimen").is_none() {
                    // a single unit administration: the amount then must not depend on activity
                }
            }
            Some(mut rt) => {
                match get_str(&mut cx, &mut rt, "schedule") {
                    Some((s, l)) => match Regimen::parse(&s) {
                        Ok(r) => regimen = Some(r),
                        Err(e) => cx.problem(l, format!("regimen.schedule: {e}")),
                    },
                    None => cx.problem(
                        rt.line,
                        "regimen.schedule is required (e.g. \"7.4 GBq every 6 weeks x 6\")",
                    ),
                }
                body_mass_kg = get_qty(&mut cx, &mut rt, "body_mass", "mass", false, &parse_mass_g)
                    .map(|g| g / 1e3);
                let rline = rt.line;
                rt.finish(&mut cx, &[]);
                if let Some(r) = &regimen {
                    if let Err(e) = r.administrations(body_mass_kg) {
                        cx.problem(rline, format!("regimen: {e}"));
                    }
                }
            }
        }

        // daughters
        let mut daughters = Vec::new();
        if let Some(mut dt) = sub(&mut cx, &mut root, "daughters") {
            let keys: Vec<String> = dt.t.iter().map(|(k, _)| k.to_string()).collect();
            for k in keys {
                let it = dt.t.get(&k).expect("key listed");
                let line = cx.item_line(it);
                let Some(t) = it.as_table_like() else {
                    cx.problem(line, format!("daughters.{k} must be a table {{ release = 0.3, to = \"uniform\", clearance_half_time = \"1 h\" }}"));
                    continue;
                };
                let daughter = if k == "default" {
                    None
                } else {
                    match nuclide(&mut cx, &k, line, "daughters") {
                        Some(n) => Some(n),
                        None => continue,
                    }
                };
                let mut tt = Tab {
                    path: format!("daughters.{k}"),
                    t,
                    line,
                    used: vec![],
                };
                let rel = get_num(&mut cx, &mut tt, "release", 0.0, false, 1.0);
                let to = get_str(&mut cx, &mut tt, "to").map(|x| x.0);
                let ch = get_qty(
                    &mut cx,
                    &mut tt,
                    "clearance_half_time",
                    "half-time",
                    false,
                    &time_or_inf,
                );
                if tt.t.get("release").is_none() {
                    cx.problem(
                        line,
                        format!("daughters.{k}.release is required (fraction released, 0..1)"),
                    );
                }
                tt.finish(&mut cx, &[]);
                if let Some(rel) = rel {
                    let to = to.unwrap_or_else(|| "uniform".into());
                    if rel > 0.0 || k != "default" {
                        daughters.push(DaughterSpec {
                            daughter,
                            release: rel,
                            to,
                            clearance_half_time_s: ch.unwrap_or(f64::INFINITY),
                            line,
                        });
                    }
                }
            }
            dt.used = vec![];
            // every key was a daughter name: nothing unknown
        }

        let lymphocytes = LymphocyteSpec::from_root(&mut cx, &mut root);
        let rb = RadiobiologySpec::from_root(&mut cx, &mut root);
        let tr = TransportSpec::from_root(&mut cx, &mut root, seed);
        let out = OutputSpec::from_root(&mut cx, &mut root);
        root.finish(&mut cx, &[]);

        // cross checks
        if doc.as_table().get("regimen").is_none()
            && doc
                .as_table()
                .get("kinetics")
                .and_then(|k| k.get("uptake_fraction"))
                .is_some()
        {
            cx.problem(
                None,
                "kinetics.uptake_fraction is a fraction of the administered activity: give [regimen] schedule = \"7.4 GBq ...\"",
            );
        }
        if let Some(a) = &agent {
            if let Ok(chain) = xfire_kinetics::Chain::from_library(&a.nuclide) {
                for d in &daughters {
                    if let Some(n) = &d.daughter {
                        if chain.index_of(n).unwrap_or(0) == 0 {
                            let members: Vec<&str> = chain.members()[1..]
                                .iter()
                                .map(|m| m.nuclide.as_str())
                                .collect();
                            cx.problem(
                                d.line,
                                format!(
                                    "daughters: {n} is not a daughter of {} (chain: {})",
                                    a.nuclide,
                                    members.join(", ")
                                ),
                            );
                        }
                    }
                    if d.to == a.binding {
                        cx.problem(d.line, format!("daughters: released atoms must go to a site other than the binding site {:?}", a.binding));
                    }
                }
            } else {
                cx.problem(
                    a.binding_line,
                    format!("agent.nuclide: {} has no decay chain (stable?)", a.nuclide),
                );
            }
        }

        if !cx.problems.is_empty() {
            let mut p = cx.problems;
            p.sort_by_key(|x| x.line.unwrap_or(0));
            return Err(invalid(p));
        }
        Ok(Scenario {
            path: path.map(Path::to_path_buf),
            text: text.to_string(),
            description,
            phantom: phantom.expect("checked"),
            lesion,
            agent: agent.expect("checked"),
            tac: tac.expect("checked"),
            amount: amount.expect("checked"),
            regimen: regimen.expect("checked"),
            body_mass_kg,
            daughters,
            lymphocytes,
            radiobiology: rb,
            transport: tr,
            output: out,
        })
    }
}
