//! The run's files before anything is sent: the output must be a regular file (or not exist
//! yet) and must not be the input; an input that can be read only once (a pipe, a FIFO,
//! `<(...)`, `/dev/stdin`) is read once, streaming, with no pre-pass.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::os::unix::fs::MetadataExt;

use crate::input::{self, BOM};
use crate::setup::prepass;
use crate::{Fatal, RunArgs};

/// The opened input.
pub struct Input {
    /// Its lines, from the first.
    pub reader: Box<dyn BufRead>,
    /// Non-blank lines, when the input is a file that could be counted first.
    pub total: Option<u64>,
    /// The first model a line names, when asked for.
    pub first_model: Option<String>,
}

/// Refuses an output that is not a regular file, or that is the input.
pub fn check_output(args: &RunArgs) -> Result<(), Fatal> {
    let out = &args.output;
    let Ok(meta) = fs::metadata(out) else { return Ok(()) }; // created later
    if !meta.is_file() {
        return Err(Fatal::usage(format!(
            "the output {} is not a regular file (a device, a pipe or a directory): results \
             must go to a file that can be read back to resume",
            out.display()
        )));
    }
    if let Ok(inp) = fs::metadata(&args.input) {
        if inp.dev() == meta.dev() && inp.ino() == meta.ino() {
            return Err(Fatal::usage(format!(
                "the output {} is the input: pass another -o",
                out.display()
            )));
        }
    }
    Ok(())
}

/// Opens the input: a regular file is counted first (progress bar, model); anything else is
/// read once, buffering only the lines before the first model when one is needed.
pub fn open_input(args: &RunArgs, need_model: bool) -> Result<Input, Fatal> {
    let path = &args.input;
    let unreadable = |e: io::Error| Fatal::usage(format!("cannot read {}: {e}", path.display()));
    let meta = fs::metadata(path).map_err(unreadable)?;
    if meta.is_file() {
        let (total, first_model) = prepass(args, need_model)?;
        let file = File::open(path).map_err(unreadable)?;
        let reader = Box::new(BufReader::with_capacity(1 << 16, file));
        return Ok(Input { reader, total: Some(total), first_model });
    }
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(unreadable)?);
    let mut head = Vec::new();
    let mut first_model = None;
    while need_model && first_model.is_none() {
        let start = head.len();
        if reader.read_until(b'\n', &mut head).map_err(unreadable)? == 0 {
            break;
        }
        first_model = first_line_model(&head[start..], start == 0);
    }
    let reader = Box::new(BufReader::new(Cursor::new(head).chain(reader)));
    Ok(Input { reader, total: None, first_model })
}

/// The model a raw line names (the first line may start with a byte order mark).
pub fn first_line_model(line: &[u8], first: bool) -> Option<String> {
    let line = if first { line.strip_prefix(BOM).unwrap_or(line) } else { line };
    std::str::from_utf8(line).ok().and_then(input::line_model)
}
