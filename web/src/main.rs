//! The browser app's entry point (`trunk serve` builds it for wasm32), in the page and in its
//! workers.

/// In the page: mounts the app. In one of its workers (which run this same module): answers
/// the page's jobs.
#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    if web::worker::in_worker() {
        web::worker::serve();
    } else {
        leptos::mount::mount_to_body(web::app::App);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "The web app runs in a browser: `trunk serve` builds and serves it (README, \"Browser\")."
    );
    std::process::exit(2);
}
