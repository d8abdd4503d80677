//! The page's Web Workers: each runs this same wasm module (the page posts it its compiled
//! `WebAssembly.Module`), so that the work of a view runs on every core while the main thread
//! only draws and handles the controls. The worker's side ([`serve`]) answers one job at a
//! time; the page's side ([`Pool`]) starts the workers, and [`deal`] hands them a view's jobs.
//!
//! Messages: the page posts the module to a new worker (to a small loader script, which
//! initialises it; the module's `main` then calls [`serve`]), the worker answers "ready";
//! then [`Job`]s, each answered by a [`Reply`] (but a data set), both as MessagePack bytes
//! ([`crate::jobs`]).

use crate::browser::Generation;
use crate::jobs::{from_bytes, to_bytes, DataSource, Job, Reply, WorkerState};
use futures::future::join_all;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Worker, WorkerOptions, WorkerType};

/// The message a worker sends once it can take requests.
const READY: &str = "ready";

/// Whether this code runs in a dedicated worker (else in the page).
pub fn in_worker() -> bool {
    js_sys::global().is_instance_of::<DedicatedWorkerGlobalScope>()
}

thread_local! {
    /// The worker's data set and depths (the worker's side).
    static STATE: RefCell<WorkerState> = RefCell::new(WorkerState::default());
    /// The workers of each view's running Start, by the view's task (the page's side).
    static RUNNING: RefCell<BTreeMap<Generation, Rc<Pool>>> = const { RefCell::new(BTreeMap::new()) };
}

/// The worker's side: answers every message as the module documentation says, then says it is
/// ready.
pub fn serve() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let answer_to = scope.clone();
    let seconds = || js_sys::Date::now() / 1000.0;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = event.data().dyn_into::<Uint8Array>().map(|b| b.to_vec());
        let reply = match bytes.map_err(|_| "a message that is not a job".to_string()) {
            Ok(bytes) => match from_bytes(&bytes) {
                Ok(job) => STATE.with(|s| s.borrow_mut().answer(job, seconds)),
                Err(e) => Some(Reply::Failed(e)),
            },
            Err(e) => Some(Reply::Failed(e)),
        };
        if let Some(reply) = reply {
            let _ = answer_to.post_message(&Uint8Array::from(to_bytes(&reply).as_slice()));
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&READY.into());
}

/// The loader of a worker: it waits for the module, then initialises it with the page's
/// wasm-bindgen script (whose URL replaces `SCRIPT`), which runs the module's `main`.
const LOADER: &str = r#"self.onmessage = async (event) => {
  self.onmessage = null;
  const { default: init } = await import("SCRIPT");
  await init({ module_or_path: event.data });
};"#;

/// Workers of the page, each running this module, each doing one request at a time.
pub struct Pool {
    workers: Vec<Worker>,
    /// Per worker, the rejection of the request it is answering (Reset ends it).
    pending: Vec<RefCell<Option<Function>>>,
}

impl Pool {
    /// `n` workers, each ready to take requests (they load the module side by side).
    pub async fn start(n: usize) -> Result<Self, String> {
        let loader = loader_url()?;
        let started = Self::start_with(&loader, n).await;
        // The workers have read their loader once they are ready (or have failed).
        let _ = web_sys::Url::revoke_object_url(&loader);
        started
    }

    async fn start_with(loader: &str, n: usize) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            let worker = Worker::new_with_options(loader, &options)
                .map_err(|e| format!("starting a worker: {e:?}"))?;
            workers.push(worker);
        }
        let pool = Self {
            pending: workers.iter().map(|_| RefCell::new(None)).collect(),
            workers,
        };
        let module = wasm_bindgen::module();
        let ready = join_all((0..n).map(|i| pool.exchange(i, &module))).await;
        for (i, ready) in ready.into_iter().enumerate() {
            let ready = ready?;
            if ready.as_string().as_deref() != Some(READY) {
                return Err(format!("worker {i} did not start: {ready:?}"));
            }
        }
        Ok(pool)
    }

    /// Gives every worker the data set of the jobs that follow.
    pub fn share(&self, data: DataSource) {
        let job = to_bytes(&Job::Data(data));
        let message = Uint8Array::from(job.as_slice());
        for worker in &self.workers {
            let _ = worker.post_message(&message);
        }
    }

    /// Sends `job` to worker `i` and waits for its reply.
    pub async fn call(&self, i: usize, job: &Job) -> Result<Reply, String> {
        let message = Uint8Array::from(to_bytes(job).as_slice());
        let reply = self.exchange(i, &message.into()).await?;
        let bytes = reply
            .dyn_into::<Uint8Array>()
            .map_err(|_| "a reply that is not a message")?;
        from_bytes(&bytes.to_vec())
    }

    /// Posts `message` to worker `i` and waits for the next message it sends.
    async fn exchange(&self, i: usize, message: &JsValue) -> Result<JsValue, String> {
        let worker = &self.workers[i];
        let promise = Promise::new(&mut |resolve, reject| {
            worker.set_onmessage(Some(&resolve));
            worker.set_onerror(Some(&reject));
            *self.pending[i].borrow_mut() = Some(reject);
        });
        worker
            .post_message(message)
            .map_err(|e| format!("posting to worker {i}: {e:?}"))?;
        let answer = JsFuture::from(promise).await;
        self.pending[i].borrow_mut().take();
        let event: MessageEvent = answer
            .map_err(|e| format!("worker {i} failed: {}", error_text(&e)))?
            .unchecked_into();
        Ok(event.data())
    }

    /// Stops every worker at once; the requests they were answering fail.
    pub fn stop(&self) {
        for (worker, pending) in self.workers.iter().zip(&self.pending) {
            worker.terminate();
            if let Some(reject) = pending.borrow_mut().take() {
                let _ = reject.call1(&JsValue::NULL, &"stopped".into());
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `n` workers for the Start of generation `mine` of a view's `task`, kept until
/// [`stop`]; `None` when a newer generation began meanwhile.
pub async fn start(task: Generation, n: usize, mine: u32) -> Result<Option<Rc<Pool>>, String> {
    let started = Pool::start(n).await;
    if task.current() != mine {
        return Ok(None);
    }
    let pool = Rc::new(started?);
    RUNNING.with(|r| r.borrow_mut().insert(task, pool.clone()));
    Ok(Some(pool))
}

/// Stops the workers of a view's `task` at once (Reset, or the end of its run); the jobs they
/// were doing fail.
pub fn stop(task: Generation) {
    if let Some(pool) = RUNNING.with(|r| r.borrow_mut().remove(&task)) {
        pool.stop();
    }
}

/// Deals `jobs` in order to the pool's workers, each doing one at a time, and hands every
/// reply to `record` as it comes, with its job's index, until all are done (`Ok`), a job
/// fails (the first error), or `ended()` says to stop (checked after every reply).
pub async fn deal(
    pool: &Pool,
    jobs: &[Job],
    record: impl Fn(usize, Reply),
    ended: impl Fn() -> bool,
) -> Result<(), String> {
    let next = Cell::new(0);
    let lane = |worker: usize| {
        let (next, record, ended) = (&next, &record, &ended);
        async move {
            while next.get() < jobs.len() {
                let index = next.get();
                next.set(index + 1);
                let reply = pool.call(worker, &jobs[index]).await;
                if ended() {
                    return Ok(());
                }
                match reply? {
                    Reply::Failed(e) => return Err(format!("worker {worker}: {e}")),
                    reply => record(index, reply),
                }
            }
            Ok(())
        }
    };
    let lanes = join_all((0..pool.workers.len()).map(lane)).await;
    lanes.into_iter().collect()
}

/// "on 2 workers": what a view says of its workers.
pub fn on_workers(n: usize) -> String {
    format!("on {n} worker{}", if n == 1 { "" } else { "s" })
}

/// The cores the browser reports (`navigator.hardwareConcurrency`).
pub fn cores() -> usize {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency() as usize)
        .unwrap_or(1)
}

/// The number of workers for `asked` (0: one per core the browser reports), at most `jobs`.
pub fn workers_for(asked: usize, jobs: usize) -> usize {
    let n = if asked == 0 { cores() } else { asked };
    n.clamp(1, jobs.max(1))
}

/// A `blob:` URL of the [`LOADER`] with the page's wasm-bindgen script, which trunk names in
/// the page's `<link rel="modulepreload">`.
fn loader_url() -> Result<String, String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link = document
        .query_selector("link[rel=modulepreload]")
        .ok()
        .flatten()
        .ok_or("the page names no wasm-bindgen script (link rel=modulepreload)")?;
    let script = Reflect::get(&link, &"href".into())
        .ok()
        .and_then(|h| h.as_string())
        .ok_or("the page's script has no URL")?;
    let source = LOADER.replace("SCRIPT", &script);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&Array::of1(&source.into()), &options)
            .map_err(|e| format!("the worker's loader: {e:?}"))?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))
}

/// The message of a worker's error event, or the value.
fn error_text(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
