//! What the page needs from the browser: time, yielding to it, WebGPU, files, the URL.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// Seconds since the page loaded.
pub fn now() -> f64 {
    window().performance().map_or(0.0, |p| p.now() / 1000.0)
}

/// Waits `ms` milliseconds, so that the browser renders and handles input meanwhile.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

thread_local! {
    static GENERATIONS: RefCell<BTreeMap<&'static str, u32>> = const { RefCell::new(BTreeMap::new()) };
}

/// The generation of one view's background task: Start and Reset begin a new one, and a task
/// that finds the generation it began with gone ends at its next check (the page runs on one
/// thread, so a task is never stopped from outside).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Generation(&'static str);

impl Generation {
    /// The generation of the view named `view`.
    pub const fn of(view: &'static str) -> Self {
        Self(view)
    }

    pub fn current(self) -> u32 {
        GENERATIONS.with(|g| g.borrow().get(self.0).copied().unwrap_or(0))
    }

    /// Begins a new generation, which ends the tasks of the older ones; returns it.
    pub fn next(self) -> u32 {
        GENERATIONS.with(|g| {
            let mut g = g.borrow_mut();
            let n = g.entry(self.0).or_insert(0);
            *n += 1;
            *n
        })
    }
}

/// The name of the browser's WebGPU adapter (vendor, architecture, description, and whether
/// it is a fallback, i.e. software, adapter), else why there is none.
pub async fn webgpu_adapter() -> Result<String, String> {
    let gpu = Reflect::get(&window().navigator(), &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: Promise = request
        .call0(&gpu)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or("navigator.gpu.requestAdapter failed")?;
    match JsFuture::from(promise).await {
        Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => Ok(adapter_name(&adapter)),
        Ok(_) => Err("WebGPU is there but offers no adapter (GPU disabled or blocklisted)".into()),
        Err(e) => Err(format!("WebGPU adapter request failed: {e:?}")),
    }
}

/// A `GPUAdapter`'s `info` as one line: "google swiftshader (a fallback adapter)".
fn adapter_name(adapter: &JsValue) -> String {
    let info = Reflect::get(adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let text = |key: &str| {
        Reflect::get(&info, &key.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.is_empty())
    };
    let parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|k| text(k))
        .collect();
    let mut name = if parts.is_empty() {
        "unnamed".to_string()
    } else {
        parts.join(" ")
    };
    let fallback = [&info, adapter]
        .iter()
        .any(|o| Reflect::get(o, &"isFallbackAdapter".into()).ok() == Some(JsValue::TRUE));
    if fallback {
        name.push_str(" (a fallback adapter: software, or a slow GPU)");
    }
    name
}

/// The bytes at `url` (relative to the page).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response: web_sys::Response = JsFuture::from(window().fetch_with_str(url))
        .await
        .map_err(|e| format!("fetching {url}: {e:?}"))?
        .dyn_into()
        .map_err(|_| format!("fetching {url}: not a response"))?;
    if !response.ok() {
        return Err(format!("fetching {url}: HTTP {}", response.status()));
    }
    let buffer = response
        .array_buffer()
        .map_err(|e| format!("reading {url}: {e:?}"))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| format!("reading {url}: {e:?}"))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Offers `bytes` to the user as a file called `name`.
pub fn download_bytes(name: &str, bytes: &[u8]) {
    let array = Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    if let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) {
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
            download_url(name, &url);
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }
}

/// Offers the picture on canvas `id` as a PNG file called `name`.
pub fn download_canvas(id: &str, name: &str) {
    let canvas = window()
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
    if let Some(url) = canvas.and_then(|c| c.to_data_url().ok()) {
        download_url(name, &url);
    }
}

fn download_url(name: &str, url: &str) {
    let Some(document) = window().document() else {
        return;
    };
    if let Some(a) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(url);
        a.set_download(name);
        a.click();
    }
}

/// The page's URL query, without the `?`.
pub fn query() -> String {
    window()
        .location()
        .search()
        .unwrap_or_default()
        .trim_start_matches('?')
        .to_string()
}

/// Replaces the page's URL query (no new history entry).
pub fn set_query(query: &str) {
    let location = window().location();
    let path = location.pathname().unwrap_or_default();
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}
