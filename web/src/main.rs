//! The browser app's entry point (`trunk serve` builds it for wasm32).

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(web::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "The web app runs in a browser: `trunk serve` builds and serves it (README, \"Browser\")."
    );
    std::process::exit(2);
}
