//! The report's page: charts ([`crate::report_svg`]) and tables in one HTML file with its
//! style inline and one small inline script, which only checks after load that every chart
//! was laid out with its points and says so on `<body>` (`data-charts-rendered`; a script
//! error lands in `data-script-error`). Nothing is fetched.

use std::fmt::Write as _;

use crate::latency::Percentiles;
use crate::live::{human, utc};
use crate::report::Job;
use crate::report_svg::{chart, clock, esc, Axis, Marks, Series};

/// Models drawn (the busiest first); the tables list every model.
const CHARTED_MODELS: usize = 4;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}\
td:first-child,th:first-child{text-align:left}.note{color:#555}svg.chart{display:block;margin:10px 0;\
border:1px solid #ddd}.title{font-size:14px;font-weight:600}.tick,.legend{font-size:11px;fill:#444}\
.grid{stroke:#eee}.run{stroke:#888;stroke-dasharray:3 3}";

const SCRIPT: &str = "window.onerror=function(m){document.body.setAttribute('data-script-error',String(m));};\
(function(){var c=document.querySelectorAll('svg.chart'),ok=0,pts=0;\
for(var i=0;i<c.length;i++){var r=c[i].getBoundingClientRect(),l=c[i].querySelectorAll('polyline'),n=0;\
for(var j=0;j<l.length;j++){n+=l[j].points.numberOfItems;}if(r.width>0&&r.height>0&&n>0){ok++;}pts+=n;}\
document.body.setAttribute('data-charts',c.length);document.body.setAttribute('data-charts-rendered',ok);\
document.body.setAttribute('data-points-rendered',pts);})();";

fn title(dim: &str) -> &'static str {
    match dim {
        "tokens" => "Tokens (charged at admission: prompt estimate + max_tokens)",
        "input_tokens" => "Input tokens",
        _ => "Output tokens",
    }
}

fn pcts(p: Option<Percentiles>) -> String {
    p.map_or("-".into(), |p| format!("{} / {} / {} ms", p.p50, p.p90, p.p99))
}

/// The whole page for the job of the output called `name`.
pub fn page(name: &str, job: &Job) -> String {
    let mut h = String::new();
    let title = format!("chat-limiter run report: {}", esc(name));
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
    );
    let _ = write!(
        h,
        "<p>{} run(s), {} of run time recorded from {} to {}. Rates are per trailing minute, \
         in the provider's accounting: requests are HTTP attempts admitted (retries included); \
         tokens as charged to the limit (OpenAI and OpenRouter: prompt estimate + max_tokens at \
         admission; Anthropic: input and output as settled), beside the tokens the answers \
         reported. A bucket starts full, so the first minute may exceed the limit's per-minute \
         figure: that is the provider's burst, not a breach.</p>",
        job.runs,
        clock(job.x_max),
        utc(job.first_t),
        utc(job.last_t)
    );
    charts(&mut h, job);
    tables(&mut h, job);
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

fn charts(h: &mut String, job: &Job) {
    let axis = Axis { x_max: job.x_max, runs: job.run_starts.clone() };
    let marks = vec![
        Marks {
            name: "429s".into(),
            color: "#d62728",
            at: job.bins.iter().filter(|b| b.r429 > 0).map(|b| (b.x, b.r429)).collect(),
        },
        Marks {
            name: "retries".into(),
            color: "#ff7f0e",
            at: job.bins.iter().filter(|b| b.retries > 0).map(|b| (b.x, b.retries)).collect(),
        },
    ];
    let mut models: Vec<(&String, u64)> = job.models.iter().map(|(n, t)| (n, t.started)).collect();
    models.sort_by_key(|m| std::cmp::Reverse(m.1));
    for (model, _) in models.into_iter().take(CHARTED_MODELS) {
        let of = |f: &dyn Fn(&crate::report::ModelBin) -> Option<f64>| -> Vec<(f64, f64)> {
            job.bins
                .iter()
                .filter_map(|b| b.models.get(model).and_then(f).map(|y| (b.x, y)))
                .collect()
        };
        let mut req = vec![Series {
            name: "admitted / min".into(),
            color: "#1f77b4",
            dashed: false,
            points: of(&|m| Some(m.started_per_min)),
        }];
        let limit = of(&|m| m.limit_per_min.get("requests").copied());
        if !limit.is_empty() {
            req.push(Series {
                name: "limit / min".into(),
                color: "#d62728",
                dashed: true,
                points: limit,
            });
        }
        h.push_str(&chart(&format!("Requests per minute: {model}"), &axis, &req, &marks));
        for dim in ["tokens", "input_tokens", "output_tokens"] {
            let charged = of(&|m| m.charged_per_min.get(dim).copied());
            if charged.is_empty() {
                continue;
            }
            let series = vec![
                Series {
                    name: "charged / min".into(),
                    color: "#9467bd",
                    dashed: false,
                    points: charged,
                },
                Series {
                    name: "reported / min".into(),
                    color: "#2ca02c",
                    dashed: false,
                    points: of(&|m| m.reported_per_min.get(dim).copied()),
                },
                Series {
                    name: "limit / min".into(),
                    color: "#d62728",
                    dashed: true,
                    points: of(&|m| m.limit_per_min.get(dim).copied()),
                },
            ];
            let t = format!("{} per minute: {model}", title(dim));
            h.push_str(&chart(&t, &axis, &series, &marks));
        }
    }
    let in_flight = Series {
        name: "in flight".into(),
        color: "#1f77b4",
        dashed: false,
        points: job.bins.iter().map(|b| (b.x, b.in_flight)).collect(),
    };
    let queued = Series {
        name: "waiting for the limits".into(),
        color: "#8c564b",
        dashed: false,
        points: job.bins.iter().map(|b| (b.x, b.queued)).collect(),
    };
    h.push_str(&chart("Requests in flight, and waiting", &axis, &[in_flight, queued], &marks));
    let lat = |name: &str, color, f: fn(Percentiles) -> u64| Series {
        name: name.into(),
        color,
        dashed: false,
        points: job
            .bins
            .iter()
            .filter_map(|b| b.lat.percentiles().map(|p| (b.x, f(p) as f64)))
            .collect(),
    };
    let series = [
        lat("p50", "#2ca02c", |p| p.p50),
        lat("p90", "#ff7f0e", |p| p.p90),
        lat("p99", "#d62728", |p| p.p99),
    ];
    h.push_str(&chart(
        "Time to result, ms (a line's wait for the limits + its attempts)",
        &axis,
        &series,
        &marks,
    ));
}

fn tables(h: &mut String, job: &Job) {
    h.push_str("<h2>By model</h2><table><tr><th>model</th><th>requests admitted</th><th>lines done</th><th>ok</th><th>failed</th><th>retries</th><th>429s</th><th>tokens reported in / out</th><th>charged to the limits</th><th>time to result p50 / p90 / p99</th></tr>");
    for (name, t) in &job.models {
        let charged: Vec<String> =
            t.charged.iter().map(|(d, c)| format!("{d} {}", human(*c as f64))).collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>",
            esc(name), t.started, t.done, t.ok, t.failed, t.retries, t.r429, t.prompt, t.completion,
            esc(&charged.join(", ")), pcts(t.lat.percentiles())
        );
    }
    h.push_str("</table><h2>By error kind</h2>");
    if job.errors.is_empty() {
        h.push_str("<p>No line failed.</p>");
    } else {
        h.push_str("<table><tr><th>class</th><th>code</th><th>lines</th></tr>");
        for (kind, n) in &job.errors {
            let (class, code) = kind.split_once(':').unwrap_or(("", kind));
            let _ = write!(h, "<tr><td>{}</td><td>{}</td><td>{n}</td></tr>", esc(class), esc(code));
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>What held the run back</h2><table><tr><th>binding limit</th><th>seconds</th><th>share</th></tr>");
    let bound: u64 = job.binds.values().sum();
    let mut rows: Vec<(String, u64)> = job.binds.iter().map(|(k, v)| (k.clone(), *v)).collect();
    rows.push(("no limit binding".into(), job.seconds.saturating_sub(bound)));
    for (k, v) in rows {
        let share = 100.0 * v as f64 / job.seconds.max(1) as f64;
        let _ = write!(h, "<tr><td>{}</td><td>{v}</td><td>{share:.0}%</td></tr>", esc(&k));
    }
    h.push_str("</table><p class=\"note\">Seconds with several models count once per model.</p>");
    if !job.waits.is_empty() {
        h.push_str("<h2>Long waits</h2><table><tr><th>seen</th><th>until</th><th>on</th></tr>");
        for (t, until, on) in &job.waits {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                utc(*t),
                utc(*until),
                esc(on)
            );
        }
        h.push_str("</table>");
    }
}
