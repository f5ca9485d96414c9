//! Pieces shared by several subcommands: material look-up and scenario progress output.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use xfire_data::materials::{builtin, builtin_names, parse_user_materials_toml, Material};

/// The material `name`: from the user materials file if it defines it, else built in.
pub fn find_material(name: &str, materials_file: Option<&Path>) -> anyhow::Result<Material> {
    if let Some(path) = materials_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read materials file {}", path.display()))?;
        let user = parse_user_materials_toml(&text)
            .with_context(|| format!("in materials file {}", path.display()))?;
        if let Some(m) = user.into_iter().find(|m| m.name == name) {
            return Ok(m);
        }
    }
    builtin(name).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown material {:?}; built-in materials: {}{}",
            name,
            builtin_names().join(", "),
            if materials_file.is_some() {
                " (nor is it defined in the materials file)"
            } else {
                " (user materials: --materials-file)"
            }
        )
    })
}

struct Bar {
    bar: Option<indicatif::ProgressBar>,
    current: String,
    last_line: Instant,
    started: Instant,
    prefix: String,
    done0: u64,
}

/// Transport progress of a scenario run on stderr: an indicatif bar per part on a terminal,
/// otherwise a plain line when a part starts, every 5 s and at its end (with decays/s).
/// `prefix` (e.g. the nuclide being compared) is read at each call; empty for none.
pub fn scenario_progress(
    quiet: bool,
    prefix: Arc<Mutex<String>>,
) -> Option<xfire_scenario::transport::ProgressFn> {
    if quiet {
        return None;
    }
    let tty = std::io::stderr().is_terminal();
    let st = Mutex::new(Bar {
        bar: None,
        current: String::new(),
        last_line: Instant::now(),
        started: Instant::now(),
        prefix: String::new(),
        done0: 0,
    });
    Some(Arc::new(move |what: &str, done: u64, total: u64| {
        let Ok(mut p) = st.lock() else { return };
        let pre = prefix.lock().map(|s| s.clone()).unwrap_or_default();
        if p.current != what {
            if let Some(b) = p.bar.take() {
                b.finish_and_clear();
            }
            p.current = what.to_string();
            p.prefix = pre.clone();
            p.started = Instant::now();
            p.last_line = Instant::now();
            p.done0 = done;
            if tty {
                let b = indicatif::ProgressBar::new(total);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{prefix} {msg} [{bar:25}] {human_pos}/{human_len} decays ({per_sec}, ETA {eta})",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b.set_prefix(pre);
                b.set_message(what.to_string());
                p.bar = Some(b);
            } else {
                eprintln!("{}transport {what}: {done}/{total} decays", spaced(&pre));
            }
        }
        if let Some(b) = &p.bar {
            b.set_length(total);
            b.set_position(done);
        } else if p.last_line.elapsed() > Duration::from_secs(5) || (done >= total && total > 0) {
            // rate since the first report of this part (the first round is not timed)
            let s = p.started.elapsed().as_secs_f64();
            let rate = if s > 0.5 && done > p.done0 {
                format!(" ({:.0} decays/s)", (done - p.done0) as f64 / s)
            } else {
                String::new()
            };
            eprintln!(
                "{}transport {what}: {done}/{total} decays{rate}",
                spaced(&p.prefix)
            );
            p.last_line = Instant::now();
        }
    }))
}

fn spaced(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix} ")
    }
}
