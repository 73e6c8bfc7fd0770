// Run by hand, not a test: checks that every qkms_* metric name used by the
// Grafana dashboard, the Prometheus alert rules and docs/operations.md exists
// in a real /metrics scrape of a running node, and that every metric family
// the node exports is documented in docs/operations.md.
//
//   npm start                                   # a local quorum, metrics on 127.0.0.1:9101..9105
//   node deploy/check-metrics.js http://127.0.0.1:9101/metrics
//   node deploy/check-metrics.js scrape.txt     # or a saved scrape
//
// Exits 0 when everything matches, 1 otherwise, 2 on a usage error.
import { readFileSync } from 'node:fs';
import console from 'node:console';
import process from 'node:process';
import { URL } from 'node:url';

const here = new URL('./', import.meta.url);
const source = process.argv[2];
if (source === undefined) {
  console.error('usage: node deploy/check-metrics.js URL|FILE');
  process.exit(2);
}

const scrape = source.startsWith('http://')
  ? await (await globalThis.fetch(source)).text()
  : readFileSync(source, 'utf8');

/** Every series name a query may use: each family, plus the _bucket/_sum/_count of histograms and summaries. */
const families = new Map();
for (const line of scrape.split('\n')) {
  const m = /^# TYPE (\S+) (\S+)$/.exec(line);
  if (m !== null) families.set(m[1], m[2]);
}
if (families.size === 0) {
  console.error(`${source}: no "# TYPE" lines: not a Prometheus scrape`);
  process.exit(2);
}
const series = new Set();
for (const [name, type] of families) {
  series.add(name);
  if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) series.add(name + s);
  if (type === 'summary') for (const s of ['_sum', '_count']) series.add(name + s);
}

const NAME = /\bqkms_[a-z0-9_]*[a-z0-9]\b/g;
/** Names that are prefixes in prose (`qkms_process_*`), not metrics. */
const isPrefix = (text, index, name) =>
  text.slice(index + name.length, index + name.length + 2) === '_*';

function namesIn(text) {
  const out = new Set();
  for (const m of text.matchAll(NAME)) if (!isPrefix(text, m.index, m[0])) out.add(m[0]);
  return out;
}

let failures = 0;
function check(what, names) {
  const missing = [...names].filter((n) => !series.has(n));
  for (const n of missing) console.log(`MISSING  ${what}: ${n}`);
  failures += missing.length;
  console.log(`${missing.length === 0 ? 'ok      ' : 'FAILED  '}${what}: ${names.size} names`);
}

// The dashboard: every expr of every target, and the variable queries.
const dashboard = JSON.parse(readFileSync(new URL('grafana/qkms-node.json', here), 'utf8'));
const exprs = [];
for (const panel of dashboard.panels) for (const t of panel.targets ?? []) exprs.push(t.expr);
for (const v of dashboard.templating.list) exprs.push(v.definition ?? '');
check(`deploy/grafana/qkms-node.json (${exprs.length} queries)`, namesIn(exprs.join('\n')));

check(
  'deploy/prometheus/qkms-alerts.yaml',
  namesIn(readFileSync(new URL('prometheus/qkms-alerts.yaml', here), 'utf8')),
);

const operations = readFileSync(new URL('../docs/operations.md', here), 'utf8');
check('docs/operations.md', namesIn(operations));

// The other way: every family the node exports is documented (the default
// process metrics as the qkms_process_* group).
const undocumented = [...families.keys()].filter(
  (f) => !f.startsWith('qkms_process_') && !namesIn(operations).has(f),
);
for (const f of undocumented) console.log(`UNDOCUMENTED  ${f}`);
failures += undocumented.length;
console.log(
  `${undocumented.length === 0 ? 'ok      ' : 'FAILED  '}every exported family documented: ${families.size} families in the scrape`,
);

process.exitCode = failures === 0 ? 0 : 1;
