//! `emit`'s reader thread: lines from a stream, in batches, on `emit`'s own channel.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

use crate::delivery::engine::Waker;
use crate::domain::payload::MAX_PAYLOAD_BYTES;

/// Lines read from stdin before the reader waits for the coordinator to catch up.
const READ_BATCH: usize = 1000;

/// What the reader sends `emit`'s loop.
pub enum Lines {
    /// Numbered lines, each its text or why it could not be read.
    Batch(Vec<(usize, Result<String, String>)>),
    /// The input ended.
    End,
}

/// Reads lines incrementally, in batches of what is already buffered, waiting for the
/// coordinator's go-ahead between batches so a fast producer cannot outrun delivery.
pub fn read_lines(
    input: Box<dyn Read + Send>,
    tx: &mpsc::Sender<Lines>,
    go: &mpsc::Receiver<()>,
    wake: &Waker,
) {
    let max_line = (2 * MAX_PAYLOAD_BYTES) as u64;
    let mut r = BufReader::with_capacity(64 * 1024, input);
    let mut line_no = 0usize;
    loop {
        let mut batch = Vec::new();
        let mut eof = false;
        loop {
            let mut bytes = Vec::new();
            match (&mut r).take(max_line).read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    line_no += 1;
                    batch.push((line_no, Err(format!("cannot read standard input: {e}"))));
                    eof = true;
                    break;
                }
            }
            line_no += 1;
            if bytes.last() != Some(&b'\n') && bytes.len() as u64 == max_line {
                // Too long: skip to the end of this line.
                let mut rest = Vec::new();
                while let Ok(n) = (&mut r).take(64 * 1024).read_until(b'\n', &mut rest) {
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                    rest.clear();
                }
                batch.push((
                    line_no,
                    Err(format!("line is longer than {max_line} bytes")),
                ));
            } else {
                while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                    bytes.pop();
                }
                batch.push((
                    line_no,
                    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string()),
                ));
            }
            if batch.len() >= READ_BATCH || !r.buffer().contains(&b'\n') {
                break;
            }
        }
        if !batch.is_empty() {
            if tx.send(Lines::Batch(batch)).is_err() {
                return;
            }
            wake.wake();
            if go.recv().is_err() {
                return;
            }
        }
        if eof {
            let _ = tx.send(Lines::End);
            wake.wake();
            return;
        }
    }
}
