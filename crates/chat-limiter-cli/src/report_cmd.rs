//! `run --report FILE` and `chat-limiter report OUTPUT -o FILE`: the HTML report of an
//! output's timeline ([`crate::report`] reads it, [`crate::report_html`] draws it).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::{report, report_html, timeline, Fatal};

/// The options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output of a `run` (its timeline, OUTPUT.timeline.jsonl, is read).
    pub output: PathBuf,
    /// Where to write the HTML report.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: PathBuf,
}

/// `chat-limiter report OUTPUT -o FILE`.
pub fn report_cmd(args: &ReportArgs) -> Result<u8, Fatal> {
    write(&args.output, &args.out)?;
    eprintln!("chat-limiter: report written to {}", args.out.display());
    Ok(0)
}

/// Writes the report of `output`'s timeline to `html`.
pub fn write(output: &Path, html: &Path) -> Result<(), Fatal> {
    let path = timeline::path_for(output);
    if !path.exists() {
        return Err(Fatal::usage(format!(
            "no timeline at {}: a report needs a run made by this version (`run` without --via batch)",
            path.display()
        )));
    }
    let job = report::read(&path)
        .map_err(|e| Fatal::failed(format!("cannot read {}: {e}", path.display())))?;
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    std::fs::write(html, report_html::page(&name, &job))
        .map_err(|e| Fatal::failed(format!("cannot write {}: {e}", html.display())))
}
