#!/usr/bin/env node
//
// report.mjs
//	Turns the measurements of one bench/run.sh invocation into Markdown:
//	machine facts, the targets with PASS/MISS, and a table per section
//	with the commands that produced it.
//
// Usage: node report.mjs WORKDIR OUT.md
//
// WORKDIR holds results.tsv (section, metric, contender, n, round, value,
// unit, status), meta.tsv (key, value), commands.tsv (section, contender,
// command), mem_*.json (mem.mjs) and report_locks_*.txt (the lock-limit
// errors).  Statistics: medians with min-max over the rounds; a ratio of
// two contenders is computed round by round (both ran in the same round,
// interleaved), then its median and min-max are shown.

import fs from "node:fs";
import path from "node:path";

const [, , work, outFile] = process.argv;

function readTsv(file) {
	if (!fs.existsSync(file))
		return [];
	return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length)
		.map((l) => l.split("\t"));
}

const meta = Object.fromEntries(readTsv(path.join(work, "meta.tsv")));
const rows = readTsv(path.join(work, "results.tsv")).map(
	([section, metric, contender, n, round, value, unit, status]) => ({
		section, metric, contender, n: Number(n), round: Number(round),
		value: value === "" ? NaN : Number(value), unit, status,
	}));
const commands = readTsv(path.join(work, "commands.tsv"));

function sel(section, metric, contender, n) {
	return rows.filter((r) => r.section === section && r.metric === metric &&
		(contender === undefined || r.contender === contender) &&
		(n === undefined || r.n === n));
}

function median(xs) {
	const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (!s.length)
		return NaN;
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function stats(rs) {
	const v = rs.map((r) => r.value).filter((x) => Number.isFinite(x));
	return {
		n: v.length,
		median: median(v),
		min: v.length ? Math.min(...v) : NaN,
		max: v.length ? Math.max(...v) : NaN,
		failed: rs.some((r) => r.status !== "ok"),
	};
}

// Ratio a/b round by round.
function pairedRatio(ra, rb) {
	const byRound = new Map(rb.map((r) => [r.round, r.value]));
	const ratios = ra.filter((r) => byRound.has(r.round))
		.map((r) => r.value / byRound.get(r.round));
	return {
		median: median(ratios),
		min: ratios.length ? Math.min(...ratios) : NaN,
		max: ratios.length ? Math.max(...ratios) : NaN,
		n: ratios.length,
		failed: ra.some((r) => r.status !== "ok") || rb.some((r) => r.status !== "ok"),
	};
}

function fmtTime(seconds) {
	if (!Number.isFinite(seconds))
		return "-";
	if (seconds >= 10)
		return `${seconds.toFixed(1)} s`;
	if (seconds >= 1)
		return `${seconds.toFixed(2)} s`;
	const ms = seconds * 1000;
	if (ms >= 100)
		return `${ms.toFixed(0)} ms`;
	if (ms >= 10)
		return `${ms.toFixed(1)} ms`;
	return `${ms.toFixed(2)} ms`;
}

const fmtMs = (ms) => fmtTime(ms / 1000);

function fmtRatio(x) {
	if (!Number.isFinite(x))
		return "-";
	if (x >= 100)
		return `${x.toFixed(0)}x`;
	if (x >= 10)
		return `${x.toFixed(1)}x`;
	return `${x.toFixed(2)}x`;
}

function fmtBytes(b) {
	if (!Number.isFinite(b))
		return "-";
	const a = Math.abs(b);
	if (a >= 1024 * 1024)
		return `${(b / 1024 / 1024).toFixed(1)} MiB`;
	if (a >= 1024)
		return `${(b / 1024).toFixed(0)} KiB`;
	return `${b} B`;
}

function timeCell(s, fmt = fmtTime) {
	if (s.failed)
		return "FAIL";
	if (!s.n)
		return "-";
	return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

function ratioCell(p) {
	if (p.failed)
		return "FAIL";
	if (!p.n)
		return "-";
	return `${fmtRatio(p.median)} (${fmtRatio(p.min)}–${fmtRatio(p.max)})`;
}

const num = (x, d = 0) => Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "-";

function commandTable(section, labels) {
	const cs = commands.filter((c) => c[0] === section);
	if (!cs.length)
		return "";
	let t = "| contender | command |\n|---|---|\n";
	for (const [, id, cmd] of cs)
		t += `| ${labels[id] ?? id} | \`${cmd.replace(/\|/g, "\\|")}\` |\n`;
	return t;
}

const LABEL = {
	raw1: "raw SQL, `psql -1 -f` (the floor)",
	raw1m: "raw SQL as one message (`psql -c`, the floor: no client round trips, no bookkeeping)",
	rawf: "raw SQL, `psql -f` (a transaction per statement)",
	plr: "PL/pgSQL runner, `plr.run()`",
	mrun: "**migrate.run()**, pre-registered",
	me2e1: "**migrate end to end**, bundle via `psql -1 -f`",
	me2ef: "**migrate end to end**, bundle via `psql -f`",
	sqitch: "Sqitch `deploy`",
	dbmate: "dbmate `migrate`",
	npm: "node-pg-migrate `up`",
	floor: "`psql -c 'SELECT 1'` (process + connection floor)",
	mbundle: "migrate: the whole bundle again (register x N unchanged + run), `psql -1 -f`",
	deploy: "**`CALL migrate.deploy()`**, pre-registered",
};
const PEERS = ["sqitch", "dbmate", "npm"];
const APPLY = ["raw1", "raw1m", "rawf", "plr", "mrun", "me2e1", "me2ef", "sqitch", "dbmate", "npm"];

const targets = [];
function target(text, measured, pass, where) {
	targets.push({ text, measured, verdict: pass === null ? "n/a" : pass ? "PASS" : "MISS", where });
}

let md = "";
const p = (s = "") => { md += s + "\n"; };

const quick = (meta.mode ?? "").startsWith("quick");
const ns = [...new Set(sel("apply", "wall").map((r) => r.n))].sort((a, b) => a - b);

// ---------------------------------------------------------------- 1. apply
let s1 = "";
const s1p = (s = "") => { s1 += s + "\n"; };
for (const n of ns) {
	const ref = sel("apply", "wall", "raw1", n);
	const mrun = sel("apply", "wall", "mrun", n);
	const rounds = stats(ref).n;
	s1p(`### N = ${n}`);
	s1p();
	s1p(`${rounds} rounds after a warm-up round; each run on a fresh database. Wall time of the whole command.`);
	s1p();
	s1p("| contender | median (min–max) | vs raw `psql -1 -f` | migrate.run() vs it |");
	s1p("|---|---|---|---|");
	for (const c of APPLY) {
		const rs = sel("apply", "wall", c, n);
		if (!rs.length)
			continue;
		const vsRaw = c === "raw1" ? "1" : ratioCell(pairedRatio(rs, ref));
		const mVs = c === "mrun" ? "" : ratioCell(pairedRatio(mrun, rs));
		s1p(`| ${LABEL[c]} | ${timeCell(stats(rs))} | ${vsRaw} | ${mVs} |`);
	}
	s1p();
}

// Per-migration cost: median wall time at N over N.  Its growth from a
// smaller N to the largest compares medians (runs at different N are in
// different rounds, so there is no pairing).  The smaller N is the
// smallest above 10 that is not the largest (fixed costs, psql and the
// connection, dominate N = 10), else the smallest: 100 for N = 10, 100,
// 1000; 10 for the quick run's 10, 50.
const nBig = ns[ns.length - 1];
const nSmall = ns.find((n) => n > 10 && n < nBig) ?? ns.find((n) => n < nBig);
function perMigration(c, n) {
	const s = stats(sel("apply", "wall", c, n));
	return { ...s, median: s.median / n };
}
function growth(c) {
	const big = perMigration(c, nBig);
	const small = perMigration(c, nSmall);
	return { x: big.median / small.median, failed: big.failed || small.failed, n: Math.min(big.n, small.n) };
}
const growthCell = (g) => g.failed ? "FAIL" : g.n ? fmtRatio(g.x) : "-";
if (ns.length) {
	s1p("### Per migration");
	s1p();
	s1p(`Median wall time over N, in ms per migration; the last column is that cost at N = ${nBig} over the cost at N = ${nSmall} ` +
		"(medians, not paired: the two N run in different rounds). Fixed costs (process start, connection) are spread over N, " +
		"so the cost per migration falls as N grows unless the work per migration grows.");
	s1p();
	const growthCol = nSmall !== undefined ? ` N = ${nBig} / N = ${nSmall} |` : "";
	s1p(`| contender | ${ns.map((n) => `N = ${n}`).join(" | ")} |${growthCol}`);
	s1p(`|---|${ns.map(() => "---|").join("")}${growthCol ? "---|" : ""}`);
	for (const c of APPLY) {
		if (!sel("apply", "wall", c).length)
			continue;
		const cells = ns.map((n) => {
			const s = perMigration(c, n);
			return s.failed ? "FAIL" : s.n ? num(s.median * 1000, 2) : "-";
		});
		s1p(`| ${LABEL[c]} | ${cells.join(" | ")} |${growthCol ? ` ${growthCell(growth(c))} |` : ""}`);
	}
	s1p();
}

function applyRatio(a, b, n) {
	return pairedRatio(sel("apply", "wall", a, n), sel("apply", "wall", b, n));
}

for (const n of ns.filter((n) => quick || n >= 100)) {
	const r = applyRatio("mrun", "raw1", n);
	target(`migrate.run() applying N=${n}: at most 1.05x raw \`psql -1 -f\``,
		ratioCell(r), !r.failed && r.median <= 1.05, "1");
}
if (ns.length && sel("apply", "wall", "raw1m", nBig).length) {
	const r = applyRatio("mrun", "raw1m", nBig);
	target(`migrate.run() applying N=${nBig}: at most 1.05x raw SQL as one message`,
		ratioCell(r), !r.failed && r.median <= 1.05, "1");
}
if (nSmall !== undefined) {
	const gm = growth("mrun");
	const gr = growth("raw1m");
	target(`migrate.run() per-migration cost at N=${nBig} within 5% of N=${nSmall}`,
		`${growthCell(gm)} (raw SQL as one message: ${growthCell(gr)})`, !gm.failed && gm.n > 0 && gm.x <= 1.05, "1");
}
for (const n of ns.filter((n) => quick || n >= 100)) {
	const r = applyRatio("mrun", "plr", n);
	target(`migrate.run() applying N=${n}: no slower than the PL/pgSQL runner`,
		ratioCell(r), !r.failed && r.median <= 1.0, "1");
}
for (const c of ["me2e1", "me2ef"]) {
	for (const n of ns) {
		const r = applyRatio(c, "raw1", n);
		target(`end to end from a bundle (${c === "me2e1" ? "`psql -1 -f`" : "`psql -f`"}), N=${n}: at most 1.15x raw \`psql -1 -f\``,
			ratioCell(r), !r.failed && r.median <= 1.15, "1");
	}
}
for (const c of ["mrun", "me2e1", "me2ef"]) {
	for (const n of ns) {
		let worst = null;
		for (const peer of PEERS) {
			const r = applyRatio(c, peer, n);
			if (!worst || r.failed || r.median > worst.r.median)
				worst = { peer, r };
		}
		target(`${c === "mrun" ? "migrate.run()" : c === "me2e1" ? "end to end (`psql -1 -f`)" : "end to end (`psql -f`)"} faster than every peer tool, N=${n}`,
			`vs the closest, ${worst.peer}: ${ratioCell(worst.r)}`, !worst.r.failed && worst.r.median < 1.0, "1");
	}
}

// ---------------------------------------------------------------- 2. no-op
let s2 = "";
const s2p = (s = "") => { s2 += s + "\n"; };
const NOOP = ["floor", "mrun", "mbundle", "plr", "sqitch", "dbmate", "npm"];
const noopN = Number(meta.noop_n);
{
	const mw = sel("noop", "wall", "mrun");
	const ms = sel("noop", "server", "mrun");
	s2p(`${noopN} migrations applied, nothing pending; each command run ${stats(mw).n} times after a warm-up, interleaved. ` +
		"Wall time is the whole command (process start, connection, work, exit). " +
		"Server time is the sum of the durations the server logged for every statement of one invocation " +
		"(`log_min_duration_statement = 0` for these databases, in a separate pass): parse, plan, execute and commit, " +
		"but not connection start-up. For `migrate.run()` it is the first call of a new session: loading `migrate.so` " +
		"and reading its catalog with the session's caches cold are part of it.");
	s2p();
	s2p("| contender | wall, median (min–max) | migrate.run() faster by | server time per invocation | statements | migrate.run() faster by |");
	s2p("|---|---|---|---|---|---|");
	for (const c of NOOP) {
		const w = sel("noop", "wall", c);
		const sv = sel("noop", "server", c);
		if (!w.length)
			continue;
		const st = stats(sel("noop", "statements", c));
		s2p(`| ${LABEL[c]} | ${timeCell(stats(w))} | ${c === "mrun" ? "" : ratioCell(pairedRatio(w, mw))} | ` +
			`${timeCell(stats(sv), fmtMs)} | ${num(st.median)} | ${c === "mrun" ? "" : ratioCell(pairedRatio(sv, ms))} |`);
	}
	s2p();
	s2p("Warm calls (the same statement again in one session; the first call left out):");
	s2p();
	s2p("| call | server time, median (min–max) |");
	s2p("|---|---|");
	for (const c of ["floor", "mrun", "plr"]) {
		const sw = sel("noop", "server_warm", c);
		if (sw.length)
			s2p(`| ${LABEL[c]} | ${timeCell(stats(sw), fmtMs)} |`);
	}
	s2p();

	let fastW = null;
	let fastS = null;
	for (const peer of PEERS) {
		const w = stats(sel("noop", "wall", peer));
		const sv = stats(sel("noop", "server", peer));
		if (!fastW || w.median < fastW.s.median)
			fastW = { peer, s: w };
		if (!fastS || sv.median < fastS.s.median)
			fastS = { peer, s: sv };
	}
	if (fastW) {
		const rw = pairedRatio(sel("noop", "wall", fastW.peer), mw);
		target("no-op check at least 20x faster than the fastest peer's (whole command)",
			`${fastW.peer} / migrate.run(): ${ratioCell(rw)}`, !rw.failed && rw.median >= 20, "2");
		const rs = pairedRatio(sel("noop", "server", fastS.peer), ms);
		target("no-op check at least 20x faster than the fastest peer's (server time, first call of a session)",
			`${fastS.peer} / migrate.run(): ${ratioCell(rs)}`, !rs.failed && rs.median >= 20, "2");
		const warm = stats(sel("noop", "server_warm", "mrun"));
		const rws = fastS.s.median / warm.median;
		target("no-op check at least 20x faster than the fastest peer's (server time, warm session)",
			`${fastS.peer} ${fmtMs(fastS.s.median)} / migrate.run() ${fmtMs(warm.median)}: ${fmtRatio(rws)}`,
			rws >= 20, "2");
	}
}

// ---------------------------------------------------------------- 3. catalog
let s3 = "";
const s3p = (s = "") => { s3 += s + "\n"; };
{
	const cn = Number(meta.catalog_n);
	const g = (m) => stats(sel("catalog", m));
	s3p(`A catalog of ${num(cn)} registered migrations, all applied (registered in one transaction, ` +
		"then marked applied with `migrate.baseline()`, which writes one history row each). " +
		"Cold: the first call of a new session (a fresh `psql -c`); warm: later calls in one session. Server time from the statement log, as in section 2.");
	s3p();
	s3p("| measurement | median (min–max) |");
	s3p("|---|---|");
	s3p(`| \`status()\`, server time, cold | ${timeCell(g("status_server_cold"), fmtMs)} |`);
	s3p(`| \`status()\`, server time, warm | ${timeCell(g("status_server_warm"), fmtMs)} |`);
	s3p(`| \`SELECT * FROM migrate.status()\`, whole \`psql\` (${num(cn)} rows printed) | ${timeCell(g("status_wall"))} |`);
	s3p(`| no-op \`run()\`, server time, cold | ${timeCell(g("noop_server_cold"), fmtMs)} |`);
	s3p(`| no-op \`run()\`, server time, warm | ${timeCell(g("noop_server_warm"), fmtMs)} |`);
	for (const [tag, label] of [["preload", "with `shared_preload_libraries = 'migrate'`"],
		["hugepages", "with that and huge pages for shared memory"]]) {
		for (const [what, name] of [["status", "`status()`"], ["noop", "no-op `run()`"]])
			if (sel("catalog", `${what}_server_cold_${tag}`).length)
				s3p(`| ${name}, server time, cold, ${label} (diagnostic, [section 6](README.md#findings)) | ${timeCell(g(`${what}_server_cold_${tag}`), fmtMs)} |`);
	}
	s3p(`| no-op \`SELECT * FROM migrate.run()\`, whole \`psql\` | ${timeCell(g("noop_wall"))} |`);
	s3p(`| registering the ${num(cn)} (one transaction) | ${timeCell(g("register_catalog"))} |`);
	s3p(`| \`baseline()\` of the ${num(cn)} | ${timeCell(g("baseline"))} |`);
	s3p();

	const small = g("register_small");
	const auto = g("register_autocommit");
	const big = g("register_big");
	const cat = g("register_catalog");
	const smallN = Number(meta.reg_small_n);
	const autoN = Number(meta.reg_autocommit_n);
	const bigN = Number(meta.reg_big_n);
	const bigBytes = Number(meta.reg_big_bytes);
	const folder = g("register_folder");
	const folderN = Number(meta.folder_n);
	s3p("`register()` throughput: a file of `SELECT migrate.register(...)` calls run by `psql`, on a fresh database; " +
		"rates from the median wall time of the whole command (psql start-up included).");
	s3p();
	s3p("| case | wall, median (min–max) | migrations per second | script bytes per second |");
	s3p("|---|---|---|---|");
	s3p(`| ${num(smallN)} small scripts (the section 1 migration), one transaction (\`psql -1 -f\`) | ${timeCell(small)} | ${num(smallN / small.median)} | |`);
	const values = g("register_values");
	s3p(`| the same ${num(smallN)} as one statement, \`SELECT migrate.register(...) FROM (VALUES ...)\` (diagnostic: no round trip per call) | ${timeCell(values)} | ${num(smallN / values.median)} | |`);
	s3p(`| ${num(autoN)} small scripts, one transaction each (\`psql -f\`, fsync per commit) | ${timeCell(auto)} | ${num(autoN / auto.median)} | |`);
	s3p(`| ${num(bigN)} scripts of 1 MiB (INSERT statements), one transaction | ${timeCell(big)} | ${num(bigN / big.median, 1)} | ${fmtBytes(bigBytes / big.median)}/s |`);
	s3p(`| the ${num(cn)} of the catalog above, one transaction | ${timeCell(cat)} | ${num(cn / cat.median)} | |`);
	s3p(`| a folder of ${num(folderN)} migrations (\`.up.sql\` and \`.down.sql\` files), \`migrate-bundle DIR \\| psql\`: reading, quoting, registering in one statement | ${timeCell(folder)} | ${num(folderN / folder.median)} | |`);
	s3p();

	const nsc = g("noop_server_cold");
	const nsw = g("noop_server_warm");
	target(`no-op run() with ${num(cn)} registered: under 5 ms server-side (first call of a session)`,
		timeCell(nsc, fmtMs), !nsc.failed && nsc.median < 5, "3");
	target(`no-op run() with ${num(cn)} registered: under 5 ms server-side (warm session)`,
		timeCell(nsw, fmtMs), !nsw.failed && nsw.median < 5, "3");
	const ssc = g("status_server_cold");
	const ssw = g("status_server_warm");
	target(`status() over ${num(cn)}: under 200 ms (server time, first call of a session)`,
		timeCell(ssc, fmtMs), !ssc.failed && ssc.median < 200, "3");
	target(`status() over ${num(cn)}: under 200 ms (server time, warm session)`,
		timeCell(ssw, fmtMs), !ssw.failed && ssw.median < 200, "3");
	target(`loading a folder of ${num(folderN)} migrations (\`migrate-bundle DIR \\| psql\`, end to end): under 5 s`,
		timeCell(folder), !folder.failed && folder.median < 5, "3");
	target("register() of small scripts: over 10,000 per second (one transaction)",
		`${num(smallN / small.median)} per second`, !small.failed && smallN / small.median > 10000, "3");
}

// ---------------------------------------------------------------- 4. resources
let s4 = "";
const s4p = (s = "") => { s4 += s + "\n"; };
{
	const memFor = (c, m) => sel("resources", `mem_${m}`, c)[0];
	const memN = memFor("migrate", "wall_ms")?.n;
	s4p(`**Backend memory across one run of ${num(memN)} data-only migrations** (each \`INSERT INTO data VALUES (i, 'x')\`). ` +
		"RssAnon is the backend's private resident memory (`/proc/PID/status`, sampled every 100 ms); " +
		"the context total is the \"Grand total\" of `pg_log_backend_memory_contexts()` (every 200 ms). " +
		"Baseline: the connected backend before the call.");
	s4p();
	s4p("| runner | wall | RssAnon baseline → peak (growth) | memory contexts baseline → peak (growth) |");
	s4p("|---|---|---|---|");
	for (const c of ["migrate", "plr"]) {
		const v = (m) => memFor(c, m)?.value;
		if (memFor(c, "wall_ms") === undefined)
			continue;
		s4p(`| ${c === "migrate" ? "`migrate.run()`" : "PL/pgSQL runner"} | ${fmtMs(v("wall_ms"))} | ` +
			`${fmtBytes(v("baseline_rss_anon"))} → ${fmtBytes(v("peak_rss_anon"))} (${fmtBytes(v("growth_rss_anon"))}) | ` +
			`${fmtBytes(v("baseline_context_total"))} → ${fmtBytes(v("peak_context_total"))} (${fmtBytes(v("growth_context_total"))}) |`);
	}
	s4p();
	for (const c of ["migrate", "plr"]) {
		const memFile = path.join(work, `mem_${c}.json`);
		if (!fs.existsSync(memFile))
			continue;
		const mem = JSON.parse(fs.readFileSync(memFile, "utf8"));
		const wall = mem.summary.wall_ms;
		if (!mem.samples.length)
			continue;
		s4p(`${c === "migrate" ? "`migrate.run()`" : "The PL/pgSQL runner"} as the run goes (RssAnon sampled; context totals at the nearest request):`);
		s4p();
		s4p("| elapsed | RssAnon | memory contexts |");
		s4p("|---|---|---|");
		for (const f of [0.1, 0.25, 0.5, 0.75, 0.95]) {
			const t = f * wall;
			const near = mem.samples.reduce((a, x) => Math.abs(x.t - t) < Math.abs(a.t - t) ? x : a, mem.samples[0]);
			const ctx = mem.contexts.slice(1);
			const nc = ctx.length ? ctx.reduce((a, x) => Math.abs(x.t - t) < Math.abs(a.t - t) ? x : a, ctx[0]) : null;
			s4p(`| ${Math.round(f * 100)}% (${fmtMs(near.t)}) | ${fmtBytes(near.rssAnon)} | ${nc ? `${fmtBytes(nc.total)} (at ${fmtMs(nc.t)})` : "-"} |`);
		}
		s4p();
	}
	const gm = memFor("migrate", "growth_rss_anon");
	const gc = memFor("migrate", "growth_context_total");
	if (gm) {
		const worst = Math.max(gm.value, Number.isFinite(gc?.value) ? gc.value : -Infinity);
		target(`memory flat across ${num(memN)} migrations (growth under 10 MB)`,
			`RssAnon +${fmtBytes(gm.value)}, contexts +${fmtBytes(gc?.value)}`,
			gm.status === "ok" && worst < 10 * 1024 * 1024, "4");
	}

	s4p("**Subtransaction XIDs** consumed by one run of 100 pending migrations (section 1's shape): " +
		"XIDs assigned between two reading transactions, less the run's own (autovacuum paused), and the number of " +
		"distinct XIDs that created the 100 tables (`pg_class.xmin`).");
	s4p();
	s4p("| run | subtransaction XIDs | distinct creating XIDs |");
	s4p("|---|---|---|");
	const XL = { migrate: "`migrate.run()` (default, atomic)", noatomic: "`migrate.run(atomic => false)`", plr: "PL/pgSQL runner" };
	for (const c of ["migrate", "noatomic", "plr"]) {
		const x = sel("resources", "xid_sub", c)[0];
		const d = sel("resources", "xid_distinct_xmin", c)[0];
		if (x)
			s4p(`| ${XL[c]} | ${x.status === "ok" ? num(x.value) : "FAIL"} | ${d ? num(d.value) : "-"} |`);
	}
	s4p();
	const xm = sel("resources", "xid_sub", "migrate")[0];
	if (xm)
		target("a default run uses at most a handful of subtransaction XIDs (100 migrations)",
			`${num(xm.value)}`, xm.status === "ok" && xm.value <= 5, "4");

	const lm = sel("resources", "locks_fail_at", "migrate")[0];
	const lr = sel("resources", "locks_fail_at", "raw")[0];
	if (lm) {
		s4p(`**The lock limit.** One atomic run of ${num(lm.n)} pending migrations of section 1's shape, with ` +
			`max_locks_per_transaction = ${meta.setting_max_locks_per_transaction} and max_connections = ${meta.setting_max_connections}; ` +
			"the same SQL through `psql -1 -f` for comparison.");
		s4p();
		s4p("| run | fails at migration | time to fail |");
		s4p("|---|---|---|");
		const ls = (c) => stats(sel("resources", "locks_seconds", c));
		s4p(`| \`migrate.run()\` | ${lm.status === "ok" ? num(lm.value) : "did not fail"} | ${fmtTime(ls("migrate").median)} |`);
		if (lr)
			s4p(`| raw \`psql -1 -f\` | ${lr.status === "ok" ? num(lr.value) : "did not fail"} | ${fmtTime(ls("raw").median)} |`);
		s4p();
		const errFile = path.join(work, "report_locks_migrate.txt");
		if (fs.existsSync(errFile)) {
			s4p("What `migrate.run()` tells the user then:");
			s4p();
			s4p("```");
			s4p(fs.readFileSync(errFile, "utf8").trim().split("\n").slice(0, 12).join("\n"));
			s4p("```");
			s4p();
		}
		const rawFile = path.join(work, "report_locks_raw.txt");
		if (fs.existsSync(rawFile)) {
			s4p("and raw `psql -1 -f`:");
			s4p();
			s4p("```");
			s4p(fs.readFileSync(rawFile, "utf8").trim().split("\n").slice(0, 6).join("\n")
				.replace(/psql:\/\S+\/raw\.sql/g, "psql:raw.sql"));
			s4p("```");
			s4p();
		}
	}
}

// ---------------------------------------------------------------- 5. concurrency
let s5 = "";
const s5p = (s = "") => { s5 += s + "\n"; };
{
	const ks = [...new Set(sel("concurrency", "wall").map((r) => r.n))].sort((a, b) => a - b);
	const many = ks[ks.length - 1];
	const appliedN = sel("concurrency", "applied", "migrate", 1)[0]?.value;
	s5p(`${many} clients connect first, then all send the call at once; wall time from the first send to the last answer ` +
		`(\`bench/conc.mjs\`, node-postgres). ${num(appliedN)} pending migrations of section 1's shape, a fresh database per run. ` +
		"Exactly once: the rows (or counts) returned add up to the number of migrations, the history holds each once, and the tables exist.");
	s5p();
	s5p("| runner | 1 caller | " + `${many} callers | ${many} callers / 1 caller | exactly once |`);
	s5p("|---|---|---|---|---|");
	const CL = {
		migrate: "`migrate.run()`",
		migrate_warm: "`migrate.run()`, connections warmed first with `migrate.validate()` (diagnostic)",
		migrate_preload: "`migrate.run()`, with `shared_preload_libraries = 'migrate'` (diagnostic, measured last)",
		plr: "PL/pgSQL runner",
	};
	for (const c of ["migrate", "migrate_warm", "migrate_preload", "plr"]) {
		const one = sel("concurrency", "wall", c, 1);
		const lots = sel("concurrency", "wall", c, many);
		if (!one.length)
			continue;
		const ok = [...one, ...lots].every((r) => r.status === "ok");
		s5p(`| ${CL[c]} | ${timeCell(stats(one))} | ${timeCell(stats(lots))} | ` +
			`${ratioCell(pairedRatio(lots, one))} | ${ok ? "yes" : "NO"} |`);
	}
	s5p();
	s5p("The warmed row is not a way to call migrate; it shows how much of the concurrent time is each session's first-call " +
		"set-up (loading the library, looking up the catalog), which the callers do at once on 2 cores while the winner runs. " +
		"The preloaded row is a server setting that removes the largest part of it, the library load.");
	s5p();
	const r = pairedRatio(sel("concurrency", "wall", "migrate", many), sel("concurrency", "wall", "migrate", 1));
	if (r.n)
		target(`${many} concurrent callers: total wall time at most 1.2x a single caller's (exactly once)`,
			ratioCell(r), !r.failed && r.median <= 1.2, "5");
}

// ---------------------------------------------------------------- 7. deploy
// CALL migrate.deploy() (a transaction per migration) against the
// contenders that commit step by step: raw psql -f (a commit per
// statement) and dbmate (a transaction per migration).  Same layout as
// section 1: a table per N with paired ratios, then the cost per migration.
let s7 = "";
const s7p = (s = "") => { s7 += s + "\n"; };
const DEPLOY = ["deploy", "rawf", "dbmate"];
const DLABEL = {
	...LABEL,
	rawf: "raw SQL, `psql -f` (autocommit, a commit per statement: the floor)",
	dbmate: "dbmate `migrate` (a transaction per migration)",
};
const dns = [...new Set(sel("deploy", "wall").map((r) => r.n))].sort((a, b) => a - b);
function deployRatio(a, b, n) {
	return pairedRatio(sel("deploy", "wall", a, n), sel("deploy", "wall", b, n));
}
for (const n of dns) {
	const ref = sel("deploy", "wall", "rawf", n);
	const dep = sel("deploy", "wall", "deploy", n);
	s7p(`### N = ${n}`);
	s7p();
	s7p(`${stats(ref).n} rounds after a warm-up round; each run on a fresh database. Wall time of the whole command.`);
	s7p();
	s7p("| contender | median (min–max) | vs raw `psql -f` | deploy vs it |");
	s7p("|---|---|---|---|");
	for (const c of DEPLOY) {
		const rs = sel("deploy", "wall", c, n);
		if (!rs.length)
			continue;
		const vsRaw = c === "rawf" ? "1" : ratioCell(pairedRatio(rs, ref));
		const dVs = c === "deploy" ? "" : ratioCell(pairedRatio(dep, rs));
		s7p(`| ${DLABEL[c]} | ${timeCell(stats(rs))} | ${vsRaw} | ${dVs} |`);
	}
	s7p();
}
if (dns.length) {
	s7p("### Per migration");
	s7p();
	s7p("Median wall time over N, in ms per migration.");
	s7p();
	s7p(`| contender | ${dns.map((n) => `N = ${n}`).join(" | ")} |`);
	s7p(`|---|${dns.map(() => "---|").join("")}`);
	for (const c of DEPLOY) {
		if (!sel("deploy", "wall", c).length)
			continue;
		const cells = dns.map((n) => {
			const st = stats(sel("deploy", "wall", c, n));
			return st.failed ? "FAIL" : st.n ? num(st.median / n * 1000, 2) : "-";
		});
		s7p(`| ${DLABEL[c]} | ${cells.join(" | ")} |`);
	}
	s7p();
}
for (const n of dns) {
	const r = deployRatio("deploy", "rawf", n);
	target(`CALL migrate.deploy() applying N=${n}: at most 1.10x raw \`psql -f\` (a commit per statement)`,
		ratioCell(r), !r.failed && r.median <= 1.10, "7");
}
for (const n of dns) {
	const r = deployRatio("deploy", "dbmate", n);
	target(`CALL migrate.deploy() applying N=${n}: faster than dbmate (a transaction per migration)`,
		ratioCell(r), !r.failed && r.median < 1.0, "7");
}

// ---------------------------------------------------------------- the page
p("# migrate benchmarks: results");
p();
p(`Written by \`make bench\` (\`bench/run.sh\`${quick ? " with `BENCH_QUICK=1`" : ""}) on ${meta.date}, in ${Math.round(Number(meta.duration_s) / 60)} minutes. ` +
	"What is measured and how to read it: [README.md](README.md). The machines are shared and noisy: compare the ratios, which pair runs of the same round, rather than the seconds across invocations.");
if (quick)
	p("\n**Quick run**: smaller N and fewer repetitions than the targets name; a smoke test, not a result.");
p();
p("## Machine");
p();
p("| | |");
p("|---|---|");
for (const [k, label] of [["cpu", "CPU"], ["cores", "cores"], ["memory", "memory"], ["os", "OS"], ["kernel", "kernel"],
	["disk", "disk (cluster)"], ["postgres", "PostgreSQL"], ["psql", "psql"], ["migrate", "migrate"], ["sqitch", "Sqitch"],
	["dbmate", "dbmate"], ["node_pg_migrate", "node-pg-migrate"], ["mode", "mode"],
	["preload", "section 6: shared_preload_libraries"], ["huge_pages", "section 6: huge pages"]])
	p(`| ${label} | ${meta[k] ?? "-"} |`);
p();
p("Cluster: `scripts/cluster.sh start --durable` (PostgreSQL's defaults), then `max_connections` back to the default 100. Settings: " +
	Object.entries(meta).filter(([k]) => k.startsWith("setting_"))
		.map(([k, v]) => `${k.slice(8)} = ${v}`).join(", ") + ".");
p();
const loads = ["apply", "noop", "catalog", "resources", "concurrency", "settings", "deploy", "end"]
	.filter((k) => meta[`load_${k}`]).map((k) => `${k} ${meta[`load_${k}`]}`);
if (loads.length)
	p(`Load average (1, 5, 15 min) when each section started, on ${meta.cores} cores: ${loads.join("; ")}. ` +
		"Anything well above what the benchmark itself puts there (one or two busy processes) is other work on the machine.");
p();
p("## Targets");
p();
p("| target | measured (median, min–max of paired ratios where a ratio) | verdict | section |");
p("|---|---|---|---|");
for (const t of targets)
	p(`| ${t.text} | ${t.measured} | ${t.verdict === "MISS" ? "**MISS**" : t.verdict} | [${t.where}](#${{ 1: "1-apply-n-pending-migrations", 2: "2-the-no-op-check", 3: "3-the-catalog-at-scale", 4: "4-resources", 5: "5-concurrency", 7: "7-deploy-one-transaction-per-migration" }[t.where]}) |`);
p();
const misses = targets.filter((t) => t.verdict === "MISS").length;
p(`${targets.length - misses} of ${targets.length} targets met. ` +
	(misses ? "The causes of the misses, with profiles: [README.md, Findings](README.md#findings)." : ""));
p();
p("## 1. Apply N pending migrations");
p();
p("Each migration: `CREATE TABLE t_i (id bigint PRIMARY KEY, v text); INSERT INTO t_i VALUES (1, 'x'); CREATE INDEX t_i_v ON t_i (v);` " +
	"(with its down). After every run the script checks that exactly N tables `t_i` and N indexes `t_i_v` exist; a run that fails it shows FAIL. " +
	"Ratios are per round (both runs in the same round), median (min–max); below 1 means the first is faster. " +
	"\"migrate.run() vs it\" is migrate.run()'s time over that contender's.");
p();
p(s1);
p("Commands (`$WORK/apply/N` holds the generated files, `bench/gen.mjs`; each run's database is `a_<contender>_<N>_<round>`, cloned before timing from a template where that contender's own bookkeeping already exists):");
p();
p(commandTable("apply", LABEL));
p();
p("## 2. The no-op check");
p();
p(s2);
p(commandTable("noop", LABEL));
p();
p("## 3. The catalog at scale");
p();
p(s3);
p(commandTable("catalog", {
	register_small: "register, small scripts, one transaction",
	register_values: "register, small scripts, one statement (diagnostic)",
	register_autocommit: "register, small scripts, a transaction each",
	register_big: "register, 1 MiB scripts",
	register_folder: "a folder loaded with migrate-bundle",
	register_catalog: "registering the big catalog",
	baseline: "marking it applied",
	status_wall: "status(), whole psql",
	noop_wall: "no-op run(), whole psql",
	status_server: "status(), server time (cold: one per session; warm: repeated in one session)",
	noop_server: "no-op run(), server time (cold / warm as above)",
	status_server_preload: "status(), server time, cold, after a restart with shared_preload_libraries = 'migrate'",
	noop_server_preload: "no-op run(), server time, cold, after a restart with shared_preload_libraries = 'migrate'",
	status_server_hugepages: "status(), server time, cold, after a restart with huge pages reserved (vm.nr_hugepages) as well",
	noop_server_hugepages: "no-op run(), server time, cold, after a restart with huge pages reserved as well",
}));
p();
p("## 4. Resources");
p();
p(s4);
p(commandTable("resources", {
	memory_migrate: "memory, migrate.run()",
	memory_plr: "memory, PL/pgSQL runner",
	xid_migrate: "XIDs, migrate.run()",
	xid_noatomic: "XIDs, migrate.run(atomic => false)",
	xid_plr: "XIDs, PL/pgSQL runner",
	locks_migrate: "lock limit, migrate.run()",
	locks_raw: "lock limit, raw psql -1 -f",
}));
p();
p("## 5. Concurrency");
p();
p(s5);
p(commandTable("concurrency", Object.fromEntries(
	commands.filter((c) => c[0] === "concurrency").map(([, id]) => {
		const [who, k] = [id.slice(0, id.lastIndexOf("_")), id.slice(id.lastIndexOf("_") + 1)];
		return [id, `${{ migrate: "migrate.run()", migrate_warm: "migrate.run(), warmed", migrate_preload: "migrate.run(), library preloaded", plr: "PL/pgSQL runner" }[who] ?? who}, ${k} caller${k === "1" ? "" : "s"}`];
	}))));
if (dns.length) {
	p();
	p("## 7. Deploy: one transaction per migration");
	p();
	p("`CALL migrate.deploy()` applies the pending migrations as `migrate.run()` does, but in a transaction each: " +
		"one commit per migration publishes its result (and the next one's start), plus one before the first; " +
		"against the contenders that also commit step by step. " +
		"Section 1's migrations and checks; deploy's databases are registered before timing, as run()'s are, and every migration " +
		"must also show as applied in `migrate.status()`. Ratios are per round, median (min–max); below 1 means the first is faster. " +
		"\"deploy vs it\" is deploy's time over that contender's. Measured after section 6, on PostgreSQL's defaults again.");
	p();
	p(s7);
	p("Commands (the files of section 1; each run's database is `d_<contender>_<N>_<round>`, cloned before timing from that contender's template):");
	p();
	p(commandTable("deploy", DLABEL));
}

fs.writeFileSync(outFile, md);
