//! The batching log writer: lines are appended to a queue in memory and a
//! writer thread writes whatever has gathered every [`FLUSH_INTERVAL`]
//! (sooner when the queue is half full), so logging a line costs a lock
//! and a copy, and no request wakes a thread.
//!
//! Why not `tracing-appender`'s non-blocking writer, used before: it wakes
//! its thread for every line that finds it idle, a `futex` call on the
//! request path and a context switch on the writer's side for each request
//! at low concurrency — 13 % of the gateway's CPU per request with one
//! client (`perf record`, one leveled source, `wrk -c1`; `RUST_LOG=warn`
//! saved 30–65 µs of 300–430 µs a request). It has no way to batch.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long lines wait at most before the writer thread writes them.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// How long dropping the guard waits for the last lines to be written
/// (a sink that does not read must not hold up the process's exit).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Capacity kept between batches; a burst's larger buffer is given back.
const KEPT_CAPACITY: usize = 256 * 1024;

/// What the request threads and the writer thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer: the first line after it found the queue empty,
    /// the queue half full, or the guard dropped.
    wake: Condvar,
    /// Lines the queue holds at most.
    limit: usize,
    dropped: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    lines: usize,
    /// The writer waits for a first line (and must be woken for it).
    idle: bool,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while appending leaves whole lines (or one cut line) in
        // the queue: still worth writing.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The [`MakeWriter`] the log subscriber writes each line through: one
/// `write` call per line (the `fmt` layer writes an event with one
/// `write_all`), queued whole or dropped whole.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// One line's writer (see [`BatchWriter`]).
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let shared = self.shared;
        let mut queue = shared.lock();
        if queue.lines >= shared.limit || queue.closed {
            drop(queue);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(buf.len());
        }
        queue.bytes.extend_from_slice(buf);
        queue.lines += 1;
        let wake = queue.idle || queue.lines == shared.limit.div_ceil(2);
        queue.idle = false;
        drop(queue);
        if wake {
            shared.wake.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the writer thread; dropping it writes every queued line (waiting
/// at most [`CLOSE_TIMEOUT`]).
pub struct Worker {
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if self.done.recv_timeout(CLOSE_TIMEOUT).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// A writer queueing at most `lines` lines for a thread that writes them
/// to `sink`, its worker, and its dropped-line counter.
pub fn batch_writer<W: Write + Send + 'static>(
    sink: W,
    lines: usize,
) -> (BatchWriter, Worker, Arc<AtomicUsize>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        wake: Condvar::new(),
        limit: lines.max(1),
        dropped: dropped.clone(),
    });
    let (done_tx, done) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("loggate-log".into())
        .spawn({
            let shared = shared.clone();
            move || {
                write_batches(&shared, sink);
                let _ = done_tx.send(());
            }
        })
        .ok();
    let worker = Worker {
        shared: shared.clone(),
        done,
        thread,
    };
    (BatchWriter { shared }, worker, dropped)
}

/// The writer thread: wait for a first line, let lines gather for
/// [`FLUSH_INTERVAL`] (or until the queue is half full or closed), write
/// them in one call; until closed and empty, then write how many lines
/// were dropped, if any.
fn write_batches<W: Write>(shared: &Shared, mut sink: W) {
    let mut batch = Vec::new();
    loop {
        let mut queue = shared.lock();
        while queue.lines == 0 && !queue.closed {
            queue.idle = true;
            queue = shared.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        queue.idle = false;
        if !queue.closed && queue.lines < shared.limit.div_ceil(2) {
            queue = shared
                .wake
                .wait_timeout(queue, FLUSH_INTERVAL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        std::mem::swap(&mut batch, &mut queue.bytes);
        queue.lines = 0;
        let closed = queue.closed;
        drop(queue);
        if !batch.is_empty() {
            // A sink that fails loses this batch; the next is tried anew.
            let _ = sink.write_all(&batch).and_then(|()| sink.flush());
            batch.clear();
            if batch.capacity() > KEPT_CAPACITY {
                batch = Vec::new();
            }
        }
        // Once closed, writers drop their lines: this batch was the last.
        if closed {
            // Written here, not by the guard: this thread holds stderr's
            // lock while a write blocks, so a `eprintln!` after the close
            // timeout would wait for it, i.e. for a reader that may never
            // come (and panic when the pipe closes).
            let dropped = shared.dropped.load(Ordering::Relaxed);
            if dropped > 0 {
                let _ = writeln!(
                    sink,
                    "loggate: {dropped} log lines dropped: stderr was not read fast enough"
                )
                .and_then(|()| sink.flush());
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that sends each `write` on `writes`, and blocks in its first
    /// until `gate` opens.
    struct Sink {
        writes: mpsc::Sender<Vec<u8>>,
        gate: Option<mpsc::Receiver<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes.send(buf.to_vec()).unwrap();
            if let Some(gate) = self.gate.take() {
                gate.recv().unwrap();
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_gathered_while_the_thread_writes_go_out_in_one_write_in_order() {
        let (writes_tx, writes) = mpsc::channel();
        let (open, gate) = mpsc::channel();
        let sink = Sink {
            writes: writes_tx,
            gate: Some(gate),
        };
        let (writer, worker, dropped) = batch_writer(sink, 1_000);
        writer.make_writer().write_all(b"first\n").unwrap();
        // The thread is now in the sink's first write, blocked.
        assert_eq!(writes.recv().unwrap(), b"first\n");
        let lines: String = (0..100).map(|n| format!("line {n}\n")).collect();
        for line in lines.split_inclusive('\n') {
            writer.make_writer().write_all(line.as_bytes()).unwrap();
        }
        open.send(()).unwrap();
        drop(worker);
        let rest: Vec<Vec<u8>> = writes.try_iter().collect();
        assert_eq!(rest, vec![lines.into_bytes()]);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        // After the guard, lines are dropped and counted, not queued.
        writer.make_writer().write_all(b"late\n").unwrap();
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
    }
}
