#!/usr/bin/env node
//
// gen.mjs
//	Writes the migrations of one benchmark case in the shape each
//	contender reads them.  Used by bench/run.sh; see bench/README.md.
//
// Usage:
//	node gen.mjs apply DIR N	the apply benchmark's N migrations, as:
//		DIR/raw.sql		the concatenated SQL (psql -f, psql -1 -f)
//		DIR/migrate_register.sql	N migrate.register() calls
//		DIR/migrate_bundle.sql	the same plus SELECT * FROM migrate.run()
//		DIR/plr_load.sql	N rows for the PL/pgSQL runner's table
//		DIR/dbmate/		dbmate files (000000_init.sql + N)
//		DIR/npm/		node-pg-migrate SQL files (000000_init.sql + N)
//		DIR/sqitch/		a Sqitch project (change t_000000 + N)
//	node gen.mjs register DIR N	the same N migrations as register calls only
//		DIR/migrate_register.sql	one statement per call
//		DIR/migrate_register_values.sql	one statement for all: SELECT
//			migrate.register(...) FROM (VALUES ...), a diagnostic that
//			leaves out the client round trip of each statement
//	node gen.mjs folder DIR N	the same N migrations as a folder in
//		migrate's own layout, for migrate-bundle:
//		DIR/folder/NNNNNN_create_t_i.up.sql and .down.sql
//	node gen.mjs data DIR N		N data-only migrations (one INSERT each)
//		DIR/migrate_register.sql, DIR/plr_load.sql
//	node gen.mjs big DIR N KB	N migrations of about KB kilobytes each
//		(INSERT statements), as DIR/migrate_register.sql
//	node gen.mjs init DIR		the "init" migration alone, which the
//		peers' template databases have applied (dbmate/, npm/, sqitch/)
//
// Every migration i (from 1) of the apply benchmark is
//	CREATE TABLE t_i (id bigint PRIMARY KEY, v text);
//	INSERT INTO t_i VALUES (1, 'x');
//	CREATE INDEX t_i_v ON t_i (v);
// with the down script DROP TABLE t_i.  Versions are six digits, zero
// padded, so that every tool orders them the same way.

import fs from "node:fs";
import path from "node:path";

const [, , kind, dir, nArg, kbArg] = process.argv;
const n = Number(nArg ?? 0);

function version(i) {
	return String(i).padStart(6, "0");
}

function up(i) {
	return `CREATE TABLE t_${i} (id bigint PRIMARY KEY, v text); ` +
		`INSERT INTO t_${i} VALUES (1, 'x'); ` +
		`CREATE INDEX t_${i}_v ON t_${i} (v);`;
}

function down(i) {
	return `DROP TABLE t_${i};`;
}

// A dollar-quoted SQL literal.
function lit(s) {
	if (s.includes("$m$"))
		throw new Error("script contains $m$");
	return `$m$${s}$m$`;
}

function write(file, text) {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, text);
}

function registerCall(v, name, upSql, downSql) {
	return `SELECT migrate.register(${lit(v)}, ${lit(name)}, up => ${lit(upSql)}` +
		(downSql ? `, down => ${lit(downSql)}` : "") + ");\n";
}

function plrRow(v, name, upSql, downSql) {
	return `(${lit(v)}, ${lit(name)}, ${lit(upSql)}, ${downSql ? lit(downSql) : "NULL"})`;
}

// A Sqitch plan line; the same text gives the same change id, so the
// template database (which deployed only t_000000) matches every plan.
function sqitchPlanLine(i) {
	return `t_${version(i)} 2024-01-01T00:00:00Z Bench <bench@example.invalid> # migration ${i}\n`;
}

const INIT_SQL = "SELECT 1;";

function writePeers(out, count) {
	const sqitchConf = "[core]\n\tengine = pg\n\ttop_dir = .\n" +
		"[deploy]\n\tverify = false\n";
	let plan = "%syntax-version=1.0.0\n%project=bench\n\n" + sqitchPlanLine(0);

	write(path.join(out, "dbmate", `${version(0)}_init.sql`),
		`-- migrate:up\n${INIT_SQL}\n\n-- migrate:down\n${INIT_SQL}\n`);
	write(path.join(out, "npm", `${version(0)}_init.sql`),
		`-- Up Migration\n${INIT_SQL}\n\n-- Down Migration\n${INIT_SQL}\n`);
	write(path.join(out, "sqitch", "deploy", `t_${version(0)}.sql`),
		`BEGIN;\n${INIT_SQL}\nCOMMIT;\n`);
	write(path.join(out, "sqitch", "revert", `t_${version(0)}.sql`),
		`BEGIN;\n${INIT_SQL}\nCOMMIT;\n`);
	for (let i = 1; i <= count; i++) {
		const v = version(i);

		write(path.join(out, "dbmate", `${v}_t_${i}.sql`),
			`-- migrate:up\n${up(i)}\n\n-- migrate:down\n${down(i)}\n`);
		write(path.join(out, "npm", `${v}_t_${i}.sql`),
			`-- Up Migration\n${up(i)}\n\n-- Down Migration\n${down(i)}\n`);
		// Sqitch runs each script with psql as it is: the script owns
		// its transaction, as "sqitch add" templates write it.
		write(path.join(out, "sqitch", "deploy", `t_${v}.sql`),
			`BEGIN;\n${up(i)}\nCOMMIT;\n`);
		write(path.join(out, "sqitch", "revert", `t_${v}.sql`),
			`BEGIN;\n${down(i)}\nCOMMIT;\n`);
		plan += sqitchPlanLine(i);
	}
	write(path.join(out, "sqitch", "sqitch.conf"), sqitchConf);
	write(path.join(out, "sqitch", "sqitch.plan"), plan);
}

function genApply(out, count) {
	let raw = "";
	let reg = "";
	const rows = [];

	for (let i = 1; i <= count; i++) {
		raw += up(i) + "\n";
		reg += registerCall(version(i), `create t_${i}`, up(i), down(i));
		rows.push(plrRow(version(i), `create t_${i}`, up(i), down(i)));
	}
	write(path.join(out, "raw.sql"), raw);
	write(path.join(out, "migrate_register.sql"), reg);
	write(path.join(out, "migrate_bundle.sql"),
		reg + "SELECT * FROM migrate.run();\n");
	write(path.join(out, "plr_load.sql"), plrLoad(rows));
	writePeers(out, count);
}

function plrLoad(rows) {
	let sql = "";

	// in chunks, so that no single statement gets huge
	for (let i = 0; i < rows.length; i += 1000)
		sql += "INSERT INTO plr.migration (version, name, up, down) VALUES\n" +
			rows.slice(i, i + 1000).join(",\n") + ";\n";
	return sql;
}

function genRegister(out, count) {
	const parts = [];
	const rows = [];

	for (let i = 1; i <= count; i++) {
		parts.push(registerCall(version(i), `create t_${i}`, up(i), down(i)));
		rows.push(plrRow(version(i), `create t_${i}`, up(i), down(i)));
	}
	write(path.join(out, "migrate_register.sql"), parts.join(""));
	write(path.join(out, "migrate_register_values.sql"),
		"SELECT count(migrate.register(v, n, up => u, down => d)) FROM (VALUES\n" +
		rows.join(",\n") + "\n) AS b(v, n, u, d);\n");
}

function genFolder(out, count) {
	for (let i = 1; i <= count; i++) {
		const base = path.join(out, "folder", `${version(i)}_create_t_${i}`);

		write(`${base}.up.sql`, up(i) + "\n");
		write(`${base}.down.sql`, down(i) + "\n");
	}
}

function genData(out, count) {
	let reg = "";
	const rows = [];

	for (let i = 1; i <= count; i++) {
		const sql = `INSERT INTO data VALUES (${i}, 'x');`;

		reg += registerCall(version(i), `data ${i}`, sql,
			`DELETE FROM data WHERE id = ${i};`);
		rows.push(plrRow(version(i), `data ${i}`, sql, null));
	}
	write(path.join(out, "migrate_register.sql"), reg);
	write(path.join(out, "plr_load.sql"), plrLoad(rows));
}

function genBig(out, count, kb) {
	let reg = "";
	const filler = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(2);

	for (let i = 1; i <= count; i++) {
		const parts = [];
		let size = 0;

		for (let r = 1; size < kb * 1024; r++) {
			const stmt = `INSERT INTO seed_${i} (id, v) VALUES (${r}, '${filler}');\n`;

			parts.push(stmt);
			size += stmt.length;
		}
		reg += registerCall(version(i), `seed ${i}`,
			`CREATE TABLE seed_${i} (id bigint PRIMARY KEY, v text);\n` +
			parts.join(""), `DROP TABLE seed_${i};`);
	}
	write(path.join(out, "migrate_register.sql"), reg);
}

switch (kind) {
	case "apply":
		genApply(dir, n);
		break;
	case "register":
		genRegister(dir, n);
		break;
	case "folder":
		genFolder(dir, n);
		break;
	case "data":
		genData(dir, n);
		break;
	case "big":
		genBig(dir, n, Number(kbArg));
		break;
	case "init":
		writePeers(dir, 0);
		break;
	default:
		console.error("usage: gen.mjs {apply DIR N | register DIR N | folder DIR N | data DIR N | big DIR N KB | init DIR}");
		process.exit(2);
}
