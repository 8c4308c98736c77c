//! The store's one flusher: a dedicated thread that makes sled durable for
//! everyone who asks, one synchronous `flush` per round (group commit).
//!
//! sled 0.34's `flush_async` deadlocks when two tasks call it at once (sled
//! issues #1308 and #1412, fixed only on sled's unreleased main branch): the
//! dispatcher's feeder and writer and the webhook inbox did exactly that,
//! and `campaign send` hung after a stop-class answer. Nothing in bote calls
//! sled's flush but this thread. A flush is global to the database, so one
//! round serves every waiter that asked before it began; a waiter that asks
//! while a round runs is served by the next one. Under load this turns a
//! flush per caller into a flush per round — the receiver's inbox and the
//! workers' in-flight marks share them.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::StoreError;

/// How a waiter hears that its round is on disk.
enum Waiter {
    Task(tokio::sync::oneshot::Sender<Result<(), String>>),
    Thread(mpsc::Sender<Result<(), String>>),
}

impl Waiter {
    fn answer(self, result: Result<(), String>) {
        // A waiter that went away (a cancelled task) needs no answer.
        match self {
            Self::Task(tx) => {
                let _ = tx.send(result);
            }
            Self::Thread(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    closed: bool,
    /// Flush rounds run, for the tests and the benchmark.
    rounds: u64,
    /// While set, every round fails with this message instead of flushing.
    drill: Option<String>,
}

struct Inner {
    queue: Mutex<Queue>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The database directory, for the error a failed flush gives.
    dir: PathBuf,
    /// Files beside the database made durable in the same rounds (the
    /// audit trail), so that one wait covers a change and its record.
    companions: Mutex<Vec<std::fs::File>>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue holds no invariant a panicking holder could break.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Durability for one sled database: the handle to its flusher thread (see
/// the module doc). Cheap to clone; every owner of a tree holds one.
#[derive(Clone)]
pub struct Durability {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durability")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl Durability {
    /// Starts the flusher thread for `db`, stored in `dir`.
    pub(super) fn start(db: sled::Db, dir: &Path) -> Result<Self, std::io::Error> {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
            dir: dir.to_owned(),
            companions: Mutex::new(Vec::new()),
        });
        let worker = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("bote-flusher".into())
            .spawn(move || run(&worker, &db))?;
        *inner.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Ok(Self { inner })
    }

    /// Syncs `file` in every round from now on, after the database.
    pub fn sync_with_rounds(&self, file: std::fs::File) {
        self.inner
            .companions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(file);
    }

    fn enqueue(&self, waiter: Waiter) -> Result<(), StoreError> {
        let mut q = self.inner.lock();
        if q.closed {
            return Err(closed());
        }
        q.waiting.push(waiter);
        drop(q);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Waits until everything written before the call is on disk.
    pub async fn flushed(&self) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(Waiter::Task(tx))?;
        self.answer(rx.await.map_err(|_| closed())?)
    }

    /// [`Durability::flushed`] for threads that may block.
    pub fn flushed_blocking(&self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.enqueue(Waiter::Thread(tx))?;
        self.answer(rx.recv().map_err(|_| closed())?)
    }

    /// Makes every flush fail with `error` until called with `None`: a
    /// drill for a full or failing disk, which no test can produce on demand
    /// without privileges. What is written meanwhile stays in sled's buffers
    /// and is flushed by the first round after the drill.
    pub fn drill_failure(&self, error: Option<&std::io::Error>) {
        self.inner.lock().drill = error.map(ToString::to_string);
    }

    /// Flush rounds run so far.
    pub fn rounds(&self) -> u64 {
        self.inner.lock().rounds
    }

    /// Serves who is waiting, flushes once more and stops the thread.
    pub(super) fn stop(&self) {
        self.inner.lock().closed = true;
        self.inner.wake.notify_one();
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    fn answer(&self, result: Result<(), String>) -> Result<(), StoreError> {
        result.map_err(|message| StoreError::Flush {
            path: self.inner.dir.clone(),
            message,
        })
    }
}

fn closed() -> StoreError {
    StoreError::Corrupt {
        key: "flusher".into(),
        message: "the store is closing; nothing more can be made durable".into(),
    }
}

fn run(inner: &Inner, db: &sled::Db) {
    loop {
        let (round, last, drill) = {
            let mut q = inner.lock();
            while q.waiting.is_empty() && !q.closed {
                q = inner.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            q.rounds += 1;
            (std::mem::take(&mut q.waiting), q.closed, q.drill.clone())
        };
        // Taken before the flush begins: everything these waiters wrote is
        // in sled's buffers by now, so this one flush covers all of them.
        let result = match drill {
            Some(message) if !last => Err(message),
            _ => db
                .flush()
                .map(|_| ())
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    let files = inner.companions.lock().unwrap_or_else(|p| p.into_inner());
                    files
                        .iter()
                        .try_for_each(std::fs::File::sync_data)
                        .map_err(|e| e.to_string())
                }),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "store flush failed");
        }
        for w in round {
            w.answer(result.clone());
        }
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadlock's shape (sled #1308): many tasks writing and asking for
    /// durability at once. Every one is answered, and rounds are shared.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_waiters_are_all_served_in_shared_rounds() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = sled::Config::new()
            .path(dir.path().join("db"))
            .open()
            .expect("db");
        let flusher = Durability::start(db.clone(), dir.path()).expect("flusher");
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let db = db.clone();
                let flusher = flusher.clone();
                tokio::spawn(async move {
                    db.insert(i.to_be_bytes(), &[1u8][..]).expect("insert");
                    flusher.flushed().await
                })
            })
            .collect();
        let all = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            for t in tasks {
                t.await.expect("task").expect("flushed");
            }
        })
        .await;
        assert!(all.is_ok(), "a waiter was never answered");
        assert!(
            flusher.rounds() < 200,
            "{} rounds for 200 waiters: no group commit",
            flusher.rounds()
        );
        flusher.flushed_blocking().expect("blocking flush");

        flusher.drill_failure(Some(&std::io::Error::from_raw_os_error(28)));
        let e = flusher
            .flushed()
            .await
            .expect_err("the drill fails flushes");
        assert!(e.to_string().contains("the disk is full"), "{e}");
        flusher.drill_failure(None);
        flusher
            .flushed()
            .await
            .expect("flushes again after the drill");
        flusher.stop();
        assert!(
            flusher.flushed_blocking().is_err(),
            "a stopped flusher refuses"
        );
    }
}
