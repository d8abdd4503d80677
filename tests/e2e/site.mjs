// What the page's browser scripts share (tests/e2e/web.mjs, scripts/bench-web.mjs): the built
// site (dist/) served on localhost, and headless Chromium (playwright-core driving Debian's
// /usr/bin/chromium, or $CHROMIUM) with the project's flags.
import { createServer } from "node:http";
import { readFile, mkdtemp } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".safetensors": "application/octet-stream",
};

// Serves `dist` on a free port of 127.0.0.1; `missing(url)` hears of every 404.
// Returns the server and the site's base URL.
export async function serve(dist, missing = () => {}) {
  const server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url, "http://localhost").pathname).replace(/^\/+/, "");
    try {
      const body = await readFile(join(dist, path === "" ? "index.html" : path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "text/html" });
      res.end(body);
    } catch {
      missing(req.url);
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, base: `http://127.0.0.1:${server.address().port}/` };
}

// Headless Chromium in a fresh profile, with WebGPU (`--enable-unsafe-webgpu`) or without;
// returns the browser and its page.
export async function launch(webgpu) {
  const args = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  const browser = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), "page-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args,
    viewport: { width: 1280, height: 1500 },
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  return { browser, page };
}
