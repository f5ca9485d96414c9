//! Validation of a `report.html` without a browser (the CI has no Chromium; the script
//! `scripts/check-report` takes real screenshots): well-formed structure, every image
//! embedded with its alt text, every figure of `report.md` present as PNG and SVG, and no
//! "NaN", "inf" or over-long floats in the text a reader sees.

use std::path::Path;

/// Elements that have no end tag.
const VOID: [&str; 6] = ["img", "meta", "br", "hr", "link", "input"];

/// The text of `report.html` with the base64 image data replaced by a placeholder.
fn without_image_data(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 4);
    let mut rest = html;
    while let Some(i) = rest.find("base64,") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let end = rest.find('"').expect("unterminated image data");
        assert!(end > 100, "image data of {end} bytes");
        let data = &rest[..end];
        assert!(
            data.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='),
            "image data is not base64"
        );
        out.push_str("DATA");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Words a reader must never see in a report: unformatted floats with 7+ decimals
/// ("1.3888888888888888"), NaN, inf.
fn check_text(text: &str, where_: &str) {
    for w in text.split(|c: char| c.is_whitespace() || "(),;:=<>|/".contains(c)) {
        let w = w.trim_end_matches(['.', '%']);
        let lw = w.to_ascii_lowercase();
        assert!(
            lw != "nan" && lw != "inf" && lw != "-inf" && lw != "infinity",
            "{where_}: {w:?} in the text"
        );
        if let Some((int, frac)) = w.split_once('.') {
            let digits = frac.chars().take_while(char::is_ascii_digit).count();
            let numeric = !int.is_empty()
                && int
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit());
            assert!(
                !(numeric && digits >= 7),
                "{where_}: over-long number {w:?} in the text"
            );
        }
    }
}

/// Checks `dir/report.html` (and `dir/report.md`'s figures); returns the number of images.
pub fn validate(dir: &Path) -> usize {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let h = without_image_data(&html);
    assert!(h.starts_with("<!DOCTYPE html>"), "no doctype");
    // tags balance (a stack of open elements); text between tags is checked
    let mut stack: Vec<String> = Vec::new();
    let mut images = 0;
    let mut rest = h.as_str();
    let mut in_pre = false;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray '>' in text: {text:?}");
        if !in_pre {
            check_text(text, "report.html");
        }
        let gt = rest[lt..].find('>').expect("unterminated tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(closing) = tag.strip_prefix('/') {
            let _ = closing;
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> without an opening tag"));
            assert_eq!(open, name, "<{open}> closed by </{name}>");
            if name == "pre" {
                in_pre = false;
            }
            continue;
        }
        if name == "img" {
            images += 1;
            assert!(
                tag.contains("src=\"data:image/png;base64,DATA\""),
                "image not embedded: <{tag}>"
            );
            let alt = tag.split("alt=\"").nth(1).expect("image without alt");
            let alt = &alt[..alt.find('"').unwrap()];
            assert!(alt.len() > 10, "short alt text {alt:?}");
            check_text(alt, "alt text");
        }
        if name == "pre" {
            in_pre = true;
        }
        if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    // every figure of the Markdown report exists as PNG and SVG, and is in the HTML
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let mut figures = 0;
    for part in md.split("](").skip(1) {
        let target = &part[..part.find(')').unwrap()];
        if let Some(stem) = target.strip_suffix(".png") {
            figures += 1;
            for ext in ["png", "svg"] {
                let p = dir.join(format!("{stem}.{ext}"));
                assert!(
                    std::fs::metadata(&p).is_ok_and(|m| m.len() > 1000),
                    "figure {} missing or empty",
                    p.display()
                );
            }
        }
    }
    assert_eq!(
        figures, images,
        "report.md links {figures} figures, report.html embeds {images}"
    );
    images
}
