//! A user-given cluster of cells (`--cluster cells.csv`): cell centres, and optionally each
//! cell's relative activity, read from CSV (format: `docs/formats/cells.md`). The first cell
//! of the file is the target; every cell (the target included) irradiates it in proportion
//! to its activity. All cells have the request's radii; no two may overlap.

use crate::table::um;
use crate::{CellError, Result};

/// Most cells a file may hold (the overlap check compares every pair).
pub const MAX_CELLS: usize = 20_000;

/// One cell of the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellEntry {
    /// Line of the file it came from (1-based).
    pub line: usize,
    /// Centre [cm].
    pub centre_cm: [f64; 3],
    /// Relative activity (≥ 0; 1 when the file has no activity column).
    pub activity: f64,
}

/// The cells of a file, the target first.
#[derive(Debug, Clone, PartialEq)]
pub struct CellList {
    /// The cells in file order.
    pub cells: Vec<CellEntry>,
}

const COLUMNS: [&str; 4] = ["x_um", "y_um", "z_um", "activity"];

fn invalid(name: &str, line: usize, what: String) -> CellError {
    CellError::Invalid(format!("{name} line {line}: {what}"))
}

/// Column positions of x, y, z and (optionally) activity from the header line.
fn header(name: &str, line: usize, text: &str) -> Result<[Option<usize>; 4]> {
    let mut pos = [None; 4];
    for (i, col) in text.split(',').map(str::trim).enumerate() {
        let k = COLUMNS.iter().position(|c| *c == col).ok_or_else(|| {
            invalid(
                name,
                line,
                format!("unknown column {col:?} (the columns are x_um, y_um, z_um and optionally activity)"),
            )
        })?;
        if pos[k].replace(i).is_some() {
            return Err(invalid(name, line, format!("column {col:?} appears twice")));
        }
    }
    if let Some(k) = (0..3).find(|&k| pos[k].is_none()) {
        return Err(invalid(
            name,
            line,
            format!(
                "the header has no {} column (x_um,y_um,z_um[,activity])",
                COLUMNS[k]
            ),
        ));
    }
    Ok(pos)
}

fn entry(name: &str, line: usize, text: &str, pos: &[Option<usize>; 4]) -> Result<CellEntry> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let want = pos.iter().flatten().count();
    if fields.len() != want {
        return Err(invalid(
            name,
            line,
            format!("{} fields, the header has {want}", fields.len()),
        ));
    }
    let value = |k: usize| -> Result<Option<f64>> {
        let Some(i) = pos[k] else { return Ok(None) };
        let v: f64 = fields[i].parse().map_err(|_| {
            invalid(
                name,
                line,
                format!("{} {:?} is not a number", COLUMNS[k], fields[i]),
            )
        })?;
        if !v.is_finite() {
            return Err(invalid(
                name,
                line,
                format!("{} {v} is not finite", COLUMNS[k]),
            ));
        }
        Ok(Some(v))
    };
    let mut c = [0.0; 3];
    for (k, x) in c.iter_mut().enumerate() {
        *x = value(k)?.unwrap_or_default() * 1e-4;
    }
    let activity = value(3)?.unwrap_or(1.0);
    if activity < 0.0 {
        return Err(invalid(
            name,
            line,
            format!("activity {activity} must not be negative"),
        ));
    }
    Ok(CellEntry {
        line,
        centre_cm: c,
        activity,
    })
}

impl CellList {
    /// Parses the CSV `text` of file `name` (for messages) for cells of radius
    /// `cell_radius_cm`: `#` lines and blank lines are skipped, the first other line is the
    /// header. Refuses bad rows (naming the line), fewer than two cells, more than
    /// [`MAX_CELLS`], and overlapping cells (centres closer than two cell radii).
    pub fn parse(name: &str, text: &str, cell_radius_cm: f64) -> Result<Self> {
        let mut rows = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let (hl, h) = rows.next().ok_or_else(|| {
            CellError::Invalid(format!(
                "{name}: no header line (x_um,y_um,z_um[,activity]) and no cells"
            ))
        })?;
        let pos = header(name, hl, h)?;
        let mut cells = Vec::new();
        for (line, text) in rows {
            if cells.len() == MAX_CELLS {
                return Err(invalid(name, line, format!("more than {MAX_CELLS} cells")));
            }
            cells.push(entry(name, line, text, &pos)?);
        }
        if cells.len() < 2 {
            return Err(CellError::Invalid(format!(
                "{name}: {} cell(s); a cluster needs the target cell (first row) and at least one neighbour",
                cells.len()
            )));
        }
        let list = CellList { cells };
        list.check_overlap(name, cell_radius_cm)?;
        Ok(list)
    }

    fn check_overlap(&self, name: &str, rc: f64) -> Result<()> {
        let min = 2.0 * rc * (1.0 - 1e-12);
        for (i, a) in self.cells.iter().enumerate() {
            for b in &self.cells[i + 1..] {
                let d = dist(a.centre_cm, b.centre_cm);
                if d < min {
                    return Err(CellError::Invalid(format!(
                        "{name}: the cells of lines {} and {} overlap: centres {} µm apart, less \
                         than two cell radii ({} µm)",
                        a.line,
                        b.line,
                        um(d),
                        um(2.0 * rc)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The target's own activity (the first cell's).
    pub fn self_weight(&self) -> f64 {
        self.cells[0].activity
    }

    /// The neighbours grouped by distance from the target (relative 1e-9): (distance [cm],
    /// cells, summed activity), nearest first.
    pub fn groups(&self) -> Vec<(f64, usize, f64)> {
        let t = self.cells[0].centre_cm;
        let mut d: Vec<(f64, f64)> = self.cells[1..]
            .iter()
            .map(|c| (dist(t, c.centre_cm), c.activity))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, usize, f64)> = Vec::new();
        for (x, a) in d {
            match out.last_mut() {
                Some(g) if (x - g.0).abs() <= 1e-9 * x => {
                    g.1 += 1;
                    g.2 += a;
                }
                _ => out.push((x, 1, a)),
            }
        }
        out
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: f64 = 5e-4;

    fn err(text: &str) -> String {
        CellList::parse("cells.csv", text, RC)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_cells_and_groups_them_by_distance() {
        let text = "# a row of cells\n\nx_um,y_um,z_um,activity\n0,0,0,2\n10,0,0,1\n0,-10,0,0.5\n\
                    0,0,20,0\n";
        let l = CellList::parse("cells.csv", text, RC).unwrap();
        assert_eq!(l.cells.len(), 4);
        assert_eq!(l.cells[1].line, 5);
        assert_eq!(l.self_weight(), 2.0);
        let g = l.groups();
        assert_eq!(g.len(), 2);
        assert!((g[0].0 - 10e-4).abs() < 1e-15 && g[0].1 == 2 && g[0].2 == 1.5);
        assert!((g[1].0 - 20e-4).abs() < 1e-15 && g[1].1 == 1 && g[1].2 == 0.0);
        // columns in any order, activity optional (1)
        let l = CellList::parse("c", "z_um, x_um ,y_um\n0,0,0\n3,4,12\n", RC).unwrap();
        assert_eq!(l.cells[1].centre_cm, [4.0 * 1e-4, 12.0 * 1e-4, 3.0 * 1e-4]);
        assert_eq!(l.cells[1].activity, 1.0);
        assert!((l.groups()[0].0 - 13e-4).abs() < 1e-15);
    }

    #[test]
    fn bad_files_name_the_line_and_the_value() {
        assert!(err("").contains("no header line"));
        assert!(err("x_um,y_um\n0,0\n").contains("line 1: the header has no z_um column"));
        assert!(err("x_um,y_um,z_um,size\n").contains("line 1: unknown column \"size\""));
        assert!(err("x_um,y_um,z_um,x_um\n").contains("column \"x_um\" appears twice"));
        assert!(err("x_um,y_um,z_um\n0,0,0\n10,0\n").contains("line 3: 2 fields, the header has 3"));
        assert!(err("x_um,y_um,z_um\n0,0,0\n10,abc,0\n")
            .contains("line 3: y_um \"abc\" is not a number"));
        assert!(err("x_um,y_um,z_um\n0,0,0\n10,inf,0\n").contains("line 3: y_um inf is not finite"));
        assert!(err("x_um,y_um,z_um,activity\n0,0,0,1\n10,0,0,-1\n")
            .contains("line 3: activity -1 must not be negative"));
        assert!(err("x_um,y_um,z_um\n0,0,0\n").contains("1 cell(s)"));
        assert!(err("x_um,y_um,z_um\n0,0,0\n20,0,0\n# far\n21,8,0\n")
            .contains("the cells of lines 3 and 5 overlap: centres 8.062257748 µm apart, less than two cell radii (10 µm)"));
        // touching cells are allowed
        assert!(CellList::parse("c", "x_um,y_um,z_um\n0,0,0\n10,0,0\n", RC).is_ok());
    }
}
