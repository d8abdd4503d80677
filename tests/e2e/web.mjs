// End-to-end test of the browser app: serves the built site (dist/) on localhost, opens it in
// headless Chromium (playwright-core driving Debian's /usr/bin/chromium), checks that a bad
// field is refused at the field, starts a training of 3 depths, waits until the loss shown
// falls for every depth, checks that the plots are drawn (non-blank canvases) and that no
// error reached the console, and saves a screenshot. It does this twice: with WebGPU
// (SwiftShader in headless Chromium) and without it, where the page must say it falls back
// to the CPU.
//
// Usage: node tests/e2e/web.mjs DIST_DIR OUT_DIR   (playwright-core on NODE_PATH)
import { createServer } from "node:http";
import { readFile, mkdir, mkdtemp } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [dist = "dist", out = "target/e2e"] = process.argv.slice(2);
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".safetensors": "application/octet-stream",
};

function fail(message) {
  console.error(`e2e: FAILED: ${message}`);
  process.exit(1);
}

const server = createServer(async (req, res) => {
  const path = normalize(new URL(req.url, "http://localhost").pathname).replace(/^\/+/, "");
  try {
    const body = await readFile(join(dist, path === "" ? "index.html" : path));
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "text/html" });
    res.end(body);
  } catch {
    console.log(`e2e: 404 ${req.url}`);
    res.writeHead(404);
    res.end("not found");
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}/`;
await mkdir(out, { recursive: true });

// Three small depths that train in seconds even on software WebGPU.
const QUERY =
  "n_samples=200&width=4&depths=3,6,12&lr=0.5&batch_size=50&max_steps=100000&log_every=10&epsilon=1e-6";

async function check(webgpu) {
  const name = webgpu ? "webgpu" : "cpu";
  const args = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  const browser = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), "e2e-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args,
    viewport: { width: 1280, height: 1500 },
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto(`${base}?${QUERY}`);
  await page.waitForFunction(() => {
    const text = document.querySelector("#engine")?.textContent;
    return text && !text.startsWith("Looking");
  }, null, { timeout: 120_000 });
  const engine = await page.textContent("#engine");
  console.log(`e2e ${name}: ${engine}`);
  if (webgpu !== engine.includes("WebGPU (burn-wgpu)")) fail(`${name}: engine line "${engine}"`);
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
  await page.goto(`${base}?${QUERY}`);
  await page.waitForFunction(() => {
    const text = document.querySelector("#engine")?.textContent;
    return text && !text.startsWith("Looking");
  }, null, { timeout: 120_000 });

  await page.click("#start");
  // Every depth's shown loss falls below 0.9× the first one shown.
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
    await page.waitForTimeout(1000);
  }
  // The page answers while it trains: Pause takes effect at once.
  await page.click("#pause");
  await page.waitForFunction(() => document.querySelector("#status")?.textContent.startsWith("paused"), null, { timeout: 5_000 });
  await page.waitForTimeout(1000);

  const inked = await page.$$eval("canvas", (canvases) =>
    canvases.map((c) => {
      const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) n++;
      return [c.id, n];
    }));
  console.log(`e2e ${name}: dark pixels per canvas ${JSON.stringify(inked)}`);
  if (inked.length !== 4) fail(`${name}: ${inked.length} canvases`);
  for (const [id, n] of inked) if (n < 2000) fail(`${name}: canvas ${id} is blank (${n} dark pixels)`);
  const verdict = await page.textContent("#verdict");
  if (!/limit|neither|undetermined/.test(verdict)) fail(`${name}: no verdict line (${verdict})`);

  await page.screenshot({ path: join(out, `web-${name}.png`), fullPage: true });

  // Downloads: a depth's trained weights (safetensors with A and b) and a figure (PNG).
  const [weights] = await Promise.all([page.waitForEvent("download"), page.click("tr.depth button")]);
  const header = (await readFile(await weights.path())).subarray(8, 400).toString();
  if (weights.suggestedFilename() !== "weights_L3.safetensors" || !header.includes('"A"') || !header.includes('"b"'))
    fail(`${name}: weights download ${weights.suggestedFilename()}: ${header}`);
  const [png] = await Promise.all([page.waitForEvent("download"), page.click("figure button")]);
  const magic = (await readFile(await png.path())).subarray(1, 4).toString();
  if (png.suggestedFilename() !== "loss.png" || magic !== "PNG") fail(`${name}: PNG download ${png.suggestedFilename()}`);

  // Reset clears the runs.
  await page.click("#reset");
  await page.waitForFunction(() => document.querySelectorAll("tr.depth").length === 0, null, { timeout: 5_000 });

  if (!webgpu) {
    // MNIST: the page loads the embedded asset and says how much of it it uses.
    await page.goto(`${base}?dataset=mnist&n_samples=500&depths=2,4,8&batch_size=50&max_steps=20&log_every=10`);
    await page.waitForFunction(() => !document.querySelector("#start")?.disabled, null, { timeout: 60_000 });
    await page.click("#start");
    await page.waitForFunction(() => document.querySelectorAll("tr.depth[data-loss]").length === 3, null, { timeout: 120_000 });
    const note = await page.textContent("#data-note");
    if (!note.includes("MNIST") || !note.includes("first 500 of the asset's 10000 training images"))
      fail(`${name}: MNIST note "${note}"`);
    console.log(`e2e ${name}: ${note}`);
  }
  if (errors.length) fail(`${name}: console errors:\n${errors.join("\n")}`);
  await browser.close();
}

try {
  await check(true);
  await check(false);
} catch (e) {
  fail(e.stack ?? String(e));
} finally {
  server.close();
}
console.log(`e2e: passed; screenshots in ${out}`);
