//! Pieces shared by several subcommands: scenario progress output.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Bar {
    bar: Option<indicatif::ProgressBar>,
    current: String,
    last_line: Instant,
    started: Instant,
    prefix: String,
    done0: u64,
    /// The last plain line printed (a line is never printed twice when piped).
    printed: String,
}

impl Bar {
    /// A bar with nothing shown yet.
    fn new() -> Self {
        Self {
            bar: None,
            current: String::new(),
            last_line: Instant::now(),
            started: Instant::now(),
            prefix: String::new(),
            done0: 0,
            printed: String::new(),
        }
    }
}

/// A rate readable at a glance: three significant digits and an SI multiplier
/// ("59.7 M decays/s", "812 decays/s", "3.20 k decays/s").
pub fn format_rate(per_s: f64, what: &str) -> String {
    if !per_s.is_finite() || per_s <= 0.0 {
        return format!("- {what}/s");
    }
    let (v, m) = [(1e12, " T "), (1e9, " G "), (1e6, " M "), (1e3, " k ")]
        .iter()
        .find(|(f, _)| per_s >= *f)
        .map_or((per_s, " "), |(f, m)| (per_s / f, *m));
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{m}{what}/s")
}

fn bar_style(template: &str) -> Option<indicatif::ProgressStyle> {
    let s = indicatif::ProgressStyle::with_template(template).ok()?;
    Some(
        s.with_key(
            "rate",
            |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&format_rate(st.per_sec(), "decays"));
            },
        )
        .progress_chars("=> "),
    )
}

/// A progress bar on stderr for `total` decays (`{rate}`: [`format_rate`]).
pub fn decay_bar(total: u64, template: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(total);
    if let Some(style) = bar_style(template) {
        b.set_style(style);
    }
    b
}

/// Transport progress of a scenario run on stderr: an indicatif bar per part on a terminal,
/// otherwise a plain line when a part starts, every 5 s and at its end (with decays/s).
/// `prefix` (e.g. the nuclide being compared) is read at each call; empty for none.
/// [`Progress::message`] prints a line without breaking the bar.
#[derive(Clone)]
pub struct Progress {
    st: Option<Arc<Mutex<Bar>>>,
    prefix: Arc<Mutex<String>>,
    tty: bool,
}

impl Progress {
    /// Progress on stderr (none when `quiet`).
    pub fn new(quiet: bool, prefix: Arc<Mutex<String>>) -> Self {
        let st = (!quiet).then(|| Arc::new(Mutex::new(Bar::new())));
        Self {
            st,
            prefix,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// Prints `line` on stderr on its own line (above the bar when one is drawn); printed
    /// also when quiet.
    pub fn message(&self, line: &str) {
        let bar = self
            .st
            .as_ref()
            .and_then(|s| s.lock().ok().and_then(|p| p.bar.clone()));
        match bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// The callback for `xfire_scenario::Options::progress`.
    pub fn callback(&self) -> Option<xfire_scenario::transport::ProgressFn> {
        let st = self.st.clone()?;
        let prefix = self.prefix.clone();
        let tty = self.tty;
        Some(Arc::new(move |what: &str, done: u64, total: u64| {
            let Ok(mut p) = st.lock() else { return };
            let pre = prefix.lock().map(|s| s.clone()).unwrap_or_default();
            update(&mut p, tty, &pre, what, done, total);
        }))
    }
}

fn update(p: &mut Bar, tty: bool, pre: &str, what: &str, done: u64, total: u64) {
    let new_part = p.current != what;
    if new_part {
        if let Some(b) = p.bar.take() {
            b.finish_and_clear();
        }
        p.current = what.to_string();
        p.prefix = pre.to_string();
        p.started = Instant::now();
        p.last_line = Instant::now();
        p.done0 = done;
        if tty {
            let b = decay_bar(
                total,
                "{prefix} {msg} [{bar:25}] {human_pos}/{human_len} decays ({rate}, ETA {eta})",
            );
            b.set_prefix(pre.to_string());
            b.set_message(what.to_string());
            p.bar = Some(b);
        }
    }
    if let Some(b) = &p.bar {
        b.set_length(total);
        b.set_position(done);
        return;
    }
    let end = done >= total && total > 0;
    if !(new_part || end || p.last_line.elapsed() > Duration::from_secs(5)) {
        return;
    }
    // rate since the first report of this part (the first round is not timed)
    let s = p.started.elapsed().as_secs_f64();
    let rate = if s > 0.5 && done > p.done0 {
        format!(" ({})", format_rate((done - p.done0) as f64 / s, "decays"))
    } else {
        String::new()
    };
    let key = format!(
        "{}transport {what}: {done}/{total} decays",
        spaced(&p.prefix)
    );
    if key != p.printed {
        eprintln!("{key}{rate}");
        p.printed = key;
    }
    p.last_line = Instant::now();
}

fn spaced(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix} ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_readable() {
        assert_eq!(format_rate(59_657_168.235_3, "decays"), "59.7 M decays/s");
        assert_eq!(format_rate(812.4, "decays"), "812 decays/s");
        assert_eq!(format_rate(3204.0, "decays"), "3.20 k decays/s");
        assert_eq!(format_rate(1.5e9, "decays"), "1.50 G decays/s");
        assert_eq!(format_rate(0.0, "decays"), "- decays/s");
        assert_eq!(format_rate(f64::NAN, "decays"), "- decays/s");
    }

    #[test]
    fn a_plain_line_is_printed_once() {
        let mut p = Bar::new();
        update(&mut p, false, "", "Lu-177", 0, 10);
        assert_eq!(p.printed, "transport Lu-177: 0/10 decays");
        update(&mut p, false, "", "Lu-177", 10, 10);
        assert_eq!(p.printed, "transport Lu-177: 10/10 decays");
        // the same end reported again (e.g. by the last round and the part's end) is not
        // printed again: `printed` is unchanged and no second line goes out
        let before = p.last_line;
        update(&mut p, false, "", "Lu-177", 10, 10);
        assert_eq!(p.printed, "transport Lu-177: 10/10 decays");
        assert!(p.last_line >= before);
    }
}
