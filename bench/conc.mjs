#!/usr/bin/env node
//
// conc.mjs
//	Concurrent callers for bench/run.sh (section 5): opens CLIENTS
//	connections to DB first, then sends SQL on all of them at once and
//	waits for every answer.  Prints one JSON line: the wall time from the
//	first send to the last answer, and per client the number of rows and
//	the first column of the first row.
//
// Usage: node conc.mjs DB CLIENTS SQL [WARM_SQL]
// The connection comes from PGHOST, PGPORT and PGUSER.  NOTICEs are
// dropped (migrate.run() sends one per migration).  WARM_SQL, if given,
// runs on every connection before the timing starts (a diagnostic: it
// takes the per-session start-up costs out of the measurement).

import pg from "pg";

const [, , db, clientsArg, sql, warmSql] = process.argv;
const count = Number(clientsArg);
const clients = [];

for (let i = 0; i < count; i++) {
	const c = new pg.Client({ database: db, application_name: `bench_conc_${i}` });

	c.on("notice", () => {});
	clients.push(c);
}
await Promise.all(clients.map((c) => c.connect()));
if (warmSql)
	await Promise.all(clients.map((c) => c.query(warmSql)));

const t0 = performance.now();
const settled = await Promise.allSettled(clients.map((c) => c.query(sql)));
const wallMs = performance.now() - t0;

await Promise.all(clients.map((c) => c.end()));

const out = { wall_ms: wallMs, rows: [], first: [], errors: [] };
for (const s of settled) {
	if (s.status === "fulfilled") {
		const r = s.value;

		out.rows.push(r.rowCount);
		out.first.push(r.rows.length ? Object.values(r.rows[0])[0] : null);
	} else {
		out.errors.push(String(s.reason?.message ?? s.reason));
	}
}
console.log(JSON.stringify(out));
process.exit(out.errors.length ? 1 : 0);
