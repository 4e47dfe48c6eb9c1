//! The report's charts: line charts over run time as inline SVG, drawn here (no script, no
//! font, nothing fetched). Every chart is an `<svg class="chart">` whose `data-points` says
//! how many data points its lines hold.

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// A dashed line (the limits).
    pub dashed: bool,
    /// `(run seconds, value)`, in order.
    pub points: Vec<(f64, f64)>,
}

/// Ticks along the time axis (429s, retries).
#[derive(Debug, Clone)]
pub struct Marks {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// Run seconds, with the count at each.
    pub at: Vec<(f64, u64)>,
}

/// What every chart of a report shares: the time axis and where each resumed run began.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Run seconds at the right edge.
    pub x_max: f64,
    /// Run seconds where run 2, 3, ... began.
    pub runs: Vec<f64>,
}

const W: f64 = 1200.0;
const H: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 30.0;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A step of 1, 2 or 5 × 10^k giving about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// Run seconds as `m:ss` or `h:mm:ss`.
pub fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3_600 {
        format!("{}:{:02}:{:02}", s / 3_600, s % 3_600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn value(v: f64) -> String {
    crate::live::human(v)
}

/// One line chart.
pub fn chart(title: &str, axis: &Axis, series: &[Series], marks: &[Marks]) -> String {
    let x_max = axis.x_max.max(1.0);
    let y_top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let y_step = nice_step(y_top.max(1.0) * 1.1, 4.0);
    let y_max = (y_top.max(1.0) * 1.1 / y_step).ceil() * y_step;
    let px = |x: f64| LEFT + (W - LEFT - RIGHT) * (x / x_max).clamp(0.0, 1.0);
    let py = |y: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (y / y_max).clamp(0.0, 1.0));
    let points: usize = series.iter().map(|s| s.points.len()).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" data-points="{points}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg">"#,
        t = esc(title)
    );
    let _ = write!(s, r#"<text x="{LEFT}" y="20" class="title">{}</text>"#, esc(title));
    let mut y = 0.0;
    while y <= y_max + 1e-9 {
        let yy = py(y);
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            value(y)
        );
        y += y_step;
    }
    let x_step = nice_step(x_max, 8.0).max(1.0);
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            px(x),
            H - 10.0,
            clock(x)
        );
        x += x_step;
    }
    for (i, r) in axis.runs.iter().enumerate() {
        let xx = px(*r);
        let _ = write!(
            s,
            r#"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{}" class="run"/><text x="{:.1}" y="{}" class="tick">run {}</text>"#,
            H - BOTTOM,
            xx + 3.0,
            TOP + 10.0,
            i + 2
        );
    }
    for (i, m) in marks.iter().enumerate() {
        // The first kind of mark (429s) stands taller, so a retry at the same time hides none.
        let tall = if i == 0 { 22.0 } else { 10.0 };
        for (at, n) in &m.at {
            let xx = px(*at);
            let _ = write!(
                s,
                r#"<line x1="{xx:.1}" x2="{xx:.1}" y1="{}" y2="{}" stroke="{}" stroke-width="2"><title>{n} {}</title></line>"#,
                H - BOTTOM - tall,
                H - BOTTOM,
                m.color,
                esc(&m.name)
            );
        }
    }
    for sr in series.iter().filter(|sr| !sr.points.is_empty()) {
        let pts: Vec<String> =
            sr.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        let dash = if sr.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.8"{dash} points="{}"><title>{}</title></polyline>"#,
            sr.color,
            pts.join(" "),
            esc(&sr.name)
        );
    }
    let mut lx = LEFT;
    let legend = series
        .iter()
        .map(|sr| (sr.name.as_str(), sr.color, sr.dashed))
        .chain(marks.iter().map(|m| (m.name.as_str(), m.color, false)));
    for (name, color, dashed) in legend {
        let dash = if dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            s,
            r#"<line x1="{lx}" x2="{}" y1="34" y2="34" stroke="{color}" stroke-width="2.5"{dash}/><text x="{}" y="38" class="legend">{}</text>"#,
            lx + 18.0,
            lx + 22.0,
            esc(name)
        );
        lx += 30.0 + 6.5 * name.len() as f64;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_holds_its_points_marks_and_escaped_names() {
        let axis = Axis { x_max: 120.0, runs: vec![60.0] };
        let series = [Series {
            name: "a<b>".into(),
            color: "#123",
            dashed: false,
            points: vec![(0.0, 0.0), (60.0, 500.0), (120.0, 250.0)],
        }];
        let marks = [Marks { name: "429s".into(), color: "red", at: vec![(30.0, 2)] }];
        let svg = chart("Requests & limits", &axis, &series, &marks);
        assert!(svg.starts_with(r#"<svg class="chart" data-points="3""#), "{svg}");
        assert!(svg.contains("Requests &amp; limits") && svg.contains("a&lt;b&gt;"));
        assert!(svg.contains("<title>2 429s</title>") && svg.contains(">run 2</text>"));
        // The highest point sits below the top of the plot (the axis has headroom).
        assert!(svg.contains("points=\"70.0,230.0 625.0,"), "{svg}");
        assert_eq!(nice_step(1100.0, 4.0), 500.0);
        assert_eq!(clock(3_725.0), "1:02:05");
    }
}
