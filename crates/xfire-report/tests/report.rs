//! report.md and report.html: tables, run block, embedded figures, errors.

use base64::Engine as _;
use xfire_report::*;

fn sample_report() -> Report {
    Report {
        title: "xfire run <demo>".into(),
        run: RunInfo {
            xfire_version: "0.1.0".into(),
            seed: Some(42),
            decays: Some(1_000_000),
            wall_time_s: Some(75.0),
            command_line: Some("xfire run a.toml --seed 42".into()),
            extra: vec![("threads".into(), "2".into())],
        },
        sections: vec![Section {
            heading: "Dose".into(),
            blocks: vec![
                Block::Text("First paragraph.\n\nSecond & last.".into()),
                Block::List(vec!["one".into(), "two".into()]),
                Block::Code("xfire run a.toml".into()),
                Block::Table(Table {
                    caption: Some("Mean dose".into()),
                    header: vec![
                        "target".into(),
                        "cells".into(),
                        "dose (Gy)".into(),
                        "per decay (Gy)".into(),
                    ],
                    rows: vec![
                        vec![
                            "tumour".into(),
                            Cell::Int(2000),
                            Cell::NumSigma(10.41234, 0.0523),
                            Cell::Num(1.23456e-12),
                        ],
                        vec![
                            "a|b".into(),
                            Cell::Int(3),
                            Cell::Num(2.0),
                            Cell::Num(f64::NAN),
                        ],
                    ],
                }),
                Block::Figure(FigureRef {
                    stem: "fig".into(),
                    caption: "Cumulative dose.".into(),
                }),
            ],
        }],
    }
}

fn draw_fig(dir: &std::path::Path) -> Vec<u8> {
    let s = [TimeSeries::new(
        "a",
        vec![0.0, 1.0, 2.0],
        vec![0.0, 1.0, 1.5],
    )];
    let w = cumulative_dose_vs_time(&FigureTarget::new(dir, "fig"), "Cumulative", &s).unwrap();
    std::fs::read(w.png).unwrap()
}

#[test]
fn markdown_and_html_hold_run_block_tables_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let png = draw_fig(dir.path());
    let files = write_report(dir.path(), &sample_report()).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    for want in [
        "# xfire run <demo>",
        "| xfire version | 0.1.0 |",
        "| seed | 42 |",
        "| decays simulated | 1000000 |",
        "| wall time | 1 min 15 s |",
        "| command line | xfire run a.toml --seed 42 |",
        "| threads | 2 |",
        "## Dose",
        "Second & last.",
        "- two",
        "```\nxfire run a.toml\n```",
        "| target | cells | dose (Gy) | per decay (Gy) |",
        "| tumour | 2000 | 10.412 ± 0.052 | 1.235e-12 |",
        "| a\\|b | 3 | 2.000 | NaN |",
        "![Figure 1. Cumulative dose.](fig.png)",
        "(fig.svg)",
    ] {
        assert!(md.contains(want), "report.md lacks {want:?}:\n{md}");
    }
    let html = std::fs::read_to_string(&files.html).unwrap();
    for want in [
        "<h1>xfire run &lt;demo&gt;</h1>",
        "<tr><th>seed</th><td>42</td></tr>",
        "<p>First paragraph.</p>",
        "<p>Second &amp; last.</p>",
        "<li>two</li>",
        "<th>dose (Gy)</th>",
        "<td class=\"n\">10.412 ± 0.052</td>",
        "<td>a|b</td>",
        "<figcaption><b>Figure 1.</b> Cumulative dose.</figcaption>",
    ] {
        assert!(html.contains(want), "report.html lacks {want:?}");
    }
    // The embedded image is exactly the PNG file.
    let start = html
        .find("data:image/png;base64,")
        .expect("no embedded PNG")
        + "data:image/png;base64,".len();
    let end = start + html[start..].find('"').unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&html[start..end])
        .unwrap();
    assert_eq!(decoded, png);
    // Atomic writes leave no temporary files.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp"), "temporary file left: {name}");
    }
}

#[test]
fn report_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // The figure's PNG is missing.
    let e = write_report(dir.path(), &sample_report()).unwrap_err();
    assert!(
        matches!(e, ReportError::Io { .. }) && e.to_string().contains("fig.png"),
        "{e}"
    );
    assert!(
        !dir.path().join("report.md").exists(),
        "nothing written on error"
    );

    draw_fig(dir.path());
    let mut r = sample_report();
    if let Block::Table(t) = &mut r.sections[0].blocks[3] {
        t.rows[1].pop();
    }
    let e = write_report(dir.path(), &r).unwrap_err();
    assert!(
        e.to_string()
            .contains("3 cells but the header has 4 columns"),
        "{e}"
    );

    let mut r = sample_report();
    r.sections[0].blocks[4] = Block::Figure(FigureRef {
        stem: "../x".into(),
        caption: String::new(),
    });
    assert!(matches!(
        write_report(dir.path(), &r),
        Err(ReportError::Invalid { .. })
    ));

    let mut r = sample_report();
    r.title = " ".into();
    assert!(matches!(
        write_report(dir.path(), &r),
        Err(ReportError::Invalid { .. })
    ));
}

/// A section heading inside a table spans the row in HTML and is bold in Markdown;
/// preformatted values are right-aligned.
#[test]
fn table_sections_and_preformatted_values() {
    let dir = tempfile::tempdir().unwrap();
    let report = Report {
        title: "t".into(),
        run: RunInfo::default(),
        sections: vec![Section {
            heading: "Comparison".into(),
            blocks: vec![Block::Table(Table {
                caption: None,
                header: vec!["quantity".into(), "Lu-177".into(), "Ac-225".into()],
                rows: vec![
                    vec![
                        Cell::Section("Tumour cells, whole treatment".into()),
                        "".into(),
                        "".into(),
                    ],
                    vec![
                        "absorbed dose (Gy)".into(),
                        Cell::Value("83.4".into()),
                        Cell::Value("<1e-6".into()),
                    ],
                ],
            })],
        }],
    };
    let files = write_report(dir.path(), &report).unwrap();
    let html = std::fs::read_to_string(files.html).unwrap();
    assert!(html.contains(
        "<tr class=\"section\"><th colspan=\"3\">Tumour cells, whole treatment</th></tr>"
    ));
    assert!(html.contains("<td class=\"n\">83.4</td><td class=\"n\">&lt;1e-6</td>"));
    let md = std::fs::read_to_string(files.markdown).unwrap();
    assert!(
        md.contains("| **Tumour cells, whole treatment** |  |  |"),
        "{md}"
    );
}
