//! Reading a scenario file: every key checked, every quantity converted from its unit, and
//! every problem collected with its line number (format: `docs/formats/scenario.md`).
//! Each table is read in its own submodule beside the struct it builds (`spec/<table>.rs`);
//! [`Scenario::from_text`] reads them in order and checks across them.

use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike, Value};
use xfire_core::units;
use xfire_kinetics::{Regimen, Tac};

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

mod agent;
mod daughters;
mod kinetics;
mod lesion;
mod lymphocytes;
mod output;
mod phantom;
mod radiobiology;
mod regimen;
mod transport;
pub use agent::{Agent, BINDINGS};
pub use daughters::DaughterSpec;
pub use kinetics::AmountSpec;
pub use lesion::{
    LesionActivity, LesionGeometry, LesionPosition, LesionSpec, SphereLesion, BODY_MATERIAL,
};
pub use lymphocytes::{CirculatingSpec, LymphocyteSpec, MigratingSpec};
pub use output::OutputSpec;
pub use phantom::PhantomSource;
pub use radiobiology::RadiobiologySpec;
pub use transport::TransportSpec;

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
        let text = read_text(path).map_err(crate::io_error("read scenario", path))?;
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
        let doc = parse_doc(text, path, &file).map_err(invalid)?;
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
        let (phantom, lesion) = PhantomSource::from_root(&mut cx, &mut root, text, &base);
        let agent = Agent::from_root(&mut cx, &mut root);
        let (tac, amount) = kinetics::from_root(&mut cx, &mut root);
        let (regimen, body_mass_kg) = regimen::from_root(&mut cx, &mut root);
        let daughters = DaughterSpec::all_from_root(&mut cx, &mut root);
        let lymphocytes = LymphocyteSpec::from_root(&mut cx, &mut root);
        let radiobiology = RadiobiologySpec::from_root(&mut cx, &mut root);
        let transport = TransportSpec::from_root(&mut cx, &mut root, seed);
        let output = OutputSpec::from_root(&mut cx, &mut root);
        root.finish(&mut cx, &[]);
        cross_checks(&mut cx, doc.as_table(), agent.as_ref(), &daughters);

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
            radiobiology,
            transport,
            output,
        })
    }
}

/// The TOML document of `text` (`path` and `file` name it), or the one problem why it is
/// not a scenario: a syntax error, or a phantom generator specification.
fn parse_doc(
    text: &str,
    path: Option<&Path>,
    file: &str,
) -> Result<ImDocument<String>, Vec<Problem>> {
    let doc = match ImDocument::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
            return Err(vec![Problem {
                line,
                message: format!("TOML syntax: {}", e.message()),
            }]);
        }
    };
    if let Some(why) = phantom_spec_not_scenario(doc.as_table()) {
        return Err(vec![Problem {
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
        }]);
    }
    Ok(doc)
}

/// Checks across tables: an uptake fraction needs a regimen; the daughters fit the agent's
/// decay chain.
fn cross_checks(
    cx: &mut Ctx,
    doc: &toml_edit::Table,
    agent: Option<&Agent>,
    daughters: &[DaughterSpec],
) {
    if doc.get("regimen").is_none()
        && doc
            .get("kinetics")
            .and_then(|k| k.get("uptake_fraction"))
            .is_some()
    {
        cx.problem(
            None,
            "kinetics.uptake_fraction is a fraction of the administered activity: give [regimen] schedule = \"7.4 GBq ...\"",
        );
    }
    if let Some(a) = agent {
        daughters::check_chain(cx, a, daughters);
    }
}
