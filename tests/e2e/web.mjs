// End-to-end test of the browser app: serves the built site (dist/) on localhost, opens it in
// headless Chromium (both from ./site.mjs), checks that a bad field is refused at the field,
// starts a training of 3 depths, waits until the loss shown falls for every depth, checks that the plots are drawn (non-blank canvases) and that no
// error reached the console, and saves a screenshot. It does this twice: with WebGPU
// (SwiftShader in headless Chromium), forced by the settings (engine=webgpu), and without it,
// where the page must say it falls back to the CPU. With WebGPU it then lets the page choose
// (engine=auto: it times both and must train on the faster) and forces the CPU. Without
// WebGPU it trains real MNIST, with Reset and a second Start while the data loads. Then the
// phase view ("At initialisation") and the transfer view ("Across depth"), once each, on the
// CPU.
//
// Usage: node tests/e2e/web.mjs DIST_DIR OUT_DIR   (playwright-core on NODE_PATH)
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { launch as launchChromium, serve } from "./site.mjs";

const [dist = "dist", out = "target/e2e"] = process.argv.slice(2);

function fail(message) {
  console.error(`e2e: FAILED: ${message}`);
  process.exit(1);
}

const { server, base } = await serve(dist, (url) => console.log(`e2e: 404 ${url}`));
await mkdir(out, { recursive: true });

// Three small depths that train in seconds even on software WebGPU.
const QUERY =
  "n_samples=200&width=4&depths=3,6,12&lr=0.5&batch_size=50&max_steps=100000&log_every=10&epsilon=1e-6";

// Headless Chromium, with WebGPU or without; the console's errors are collected.
async function launch(webgpu) {
  const { browser, page } = await launchChromium(webgpu);
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  return { browser, page, errors };
}

// Pixels of a canvas that are not near white ("dark") and that are coloured (not grey).
async function ink(page, selector) {
  return page.$eval(selector, (c) => {
    const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    let dark = 0, coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (r < 200 || g < 200 || b < 200) dark++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
    }
    return { dark, coloured };
  });
}

// Opens the page at `query` and waits until it has looked for WebGPU; the engine line.
async function open(page, query) {
  await page.goto(`${base}?${query}`);
  await page.waitForFunction(() => {
    const text = document.querySelector("#engine")?.textContent;
    return text && !text.startsWith("Looking");
  }, null, { timeout: 120_000 });
  return page.textContent("#engine");
}

async function check(webgpu) {
  const name = webgpu ? "webgpu" : "cpu";
  const { browser, page, errors } = await launch(webgpu);
  // With WebGPU the settings force it (engine=auto would time both and pick the CPU here).
  const query = webgpu ? `${QUERY}&engine=webgpu` : QUERY;

  const engine = await open(page, query);
  console.log(`e2e ${name}: ${engine}`);
  if (webgpu && !engine.includes("WebGPU adapter:")) fail(`${name}: engine line "${engine}"`);
  if (!webgpu && !engine.includes("training on the CPU")) fail(`${name}: no fallback notice`);

  // The URL's settings are in the form; a bad value is refused at its field.
  if ((await page.inputValue("#field-depths")) !== "3,6,12") fail(`${name}: depths not read from the URL`);
  await page.fill("#field-lr", "fast");
  await page.press("#field-lr", "Tab");
  const refusal = await page.textContent("label:has(#field-lr) .error");
  if (!refusal?.includes("not a number")) fail(`${name}: bad lr not refused at the field (${refusal})`);
  if (!(await page.isDisabled("#start"))) fail(`${name}: Start enabled with a bad field`);
  await page.fill("#field-lr", "0.5");
  await page.press("#field-lr", "Tab");
  if (!page.url().includes("depths=3,6,12")) fail(`${name}: settings not in the URL (${page.url()})`);

  // A preset of the paper's experiments fills the form (and the URL); then back to QUERY.
  await page.selectOption("#preset", { label: "synthetic-tanh-shared, adam" });
  const preset = [await page.inputValue("#field-optimizer"), await page.inputValue("#field-lr"),
    await page.inputValue("#field-init")];
  if (preset.join() !== "adam,0.01,xavier-depth") fail(`${name}: the preset filled ${preset}`);
  if (!page.url().includes("optimizer=adam")) fail(`${name}: the preset is not in the URL (${page.url()})`);
  await open(page, query);

  await page.click("#start");
  // Every depth's shown loss falls below 0.9× the first one shown (each snapshot stays at
  // least 0.5 s, and the first shows the losses after one loss interval: polled often enough
  // not to miss it, as the CPU trains these small nets to their floor within a second).
  const first = {};
  const deadline = Date.now() + 300_000;
  for (;;) {
    const rows = await page.$$eval("tr.depth", (trs) =>
      trs.map((tr) => [tr.dataset.depth, parseFloat(tr.dataset.loss)]));
    for (const [depth, loss] of rows) if (!(depth in first) && loss > 0) first[depth] = loss;
    const fallen = rows.filter(([d, l]) => d in first && l < 0.9 * first[d]).length;
    if (rows.length === 3 && fallen === 3) {
      console.log(`e2e ${name}: losses fell: ${JSON.stringify(rows)} from ${JSON.stringify(first)}`);
      break;
    }
    if (Date.now() > deadline) fail(`${name}: losses did not fall: ${JSON.stringify(rows)}`);
    const error = await page.$("#error");
    if (error) fail(`${name}: the page shows an error: ${await error.textContent()}`);
    await page.waitForTimeout(100);
  }
  const trained = await page.$eval("#engine", (e) => [e.dataset.engine, e.textContent]);
  console.log(`e2e ${name}: ${trained[1]}`);
  const workers = Number(await page.getAttribute("#status", "data-workers"));
  if (!webgpu && workers < 2) fail(`${name}: trained on ${workers} worker(s) on a machine with several cores`);
  if (trained[0] !== name || !trained[1].includes(webgpu ? "WebGPU (burn-wgpu)" : "training on the CPU"))
    fail(`${name}: trained on ${JSON.stringify(trained)}`);
  // The page answers while it trains: Pause takes effect at once.
  await page.click("#pause");
  await page.waitForFunction(() => document.querySelector("#status")?.textContent.startsWith("paused"), null, { timeout: 5_000 });
  await page.waitForTimeout(1000);

  const inked = await page.$$eval("#training-view canvas", (canvases) =>
    canvases.map((c) => {
      const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) n++;
      return [c.id, n];
    }));
  console.log(`e2e ${name}: dark pixels per canvas ${JSON.stringify(inked)}`);
  if (inked.length !== 5) fail(`${name}: ${inked.length} canvases`);
  for (const [id, n] of inked) if (n < 2000) fail(`${name}: canvas ${id} is blank (${n} dark pixels)`);
  const verdict = await page.textContent("#verdict");
  if (!/limit|neither|undetermined/.test(verdict)) fail(`${name}: no verdict line (${verdict})`);

  await page.screenshot({ path: join(out, `web-${name}.png`), fullPage: true });

  // Downloads: a depth's trained weights (safetensors with A and b) and a figure (PNG).
  const [weights] = await Promise.all([page.waitForEvent("download"), page.click("tr.depth button")]);
  const header = (await readFile(await weights.path())).subarray(8, 400).toString();
  if (weights.suggestedFilename() !== "weights_L3.safetensors" || !header.includes('"A"') || !header.includes('"b"'))
    fail(`${name}: weights download ${weights.suggestedFilename()}: ${header}`);
  const [png] = await Promise.all([page.waitForEvent("download"), page.click("#training-view figure button")]);
  const magic = (await readFile(await png.path())).subarray(1, 4).toString();
  if (png.suggestedFilename() !== "loss.png" || magic !== "PNG") fail(`${name}: PNG download ${png.suggestedFilename()}`);

  // Reset clears the runs.
  await page.click("#reset");
  await page.waitForFunction(() => document.querySelectorAll("tr.depth").length === 0, null, { timeout: 5_000 });

  if (webgpu) await chooseEngine(page);
  else await mnist(page);
  if (errors.length) fail(`${name}: console errors:\n${errors.join("\n")}`);
  await browser.close();
}

// engine=auto in a browser with WebGPU: Start times both engines and trains on the faster,
// saying so with both rates; engine=cpu trains on the CPU.
async function chooseEngine(page) {
  const ready = await open(page, QUERY);
  if (!ready.includes("WebGPU adapter:") || !ready.includes("Engine auto")) fail(`auto: engine line "${ready}"`);
  await page.click("#start");
  await page.waitForFunction(() => document.querySelector("#engine")?.dataset.engine, null, { timeout: 120_000 });
  const [kind, cpu, gpu, line] = await page.$eval("#engine", (e) =>
    [e.dataset.engine, parseFloat(e.dataset.cpuRate), parseFloat(e.dataset.gpuRate), e.textContent]);
  console.log(`e2e auto: ${line}`);
  if (!(cpu > 0 && gpu > 0)) fail(`auto: rates ${cpu}, ${gpu}`);
  if (kind !== (gpu > cpu ? "webgpu" : "cpu")) fail(`auto: chose ${kind} at ${cpu} (CPU) and ${gpu} (WebGPU) updates/s`);
  await page.waitForFunction(() => document.querySelectorAll("tr.depth[data-loss]").length === 3, null, { timeout: 120_000 });
  await page.click("#reset");

  await page.selectOption("#field-engine", "cpu");
  await page.click("#start");
  await page.waitForFunction(() => document.querySelector("#engine")?.dataset.engine === "cpu", null, { timeout: 60_000 });
  const forced = await page.textContent("#engine");
  console.log(`e2e forced cpu: ${forced}`);
  if (!forced.includes("as the settings ask")) fail(`forced cpu: engine line "${forced}"`);
  await page.click("#reset");
}

// Real MNIST from the page's asset, held back 2 s: a Reset while it loads ends that Start
// (nothing trains); a Start, Reset and Start while it loads leave one training task.
async function mnist(page) {
  const query = "dataset=mnist&n_samples=500&depths=2,4,8&batch_size=50&max_steps=100000&epsilon=1e-9&log_every=10";
  let held = 0;
  await page.route("**/mnist-25.safetensors", async (route) => {
    held++;
    await new Promise((ok) => setTimeout(ok, 2_000));
    await route.continue();
  });
  const loading = () => page.waitForFunction(() => document.querySelector("#status")?.textContent.startsWith("loading"), null, { timeout: 5_000 });
  await open(page, query);
  await page.click("#start");
  await loading();
  await page.click("#reset");
  await page.waitForTimeout(4_000);
  const afterReset = await page.evaluate(() => [document.querySelector("#status").textContent, document.querySelectorAll("tr.depth").length]);
  if (held !== 1 || !afterReset[0].startsWith("idle") || afterReset[1] !== 0)
    fail(`cpu: Reset during the data load did not stop the run: ${JSON.stringify(afterReset)} (asset held ${held} times)`);
  console.log(`e2e cpu: Reset during the data load: ${JSON.stringify(afterReset)}`);

  await open(page, query); // a fresh page, whose asset is not loaded yet
  await page.click("#start");
  await loading();
  await page.click("#reset");
  await page.click("#start");
  await page.waitForFunction(() => document.querySelectorAll("tr.depth[data-loss]").length === 3, null, { timeout: 120_000 });
  await page.waitForTimeout(3_000); // both loads are over
  const tasks = await page.$eval("#status", (e) => e.dataset.tasks);
  console.log(`e2e cpu: Start, Reset, Start while loading: ${tasks} training task(s), asset fetched ${held} times`);
  if (tasks !== "1" || held !== 3) fail(`cpu: a second Start left ${tasks} tasks (asset fetched ${held} times)`);
  const note = await page.textContent("#data-note");
  if (!note.includes("MNIST") || !note.includes("first 500 of the asset's 10000 training images"))
    fail(`cpu: MNIST note "${note}"`);
  console.log(`e2e cpu: ${note}`);
  await page.click("#reset");
  await page.unroute("**/mnist-25.safetensors");
}

// The phase view ("At initialisation", computed on the CPU): a tiny grid of 2 depths × 3 H
// × 4 β fills in; the heat map is drawn, hovering reads a cell, clicking draws its path;
// Reset stops a run of the default grid; the view and its settings are in the URL.
const PHASE_QUERY = "view=phase&width=8&depths=10,40&beta_count=4&hurst_count=3&n_networks=2&n_inputs=4";

async function checkPhase() {
  const { browser, page, errors } = await launch(false);
  const text = (selector) => page.textContent(selector);
  await page.goto(`${base}?${PHASE_QUERY}`);
  await page.waitForSelector("#phase-map", { state: "visible", timeout: 60_000 });
  if (await page.isVisible("#training-view")) fail("phase: the training view is shown for view=phase");
  const engine = await text("#phase-engine");
  console.log(`e2e phase: ${engine}`);
  if (!engine.includes("computed on the CPU (wasm)")) fail(`phase: engine line "${engine}"`);
  if ((await page.inputValue("#phase-field-depths")) !== "10,40") fail("phase: depths not read from the URL");

  // A bad value is refused at its field, and Start is disabled meanwhile.
  await page.fill("#phase-field-hurst_to", "1.5");
  await page.press("#phase-field-hurst_to", "Tab");
  const refusal = await text("label:has(#phase-field-hurst_to) .error");
  if (!refusal?.includes("(0, 1)")) fail(`phase: bad H not refused at the field (${refusal})`);
  if (!(await page.isDisabled("#phase-start"))) fail("phase: Start enabled with a bad field");
  await page.fill("#phase-field-hurst_to", "0.95");
  await page.press("#phase-field-hurst_to", "Tab");
  if (!page.url().includes("view=phase") || !page.url().includes("depths=10,40"))
    fail(`phase: view and settings not in the URL (${page.url()})`);
  if ((await text("#phase-progress")) !== "0 of 6 columns") fail(`phase: progress "${await text("#phase-progress")}"`);

  const before = await ink(page, "#phase-map");
  const started = Date.now();
  await page.click("#phase-start");
  await page.waitForFunction(() => document.querySelector("#phase-progress")?.textContent === "6 of 6 columns"
    && document.querySelector("#phase-status")?.textContent === "finished", null, { timeout: 120_000 });
  const used = Number(await page.getAttribute("#phase-workers", "data-workers"));
  console.log(`e2e phase: 6 columns in ${Date.now() - started} ms on ${used} workers`);
  if (used < 2) fail(`phase: ${used} worker(s) on a machine with several cores`);
  const after = await ink(page, "#phase-map");
  console.log(`e2e phase: heat map pixels before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  if (after.dark < 2000 || after.coloured < before.coloured + 2000) fail("phase: the heat map is not filled in");
  const transition = await text("#phase-transition");
  if (!transition?.includes("Marion et al.: β = H")) fail(`phase: no transition table (${transition})`);

  // Hover the centre: the cell's β, H and ratios; click it: the path of one network.
  const box = await page.locator("#phase-map").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector("#phase-hover")?.textContent.includes("β"), null, { timeout: 5_000 });
  const hover = await text("#phase-hover");
  console.log(`e2e phase: hover: ${hover}`);
  if (!hover.includes("median") || !hover.includes("25–75%")) fail(`phase: hover line "${hover}"`);
  if ((await ink(page, "#phase-path")).dark > 0) fail("phase: the path canvas is drawn before a click");
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForTimeout(500);
  const path = await ink(page, "#phase-path");
  console.log(`e2e phase: path canvas ${JSON.stringify(path)}`);
  if (path.dark < 1000) fail("phase: the path canvas is blank after a click");
  await page.screenshot({ path: join(out, "web-phase.png"), fullPage: true });

  // Reset during a run of the default grid stops it: idle, and no further progress.
  await page.goto(`${base}?view=phase`);
  await page.waitForSelector("#phase-map", { state: "visible", timeout: 60_000 });
  const t0 = Date.now();
  await page.click("#phase-start");
  await page.waitForFunction(() => /^[1-9]\d* of 20 columns$/.test(document.querySelector("#phase-progress")?.textContent), null, { timeout: 120_000 });
  console.log(`e2e phase: default grid: ${await text("#phase-progress")} after ${Date.now() - t0} ms`);
  if (!(await page.isDisabled("#phase-start"))) fail("phase: Start enabled while computing");
  await page.click("#phase-reset");
  await page.waitForFunction(() => document.querySelector("#phase-status")?.textContent === "idle", null, { timeout: 10_000 });
  await page.waitForTimeout(2000);
  const [status, progress] = [await text("#phase-status"), await text("#phase-progress")];
  if (status !== "idle" || progress !== "0 of 20 columns") fail(`phase: after Reset: ${status}, ${progress}`);

  // The views switch at the top of the page, and the URL follows.
  await page.click("#view-training");
  if (!(await page.isVisible("#start")) || page.url().includes("view=phase")) fail(`phase: training view not shown (${page.url()})`);
  await page.click("#view-phase");
  if (!(await page.isVisible("#phase-start")) || !page.url().includes("view=phase")) fail(`phase: phase view not shown (${page.url()})`);

  if (errors.length) fail(`phase: console errors:\n${errors.join("\n")}`);
  await browser.close();
}

// The transfer view ("Across depth", trained on the CPU in Web Workers): a tiny grid of 4 η ×
// 3 depths × 2 seeds fills in, on every worker and on one, to the same numbers; its figures
// are drawn, the law of η*(L) and the table of best η appear; a bad field is refused; Reset
// stops a run of the default grid, whose transfer figure has filled in part-way while frames
// kept coming; the view and its settings are in the URL.
const TRANSFER_QUERY =
  "view=transfer&n_samples=64&width=4&depths=2,4,8&seeds=0,1&lr_min=0.01&lr_max=100&lr_points=4&batch_size=16&max_steps=40";

async function checkTransfer() {
  const { browser, page, errors } = await launch(false);
  const text = (selector) => page.textContent(selector);
  await page.goto(`${base}?${TRANSFER_QUERY}`);
  await page.waitForSelector("#transfer-start", { state: "visible", timeout: 60_000 });
  if (await page.isVisible("#training-view") || await page.isVisible("#phase-view"))
    fail("transfer: another view is shown for view=transfer");
  if ((await page.inputValue("#transfer-field-depths")) !== "2,4,8") fail("transfer: depths not read from the URL");
  const scaling = await text("#transfer-scaling");
  console.log(`e2e transfer: ${scaling}`);
  if (!scaling.includes("depth-mup: δ = L^−0.5")) fail(`transfer: scaling line "${scaling}"`);

  // A bad value is refused at its field, and Start is disabled meanwhile.
  await page.fill("#transfer-field-lr_points", "1");
  await page.press("#transfer-field-lr_points", "Tab");
  const refusal = await text("label:has(#transfer-field-lr_points) .error");
  if (!refusal?.includes("from 2")) fail(`transfer: bad lr_points not refused at the field (${refusal})`);
  if (!(await page.isDisabled("#transfer-start"))) fail("transfer: Start enabled with a bad field");
  await page.fill("#transfer-field-lr_points", "4");
  await page.press("#transfer-field-lr_points", "Tab");
  if (!page.url().includes("view=transfer") || !page.url().includes("depths=2,4,8"))
    fail(`transfer: view and settings not in the URL (${page.url()})`);
  if ((await text("#transfer-progress")) !== "0 of 24 networks") fail(`transfer: progress "${await text("#transfer-progress")}"`);

  // Trained by every worker (one per core), then by one: the same numbers.
  const results = [];
  for (const workers of ["0", "1"]) {
    await page.fill("#transfer-field-workers", workers);
    await page.press("#transfer-field-workers", "Tab");
    const started = Date.now();
    await page.click("#transfer-start");
    await page.waitForFunction(() => document.querySelector("#transfer-progress")?.textContent === "24 of 24 networks"
      && document.querySelector("#transfer-status")?.textContent === "finished", null, { timeout: 120_000 });
    const used = Number(await page.getAttribute("#transfer-workers", "data-workers"));
    console.log(`e2e transfer: 24 networks in ${Date.now() - started} ms on ${used} workers (workers=${workers})`);
    if (workers === "0" && used < 2) fail(`transfer: ${used} worker(s) on a machine with several cores`);
    if (workers === "1" && used !== 1) fail(`transfer: ${used} workers for workers=1`);
    results.push([await text("#transfer-fit"), await text("#transfer-best")]);
    if (workers === "0") {
      for (const name of ["train", "test", "optimum", "best"]) {
        const drawn = await ink(page, `#transfer-${name}`);
        console.log(`e2e transfer: ${name} canvas ${JSON.stringify(drawn)}`);
        if (drawn.dark < 1000 || drawn.coloured < 100) fail(`transfer: the ${name} figure is not drawn`);
      }
      await page.screenshot({ path: join(out, "web-transfer.png"), fullPage: true });
    }
  }
  const [fit] = results[0];
  console.log(`e2e transfer: ${fit}`);
  if (!/κ\* = |no law of η\*\(L\) yet/.test(fit) || !fit.includes("of 24 networks diverged"))
    fail(`transfer: fit line "${fit}"`);
  if (results[0].join() !== results[1].join())
    fail(`transfer: one worker and several disagree:\n${results[0].join("\n")}\n${results[1].join("\n")}`);
  const rows = await page.$$eval("#transfer-best tr.best", (r) => r.map((x) => x.dataset.depth));
  if (rows.join(",") !== "2,4,8") fail(`transfer: best-η table rows ${rows}`);

  // While the default grid trains, animation frames keep coming (the workers train, the
  // main thread draws): the largest gap between frames, with a bound for a loaded machine.
  await page.goto(`${base}?view=transfer`);
  await page.waitForSelector("#transfer-start", { state: "visible", timeout: 60_000 });
  await page.evaluate(() => {
    window.gaps = [];
    let last = performance.now();
    const frame = (t) => { window.gaps.push(t - last); last = t; requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  });
  // The default grid: the transfer figure fills in as networks finish; Reset stops it.
  const t0 = Date.now();
  await page.click("#transfer-start");
  await page.waitForFunction(() => /^([4-9]|\d\d) of 165 networks$/.test(document.querySelector("#transfer-progress")?.textContent), null, { timeout: 120_000 });
  const partway = await text("#transfer-progress");
  const partial = await ink(page, "#transfer-train");
  console.log(`e2e transfer: default grid: ${partway} after ${Date.now() - t0} ms; figure ${JSON.stringify(partial)}`);
  if (partial.dark < 1000) fail("transfer: the figure does not fill in while the grid trains");
  const gaps = await page.evaluate(() => window.gaps.slice(1).sort((a, b) => b - a).slice(0, 3));
  console.log(`e2e transfer: largest gaps between frames while training: ${gaps.map(Math.round)} ms`);
  if (gaps[0] > 500) fail(`transfer: a frame gap of ${Math.round(gaps[0])} ms while training`);
  if (!(await page.isDisabled("#transfer-start"))) fail("transfer: Start enabled while training");
  await page.click("#transfer-reset");
  await page.waitForFunction(() => document.querySelector("#transfer-status")?.textContent === "idle", null, { timeout: 10_000 });
  await page.waitForTimeout(1000);
  const [status, progress] = [await text("#transfer-status"), await text("#transfer-progress")];
  if (status !== "idle" || progress !== "0 of 165 networks") fail(`transfer: after Reset: ${status}, ${progress}`);
  if ((await ink(page, "#transfer-train")).dark > 0) fail("transfer: the figure is not cleared by Reset");

  // The views switch at the top of the page, and the URL follows.
  await page.click("#view-phase");
  if (!(await page.isVisible("#phase-start")) || page.url().includes("view=transfer")) fail(`transfer: phase view not shown (${page.url()})`);
  await page.click("#view-transfer");
  if (!(await page.isVisible("#transfer-start")) || !page.url().includes("view=transfer")) fail(`transfer: transfer view not shown (${page.url()})`);

  if (errors.length) fail(`transfer: console errors:\n${errors.join("\n")}`);
  await browser.close();
}

try {
  await check(true);
  await check(false);
  await checkPhase();
  await checkTransfer();
} catch (e) {
  fail(e.stack ?? String(e));
} finally {
  server.close();
}
console.log(`e2e: passed; screenshots in ${out}`);
