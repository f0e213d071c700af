#!/usr/bin/env node
//
// mem.mjs
//	Backend memory across one long run, for bench/run.sh (section 4).
//
// Usage: node mem.mjs DB SQL SERVER_LOG OUT_JSON
//
// Connects a "runner" and an "observer" to DB.  While the runner executes
// SQL, the observer samples the runner's backend every 100 ms:
//	- /proc/PID/status: VmRSS and RssAnon (private memory; RSS also counts
//	  shared buffers the backend touched, which is not its own memory);
//	- pg_stat_activity.query, from which migrate's progress is read when
//	  a migration's statement is running ("/* migrate: up of default
//	  001234 ..."; between statements it shows the caller's query);
//	- every 2nd sample (the 1st, 3rd, ...), pg_log_backend_memory_contexts(PID): the backend
//	  writes its memory contexts to SERVER_LOG, ending with a "Grand total"
//	  line that is read back afterwards, in order.
// The same is taken once before SQL starts (the baseline, after SELECT 1).
// Writes OUT_JSON: the baseline, every sample, and a summary.  Must run
// as a user that may read /proc of the server's processes and SERVER_LOG.

import fs from "node:fs";
import pg from "pg";

const [, , db, sql, serverLog, outFile] = process.argv;
const TICK_MS = 100;
const CONTEXT_EVERY = 2;

function proc(pid) {
	const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
	const kb = (key) => {
		const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
		return m ? Number(m[1]) * 1024 : null;
	};
	return { vmRss: kb("VmRSS"), rssAnon: kb("RssAnon") };
}

const runner = new pg.Client({ database: db, application_name: "bench_mem" });
const observer = new pg.Client({ database: db, application_name: "bench_mem_observer" });

runner.on("notice", () => {});
await runner.connect();
await observer.connect();
const pid = (await runner.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
await runner.query("SELECT 1");

const logStart = fs.statSync(serverLog).size;
const contextRequests = [];

async function requestContexts(progress, t) {
	await observer.query("SELECT pg_catalog.pg_log_backend_memory_contexts($1)", [pid]);
	contextRequests.push({ t, progress });
}

const baseline = { ...proc(pid) };
await requestContexts(0, 0);
// give the idle backend time to write them before the run starts
await new Promise((r) => setTimeout(r, 300));

const samples = [];
let done = false;
let error = null;
let rows = 0;
const t0 = performance.now();
const run = runner.query(sql).then(
	(r) => { rows = r.rowCount; done = true; },
	(e) => { error = String(e.message ?? e); done = true; });

for (let tick = 1; !done; tick++) {
	await new Promise((r) => setTimeout(r, TICK_MS));
	if (done)
		break;
	const t = performance.now() - t0;
	let progress = null;
	const a = await observer.query(
		"SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = $1", [pid]);
	const m = a.rows.length && a.rows[0].query.match(/migrate: up of \S+ (\d+) /);

	if (m)
		progress = Number(m[1]);
	const s = { t, progress, ...proc(pid) };

	samples.push(s);
	if (tick % CONTEXT_EVERY === 1 && !done)
		await requestContexts(progress, t);
}
await run;
const wallMs = performance.now() - t0;
const after = { ...proc(pid) };
await runner.end();
await observer.end();

// Read back the "Grand total" lines of that backend, in request order.
await new Promise((r) => setTimeout(r, 500));
const fd = fs.openSync(serverLog, "r");
const size = fs.statSync(serverLog).size;
const buf = Buffer.alloc(size - logStart);
fs.readSync(fd, buf, 0, buf.length, logStart);
fs.closeSync(fd);
const totals = [];
for (const line of buf.toString("utf8").split("\n")) {
	if (!line.includes(`[${pid}]`))
		continue;
	const g = line.match(/Grand total: (\d+) bytes in (\d+) blocks; (\d+) free \((\d+) chunks\); (\d+) used/);
	if (g)
		totals.push({ total: Number(g[1]), used: Number(g[5]) });
}
const contexts = contextRequests.slice(0, totals.length)
	.map((r, i) => ({ ...r, ...totals[i] }));

const during = samples.filter((s) => s.rssAnon !== null);
const maxAnon = Math.max(baseline.rssAnon, ...during.map((s) => s.rssAnon));
const ctxDuring = contexts.slice(1);
const summary = {
	rows,
	error,
	wall_ms: wallMs,
	samples: samples.length,
	baseline_rss_anon: baseline.rssAnon,
	peak_rss_anon: maxAnon,
	growth_rss_anon: maxAnon - baseline.rssAnon,
	baseline_context_total: contexts.length ? contexts[0].total : null,
	peak_context_total: ctxDuring.length ? Math.max(...ctxDuring.map((c) => c.total)) : null,
	context_samples: contexts.length,
	after_rss_anon: after.rssAnon,
};
summary.growth_context_total = summary.peak_context_total !== null && summary.baseline_context_total !== null
	? summary.peak_context_total - summary.baseline_context_total : null;

fs.writeFileSync(outFile, JSON.stringify({ pid, baseline, after, samples, contexts, summary }, null, 1));
console.log(JSON.stringify(summary));
process.exit(error ? 1 : 0);
