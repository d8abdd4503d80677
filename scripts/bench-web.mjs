// The page's benchmark: serves a built site (dist/) on localhost, opens it in headless Chromium
// (both from tests/e2e/site.mjs), and for each number of workers presses
// Start in a view as a user would, timing it from the click to "finished", with the animation
// frames drawn meanwhile (frames/s and the longest gaps between two, with when they ended after
// the click). docs/browser.md gives what it measured.
//
// Usage: node scripts/bench-web.mjs DIST VIEW QUERY [WORKERS=1,2] [RUNS=3]
//   VIEW: training, phase or transfer; QUERY: the view's settings, as in the page's URL.
//   e.g. node scripts/bench-web.mjs dist training "batch_size=500&max_steps=2000&epsilon=1e-9"
// (after `eval "$(scripts/setup-web.sh)"`, which puts playwright-core on NODE_PATH).
import { launch, serve } from "../tests/e2e/site.mjs";

const [dist, view, query = "", list = "1,2", runs = "3"] = process.argv.slice(2);
// Each view's elements: its Start button, its status line, where it says its workers.
const VIEWS = {
  training: { query: "", start: "#start", status: "#status", workers: "#status" },
  phase: { query: "view=phase", start: "#phase-start", status: "#phase-status", workers: "#phase-workers" },
  transfer: { query: "view=transfer", start: "#transfer-start", status: "#transfer-status", workers: "#transfer-workers" },
};
const ids = VIEWS[view];
if (!dist || !ids) {
  console.error("usage: node scripts/bench-web.mjs DIST training|phase|transfer QUERY [WORKERS] [RUNS]");
  process.exit(2);
}

const { server, base } = await serve(dist);
const { browser, page } = await launch(false);
page.on("console", (m) => m.type() === "error" && console.error(`console error: ${m.text()}`));

// One Start with `workers`: seconds from the click to "finished", frames/s, the 3 longest gaps.
async function measure(workers) {
  const settings = [ids.query, query, `workers=${workers}`].filter((s) => s).join("&");
  await page.goto(`${base}?${settings}`);
  await page.waitForSelector(`${ids.start}:not([disabled])`, { timeout: 120_000 });
  // The WebGPU probe and the first frames settle.
  await page.waitForTimeout(1000);
  await page.evaluate(() => {
    window.frames_ = [];
    let last = performance.now();
    const frame = (t) => { window.frames_.push([t - last, t]); last = t; requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    document.addEventListener("click", () => { window.clicked = performance.now(); }, { capture: true });
  });
  await page.click(ids.start);
  await page.waitForFunction((s) => document.querySelector(s)?.textContent?.startsWith("finished"),
    ids.status, { timeout: 1_800_000, polling: 50 });
  return page.evaluate((w) => {
    const end = performance.now();
    const seconds = (end - window.clicked) / 1000;
    const frames = window.frames_.filter(([, t]) => t > window.clicked);
    const gaps = frames.map(([gap, t]) => [Math.round(gap), Math.round(t - window.clicked)])
      .sort((a, b) => b[0] - a[0]).slice(0, 3);
    return { seconds, fps: frames.length / seconds, gaps, workers: document.querySelector(w)?.dataset.workers };
  }, ids.workers);
}

for (let run = 0; run < +runs; run++) {
  for (const workers of list.split(",")) {
    const m = await measure(workers);
    console.log(`${view} workers=${workers} (the page ran ${m.workers}) run ${run}: ${m.seconds.toFixed(2)} s, ` +
      `${m.fps.toFixed(1)} frames/s, longest gaps ${m.gaps.map(([g, t]) => `${g} ms (at ${t} ms)`).join(", ")}`);
  }
}
await browser.close();
server.close();
