/**
 * `npm run bench:node [matmul|train|infer|all] [--quick]`: dropgpu alone in Node on Dawn (the optional
 * `webgpu` package), e.g. on Mesa's lavapipe or SwiftShader's Vulkan driver, with the same cases as the
 * browser run. Dawn picks the Vulkan driver from the loader: choose one with VK_ICD_FILENAMES, e.g.
 *
 *   VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json npm run bench:node      # Mesa lavapipe
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench:node # SwiftShader
 *
 * DAWN_ADAPTER=<name> passes `adapter=<name>` to Dawn when it sees several. Never run by CI.
 */
import { WebGpuUnavailableError } from '../src/index.js';
import { tuningRecords } from '../src/webgpu/autotune.js';
import { type ExploreRow, exploreMatmul } from './explore.js';
import { measureCase, type Timing } from './measure.js';
import { openDropgpu } from './ours.js';
import { formatExplore, formatTable, formatTuning, packageVersion, parseCli, writeRecord } from './report.js';
import { buildCases, matmulShapes, parseSuites } from './suites.js';

const NO_ADAPTER = `No WebGPU adapter from Dawn. It needs a Vulkan driver; on Debian bookworm either
  - Mesa's lavapipe (25.x; bookworm's 22.3 is too old for Dawn):
      apt-get install -y -t bookworm-backports mesa-vulkan-drivers
      VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json npm run bench:node
  - or the SwiftShader that Debian's chromium package ships:
      VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench:node`;

const cli = parseCli(process.argv.slice(2));
const suites = parseSuites(cli.suites);

let webgpu: typeof import('webgpu');
try {
  webgpu = await import('webgpu');
} catch (error) {
  console.error(`The optional dependency \`webgpu\` (Dawn for Node) is not installed or does not load here:
  ${String(error)}
Install it with \`npm i --no-save webgpu\` (it ships prebuilt Dawn for linux-x64, darwin, win32).`);
  process.exit(1);
}
// Our WebGPU code reads GPUBufferUsage and GPUMapMode as globals, as in a browser.
Object.assign(globalThis, webgpu.globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = webgpu.create(process.env.DAWN_ADAPTER ? [`adapter=${process.env.DAWN_ADAPTER}`] : []);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error(NO_ADAPTER);
  process.exit(1);
}
const { vendor, architecture, device, description } = adapter.info;
const adapterRecord = {
  vendor,
  architecture,
  device,
  description,
  vulkanIcd: process.env.VK_ICD_FILENAMES ?? '',
};
console.log(`adapter: ${JSON.stringify(adapterRecord)}`);

const started = Date.now();
let ours: Awaited<ReturnType<typeof openDropgpu>>;
try {
  ours = await openDropgpu({ gpu, autotune: cli.autotune }, console.log);
} catch (error) {
  if (error instanceof WebGpuUnavailableError) {
    console.error(`${error.message}\n${NO_ADAPTER}`);
    process.exit(1);
  }
  throw error;
}
const timings: Timing[] = [];
const explore: ExploreRow[] = [];
try {
  for (const c of buildCases(suites, cli.quick, [ours])) timings.push(...(await measureCase(c, console.log)));
  if (suites.includes('explore')) {
    explore.push(...(await exploreMatmul(ours.device, matmulShapes(cli.quick), console.log)));
  }
} finally {
  ours.dispose();
}
const record = {
  suites,
  quick: cli.quick,
  autotune: cli.autotune,
  runtime: `Node ${process.versions.node}, Dawn (webgpu ${packageVersion('node_modules/webgpu/package.json')})`,
  adapter: adapterRecord,
  versions: { dropgpu: packageVersion('package.json') },
  timings,
  tuning: tuningRecords(),
  explore,
  seconds: Math.round((Date.now() - started) / 1000),
  date: new Date().toISOString(),
};
const name = [vendor, architecture, description].filter(Boolean).join(' ');
console.log(
  `\n${suites.join(', ')}${cli.quick ? ' (quick)' : ''} — ${name} — ${record.runtime} — ${record.seconds} s\n`,
);
console.log(formatTable(timings));
console.log(`\n${formatTuning(record.tuning)}`);
if (explore.length > 0) console.log(`\n${formatExplore(explore)}`);
const label = `node-${suites.join('+') === 'matmul+train+infer' ? 'all' : suites.join('+')}${cli.quick ? '-quick' : ''}`;
console.log(`\nwrote ${writeRecord(label, record)}`);
// Dawn's instance keeps Node's event loop alive.
process.exit(0);
