/**
 * The pg_catalog and information_schema relations ExoDB serves, with PostgreSQL 15's column
 * names, order and types (so clients' column numbers and type checks match). Rows come from the
 * catalog model (catalog_model.ts). Relations ExoDB has nothing for (policies, publications,
 * inheritance, extended statistics, descriptions) exist and are empty, as in a fresh PostgreSQL.
 */
import { TypeId } from "../dbengine/types.ts";
import {
  accessMethodOid,
  attrdefOid,
  builtinTypeEntries,
  type CatalogModel,
  collationOid,
  databaseOid,
  namespaceName,
  namespaceOid,
  type RelationEntry,
  roleOid,
} from "./catalog_model.ts";
import {
  columnTypeOid,
  defaultExpression,
  indexDefinition,
  settingDisplayNames,
} from "./catalog_functions.ts";
import type { SessionView } from "./functions.ts";
import { formatType } from "./reg_types.ts";
import { arrayOf, type SqlType, t, typeLength, typeOid } from "./sql_types.ts";
import { defineSystemRelation, type SystemRow } from "./system_catalog.ts";

const c = t.charByte;
const int2v = arrayOf(t.int2);
const oidv = arrayOf(t.oid);
const textv = arrayOf(t.text);
const xid = t.oid;

function table(
  name: string,
  oid: number,
  columns: [string, SqlType][],
  rows: (view: SessionView, model: CatalogModel) => SystemRow[] = () => [],
  kind: "r" | "v" = "r",
): void {
  defineSystemRelation({ schema: "pg_catalog", name, oid, kind, columns, rows });
}

/** A relation's attributes as (name, type oid, typmod, length, notNull) — dropped included. */
function attributes(relation: RelationEntry) {
  if (relation.systemColumns !== undefined) {
    return relation.systemColumns.map((column, i) => ({
      name: column.name,
      typeOid: typeOid(column.type),
      typmod: column.type.typmod,
      length: typeLength(column.type),
      notNull: false,
      dropped: false,
      hasDefault: false,
      identity: "",
      attnum: i + 1,
    }));
  }
  const def = relation.table!;
  if (relation.kind === "r") {
    return def.columns.map((column, i) => {
      const type = { id: column.type.id, typmod: column.type.typmod } as SqlType;
      return {
        name: column.dropped ? `........pg.dropped.${i + 1}........` : column.name,
        typeOid: column.dropped ? 0 : typeOid(type),
        typmod: column.type.typmod,
        length: typeLength(type),
        notNull: column.notNull || def.primaryKey.includes(i),
        dropped: column.dropped,
        hasDefault: column.defaultSql !== null || column.serial === true,
        identity: column.serial === true
          ? ""
          : column.identity === "always"
          ? "a"
          : column.identity === "by default"
          ? "d"
          : "",
        attnum: i + 1,
      };
    });
  }
  if (relation.kind === "i") {
    return relation.index!.columns.map((key, i) => {
      const column = def.columns[key.column]!;
      const type = { id: column.type.id, typmod: column.type.typmod } as SqlType;
      return {
        name: column.name,
        typeOid: typeOid(type),
        typmod: column.type.typmod,
        length: typeLength(type),
        notNull: false,
        dropped: false,
        hasDefault: false,
        identity: "",
        attnum: i + 1,
      };
    });
  }
  return [];
}

const collatable = new Set([25, 1042, 1043]);

table(
  "pg_namespace",
  2615,
  [
    ["oid", t.oid],
    ["nspname", t.name],
    ["nspowner", t.oid],
    ["nspacl", textv],
  ],
  (_view, model) =>
    model.namespaces.map((n) => ({
      oid: n.oid,
      nspname: n.name,
      nspowner: n.owner,
      nspacl: n.acl,
    })),
);

table("pg_class", 1259, [
  ["oid", t.oid],
  ["relname", t.name],
  ["relnamespace", t.oid],
  ["reltype", t.oid],
  ["reloftype", t.oid],
  ["relowner", t.oid],
  ["relam", t.oid],
  ["relfilenode", t.oid],
  ["reltablespace", t.oid],
  ["relpages", t.int4],
  ["reltuples", t.float4],
  ["relallvisible", t.int4],
  ["reltoastrelid", t.oid],
  ["relhasindex", t.bool],
  ["relisshared", t.bool],
  ["relpersistence", c],
  ["relkind", c],
  ["relnatts", t.int2],
  ["relchecks", t.int2],
  ["relhasrules", t.bool],
  ["relhastriggers", t.bool],
  ["relhassubclass", t.bool],
  ["relrowsecurity", t.bool],
  ["relforcerowsecurity", t.bool],
  ["relispopulated", t.bool],
  ["relreplident", c],
  ["relispartition", t.bool],
  ["relrewrite", t.oid],
  ["relfrozenxid", xid],
  ["relminmxid", xid],
  ["relacl", textv],
  ["reloptions", textv],
  ["relpartbound", t.text],
], (view, model) =>
  model.relations.map((r) => {
    const def = r.table;
    const isTable = r.kind === "r";
    // Row counts are known once ANALYZE (or VACUUM ANALYZE) ran; until then -1, as in PostgreSQL.
    const analyzed = isTable && def !== undefined
      ? view.catalog.statistics(def.name, view.txn, view.snapshot)
      : null;
    return {
      oid: r.oid,
      relname: r.name,
      relnamespace: r.namespace,
      relowner: roleOid.bootstrap,
      relam: r.kind === "i" ? accessMethodOid.btree : isTable ? accessMethodOid.heap : 0,
      relfilenode: r.systemColumns === undefined ? r.oid : 0,
      reltuples: analyzed?.rowCount ?? -1,
      relhasindex: isTable && def !== undefined &&
        (def.primaryKey.length > 0 || def.indexes.length > 0),
      relpersistence: "p",
      relkind: r.kind,
      relnatts: r.systemColumns?.length ??
        (isTable ? def!.columns.length : r.index?.columns.length ?? 3),
      relchecks: isTable && def !== undefined ? def.checks.length : 0,
      relispopulated: true,
      relreplident: isTable ? "d" : "n",
    };
  }));

table("pg_attribute", 1249, [
  ["attrelid", t.oid],
  ["attname", t.name],
  ["atttypid", t.oid],
  ["attstattarget", t.int4],
  ["attlen", t.int2],
  ["attnum", t.int2],
  ["attndims", t.int4],
  ["attcacheoff", t.int4],
  ["atttypmod", t.int4],
  ["attbyval", t.bool],
  ["attalign", c],
  ["attstorage", c],
  ["attcompression", c],
  ["attnotnull", t.bool],
  ["atthasdef", t.bool],
  ["atthasmissing", t.bool],
  ["attidentity", c],
  ["attgenerated", c],
  ["attisdropped", t.bool],
  ["attislocal", t.bool],
  ["attinhcount", t.int4],
  ["attcollation", t.oid],
  ["attacl", textv],
  ["attoptions", textv],
  ["attfdwoptions", textv],
  ["attmissingval", textv],
], (_view, model) => {
  const out: SystemRow[] = [];
  for (const relation of model.relations) {
    for (const a of attributes(relation)) {
      const type = model.typesByOid.get(a.typeOid);
      out.push({
        attrelid: relation.oid,
        attname: a.name,
        atttypid: a.typeOid,
        attstattarget: -1,
        attlen: a.length,
        attnum: a.attnum,
        attndims: type?.category === "A" ? 1 : 0,
        attcacheoff: -1,
        atttypmod: a.typmod,
        attbyval: type?.byValue ?? false,
        attalign: type?.align ?? "i",
        attstorage: type?.storage ?? "p",
        attcompression: "",
        attnotnull: a.notNull,
        atthasdef: a.hasDefault,
        attidentity: a.identity,
        attgenerated: "",
        attisdropped: a.dropped,
        attislocal: true,
        attcollation: collatable.has(a.typeOid) ? collationOid.default : 0,
      });
    }
  }
  return out;
});

table("pg_attrdef", 2604, [
  ["oid", t.oid],
  ["adrelid", t.oid],
  ["adnum", t.int2],
  ["adbin", t.text],
], (_view, model) => {
  const out: SystemRow[] = [];
  for (const r of model.relations) {
    if (r.kind !== "r" || r.table === undefined) continue;
    r.table.columns.forEach((column, i) => {
      if ((column.defaultSql === null && column.serial !== true) || column.dropped) return;
      // adbin refers back to the live default; pg_get_expr prints it.
      out.push({
        oid: attrdefOid(r.table!, i),
        adrelid: r.oid,
        adnum: i + 1,
        adbin: `default:${i + 1}`,
      });
    });
  }
  return out;
});

table("pg_type", 1247, [
  ["oid", t.oid],
  ["typname", t.name],
  ["typnamespace", t.oid],
  ["typowner", t.oid],
  ["typlen", t.int2],
  ["typbyval", t.bool],
  ["typtype", c],
  ["typcategory", c],
  ["typispreferred", t.bool],
  ["typisdefined", t.bool],
  ["typdelim", c],
  ["typrelid", t.oid],
  ["typsubscript", t.regproc],
  ["typelem", t.oid],
  ["typarray", t.oid],
  ["typinput", t.regproc],
  ["typoutput", t.regproc],
  ["typreceive", t.regproc],
  ["typsend", t.regproc],
  ["typmodin", t.regproc],
  ["typmodout", t.regproc],
  ["typanalyze", t.regproc],
  ["typalign", c],
  ["typstorage", c],
  ["typnotnull", t.bool],
  ["typbasetype", t.oid],
  ["typtypmod", t.int4],
  ["typndims", t.int4],
  ["typcollation", t.oid],
  ["typdefaultbin", t.text],
  ["typdefault", t.text],
  ["typacl", textv],
], () =>
  builtinTypeEntries().map((type) => {
    const io = type.io;
    const modifiers = type.oid === 1042
      ? "bpchar"
      : type.oid === 1043
      ? "varchar"
      : type.oid === 1700
      ? "numeric"
      : type.oid === 1114 || type.oid === 1184
      ? type.name
      : "";
    return {
      oid: type.oid,
      typname: type.name,
      typnamespace: namespaceOid.pgCatalog,
      typowner: roleOid.bootstrap,
      typlen: type.length,
      typbyval: type.byValue,
      typtype: type.type,
      typcategory: type.category,
      typispreferred: type.preferred,
      typisdefined: true,
      typdelim: ",",
      typsubscript: type.category === "A" ? "array_subscript_handler" : "-",
      typelem: type.element,
      typarray: type.array,
      typinput: `${io}in`,
      typoutput: `${io}out`,
      typreceive: `${io}recv`,
      typsend: `${io}send`,
      typmodin: modifiers === "" ? "-" : `${modifiers}typmodin`,
      typmodout: modifiers === "" ? "-" : `${modifiers}typmodout`,
      typanalyze: type.category === "A" ? "array_typanalyze" : "-",
      typalign: type.align,
      typstorage: type.storage,
      typtypmod: -1,
      typcollation: type.collation,
    };
  }));

table(
  "pg_index",
  2610,
  [
    ["indexrelid", t.oid],
    ["indrelid", t.oid],
    ["indnatts", t.int2],
    ["indnkeyatts", t.int2],
    ["indisunique", t.bool],
    ["indnullsnotdistinct", t.bool],
    ["indisprimary", t.bool],
    ["indisexclusion", t.bool],
    ["indimmediate", t.bool],
    ["indisclustered", t.bool],
    ["indisvalid", t.bool],
    ["indcheckxmin", t.bool],
    ["indisready", t.bool],
    ["indislive", t.bool],
    ["indisreplident", t.bool],
    ["indkey", int2v],
    ["indcollation", oidv],
    ["indclass", oidv],
    ["indoption", int2v],
    ["indexprs", t.text],
    ["indpred", t.text],
  ],
  (_view, model) =>
    model.relations.filter((r) => r.kind === "i" && r.index !== undefined).map((r) => {
      const index = r.index!;
      const def = r.table!;
      return {
        indexrelid: r.oid,
        indrelid: def.id,
        indnatts: index.columns.length,
        indnkeyatts: index.columns.length,
        indisunique: index.unique,
        indisprimary: index.primary,
        indimmediate: true,
        indisvalid: true,
        indisready: true,
        indislive: true,
        indkey: index.columns.map((k) => k.column + 1),
        indcollation: index.columns.map((k) =>
          collatable.has(columnTypeOid(def, k.column)) ? collationOid.default : 0
        ),
        indclass: index.columns.map(() => 0),
        indoption: index.columns.map((k) => (k.descending ? 3 : 0)),
      };
    }),
);

table("pg_constraint", 2606, [
  ["oid", t.oid],
  ["conname", t.name],
  ["connamespace", t.oid],
  ["contype", c],
  ["condeferrable", t.bool],
  ["condeferred", t.bool],
  ["convalidated", t.bool],
  ["conrelid", t.oid],
  ["contypid", t.oid],
  ["conindid", t.oid],
  ["conparentid", t.oid],
  ["confrelid", t.oid],
  ["confupdtype", c],
  ["confdeltype", c],
  ["confmatchtype", c],
  ["conislocal", t.bool],
  ["coninhcount", t.int4],
  ["connoinherit", t.bool],
  ["conkey", int2v],
  ["confkey", int2v],
  ["conpfeqop", oidv],
  ["conppeqop", oidv],
  ["conffeqop", oidv],
  ["confdelsetcols", int2v],
  ["conexclop", oidv],
  ["conbin", t.text],
], (_view, model) =>
  model.constraints.map((k) => ({
    oid: k.oid,
    conname: k.name,
    connamespace: namespaceOid.public,
    contype: k.kind,
    convalidated: true,
    conrelid: k.table.id,
    conindid: k.indexOid,
    confupdtype: " ",
    confdeltype: " ",
    confmatchtype: " ",
    conislocal: true,
    connoinherit: false,
    conkey: k.kind === "c" ? null : k.columns.map((p) => p + 1),
    conbin: k.checkSql ?? null,
  })));

table("pg_am", 2601, [
  ["oid", t.oid],
  ["amname", t.name],
  ["amhandler", t.regproc],
  ["amtype", c],
], () => [
  { oid: accessMethodOid.heap, amname: "heap", amhandler: "heap_tableam_handler", amtype: "t" },
  { oid: accessMethodOid.btree, amname: "btree", amhandler: "bthandler", amtype: "i" },
]);

table("pg_collation", 3456, [
  ["oid", t.oid],
  ["collname", t.name],
  ["collnamespace", t.oid],
  ["collowner", t.oid],
  ["collprovider", c],
  ["collisdeterministic", t.bool],
  ["collencoding", t.int4],
  ["collcollate", t.text],
  ["collctype", t.text],
  ["colliculocale", t.text],
  ["collversion", t.text],
], () =>
  ([
    [collationOid.default, "default", "d", -1, null],
    [collationOid.c, "C", "c", -1, "C"],
    [collationOid.posix, "POSIX", "c", -1, "POSIX"],
  ] as [number, string, string, number, string | null][]).map((
    [oid, name, provider, encoding, locale],
  ) => ({
    oid,
    collname: name,
    collnamespace: namespaceOid.pgCatalog,
    collowner: roleOid.bootstrap,
    collprovider: provider,
    collisdeterministic: true,
    collencoding: encoding,
    collcollate: locale,
    collctype: locale,
  })));

table("pg_database", 1262, [
  ["oid", t.oid],
  ["datname", t.name],
  ["datdba", t.oid],
  ["encoding", t.int4],
  ["datlocprovider", c],
  ["datistemplate", t.bool],
  ["datallowconn", t.bool],
  ["datconnlimit", t.int4],
  ["datfrozenxid", xid],
  ["datminmxid", xid],
  ["dattablespace", t.oid],
  ["datcollate", t.text],
  ["datctype", t.text],
  ["daticulocale", t.text],
  ["datcollversion", t.text],
  ["datacl", textv],
], (view) => [{
  oid: databaseOid,
  datname: view.database,
  datdba: roleOid.bootstrap,
  encoding: 6,
  datlocprovider: "c",
  datallowconn: true,
  datconnlimit: -1,
  dattablespace: 1663,
  datcollate: view.settings.get("lc_collate") ?? "C",
  datctype: view.settings.get("lc_ctype") ?? "C",
}]);

table("pg_tablespace", 1213, [
  ["oid", t.oid],
  ["spcname", t.name],
  ["spcowner", t.oid],
  ["spcacl", textv],
  ["spcoptions", textv],
], () => [
  // Everything lives on the one disk image: the default tablespace.
  { oid: 1663, spcname: "pg_default", spcowner: roleOid.bootstrap },
  { oid: 1664, spcname: "pg_global", spcowner: roleOid.bootstrap },
]);

const roleColumns: [string, SqlType][] = [
  ["rolname", t.name],
  ["rolsuper", t.bool],
  ["rolinherit", t.bool],
  ["rolcreaterole", t.bool],
  ["rolcreatedb", t.bool],
  ["rolcanlogin", t.bool],
  ["rolreplication", t.bool],
  ["rolconnlimit", t.int4],
  ["rolpassword", t.text],
  ["rolvaliduntil", t.timestamptz],
  ["rolbypassrls", t.bool],
  ["rolconfig", textv],
  ["oid", t.oid],
];

function roleRows(model: CatalogModel, password: string | null): SystemRow[] {
  return model.roles.map((r) => ({
    oid: r.oid,
    rolname: r.name,
    rolsuper: r.superuser,
    rolinherit: true,
    rolcreaterole: r.superuser,
    rolcreatedb: r.superuser,
    rolcanlogin: r.login,
    rolreplication: r.superuser,
    rolbypassrls: r.superuser,
    rolconnlimit: -1,
    rolpassword: password,
  }));
}

const authidOrder = [
  "rolname",
  "rolsuper",
  "rolinherit",
  "rolcreaterole",
  "rolcreatedb",
  "rolcanlogin",
  "rolreplication",
  "rolbypassrls",
  "rolconnlimit",
  "rolpassword",
  "rolvaliduntil",
];
table("pg_roles", 12000, roleColumns, (_view, model) => roleRows(model, "********"), "v");
table("pg_authid", 1260, [
  ["oid", t.oid],
  ...roleColumns.filter(([name]) => name !== "oid" && name !== "rolconfig")
    .sort((a, b) => authidOrder.indexOf(a[0]) - authidOrder.indexOf(b[0])),
], (_view, model) => roleRows(model, null));
table("pg_user", 12010, [
  ["usename", t.name],
  ["usesysid", t.oid],
  ["usecreatedb", t.bool],
  ["usesuper", t.bool],
  ["userepl", t.bool],
  ["usebypassrls", t.bool],
  ["passwd", t.text],
  ["valuntil", t.timestamptz],
  ["useconfig", textv],
], (_view, model) =>
  model.roles.filter((r) => r.login).map((r) => ({
    usename: r.name,
    usesysid: r.oid,
    usecreatedb: r.superuser,
    usesuper: r.superuser,
    userepl: r.superuser,
    usebypassrls: r.superuser,
    passwd: "********",
  })), "v");
table("pg_auth_members", 1261, [
  ["roleid", t.oid],
  ["member", t.oid],
  ["grantor", t.oid],
  ["admin_option", t.bool],
]);

// Relations ExoDB has nothing for: present and empty.
table("pg_description", 2609, [
  ["objoid", t.oid],
  ["classoid", t.oid],
  ["objsubid", t.int4],
  ["description", t.text],
], (_view, model) => model.descriptions);
table("pg_inherits", 2611, [
  ["inhrelid", t.oid],
  ["inhparent", t.oid],
  ["inhseqno", t.int4],
  ["inhdetachpending", t.bool],
]);
table("pg_policy", 3256, [
  ["oid", t.oid],
  ["polname", t.name],
  ["polrelid", t.oid],
  ["polcmd", c],
  ["polpermissive", t.bool],
  ["polroles", oidv],
  ["polqual", t.text],
  ["polwithcheck", t.text],
]);
table("pg_statistic_ext", 3381, [
  ["oid", t.oid],
  ["stxrelid", t.oid],
  ["stxname", t.name],
  ["stxnamespace", t.oid],
  ["stxowner", t.oid],
  ["stxstattarget", t.int4],
  ["stxkeys", int2v],
  ["stxkind", arrayOf(c)],
  ["stxexprs", t.text],
]);
table("pg_publication", 6104, [
  ["oid", t.oid],
  ["pubname", t.name],
  ["pubowner", t.oid],
  ["puballtables", t.bool],
  ["pubinsert", t.bool],
  ["pubupdate", t.bool],
  ["pubdelete", t.bool],
  ["pubtruncate", t.bool],
  ["pubviaroot", t.bool],
]);
table("pg_publication_namespace", 6237, [
  ["oid", t.oid],
  ["pnpubid", t.oid],
  ["pnnspid", t.oid],
]);
table("pg_publication_rel", 6106, [
  ["oid", t.oid],
  ["prpubid", t.oid],
  ["prrelid", t.oid],
  ["prqual", t.text],
  ["prattrs", int2v],
]);
// No extensions are installed (ExoDB has no PL/pgSQL): psql's \dx lists none.
table("pg_extension", 3079, [
  ["oid", t.oid],
  ["extname", t.name],
  ["extowner", t.oid],
  ["extnamespace", t.oid],
  ["extrelocatable", t.bool],
  ["extversion", t.text],
  ["extconfig", oidv],
  ["extcondition", textv],
]);
// No user-defined functions: psql's \df lists none (built-ins are not catalogued).
table("pg_proc", 1255, [
  ["oid", t.oid],
  ["proname", t.name],
  ["pronamespace", t.oid],
  ["proowner", t.oid],
  ["prolang", t.oid],
  ["procost", t.float4],
  ["prorows", t.float4],
  ["provariadic", t.oid],
  ["prosupport", t.regproc],
  ["prokind", c],
  ["prosecdef", t.bool],
  ["proleakproof", t.bool],
  ["proisstrict", t.bool],
  ["proretset", t.bool],
  ["provolatile", c],
  ["proparallel", c],
  ["pronargs", t.int2],
  ["pronargdefaults", t.int2],
  ["prorettype", t.oid],
  ["proargtypes", oidv],
  ["proallargtypes", oidv],
  ["proargmodes", arrayOf(c)],
  ["proargnames", textv],
  ["proargdefaults", t.text],
  ["protrftypes", oidv],
  ["prosrc", t.text],
  ["probin", t.text],
  ["prosqlbody", t.text],
  ["proconfig", textv],
  ["proacl", textv],
]);
table("pg_partitioned_table", 3350, [
  ["partrelid", t.oid],
  ["partstrat", c],
  ["partnatts", t.int2],
  ["partdefid", t.oid],
  ["partattrs", int2v],
  ["partclass", oidv],
  ["partcollation", oidv],
  ["partexprs", t.text],
]);

table("pg_settings", 12300, [
  ["name", t.text],
  ["setting", t.text],
  ["unit", t.text],
  ["category", t.text],
  ["short_desc", t.text],
  ["extra_desc", t.text],
  ["context", t.text],
  ["vartype", t.text],
  ["source", t.text],
  ["min_val", t.text],
  ["max_val", t.text],
  ["enumvals", textv],
  ["boot_val", t.text],
  ["reset_val", t.text],
  ["sourcefile", t.text],
  ["sourceline", t.int4],
  ["pending_restart", t.bool],
], (view) =>
  [...view.settings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map((
    [name, value],
  ) => ({
    name: settingDisplayNames[name] ?? name,
    setting: value,
    context: "user",
    vartype: /^(on|off)$/.test(value) ? "bool" : /^-?\d+$/.test(value) ? "integer" : "string",
    source: "session",
    sourceline: null,
  })), "v");

table("pg_tables", 12100, [
  ["schemaname", t.name],
  ["tablename", t.name],
  ["tableowner", t.name],
  ["tablespace", t.name],
  ["hasindexes", t.bool],
  ["hasrules", t.bool],
  ["hastriggers", t.bool],
  ["rowsecurity", t.bool],
], (_view, model) =>
  model.relations.filter((r) => r.kind === "r").map((r) => ({
    schemaname: namespaceName(r.namespace) ?? "",
    tablename: r.name,
    tableowner: model.roles[0]!.name,
    hasindexes: r.table !== undefined &&
      (r.table.primaryKey.length > 0 || r.table.indexes.length > 0),
  })), "v");

table("pg_indexes", 12110, [
  ["schemaname", t.name],
  ["tablename", t.name],
  ["indexname", t.name],
  ["tablespace", t.name],
  ["indexdef", t.text],
], (_view, model) =>
  model.relations.filter((r) => r.kind === "i").map((r) => ({
    schemaname: "public",
    tablename: r.table!.name,
    indexname: r.name,
    indexdef: indexDefinition(r, 0, false),
  })), "v");

table("pg_sequences", 12120, [
  ["schemaname", t.name],
  ["sequencename", t.name],
  ["sequenceowner", t.name],
  ["data_type", t.regtype],
  ["start_value", t.int8],
  ["min_value", t.int8],
  ["max_value", t.int8],
  ["increment_by", t.int8],
  ["cycle", t.bool],
  ["cache_size", t.int8],
  ["last_value", t.int8],
], (_view, model) =>
  model.relations.filter((r) => r.kind === "S").map((r) => ({
    schemaname: "public",
    sequencename: r.name,
    sequenceowner: model.roles[0]!.name,
    data_type: r.table === undefined ? 20 : columnTypeOid(r.table, r.sequenceColumn!),
    start_value: r.sequence?.start ?? 1n,
    min_value: 1n,
    max_value: 9223372036854775807n,
    increment_by: r.sequence?.increment ?? 1n,
    cache_size: 1n,
    last_value: null,
  })), "v");

// ------------------------------------------------------------------ information_schema

const sqlIdentifier = t.name;
const characterData = t.varchar;
const yesOrNo = { id: TypeId.varchar, typmod: 3 + 4 } as SqlType;
const cardinal = t.int4;

function infoTable(
  name: string,
  oid: number,
  columns: [string, SqlType][],
  rows: (view: SessionView, model: CatalogModel) => SystemRow[],
): void {
  defineSystemRelation({ schema: "information_schema", name, oid, kind: "v", columns, rows });
}

infoTable("schemata", 13300, [
  ["catalog_name", sqlIdentifier],
  ["schema_name", sqlIdentifier],
  ["schema_owner", sqlIdentifier],
  ["default_character_set_catalog", sqlIdentifier],
  ["default_character_set_schema", sqlIdentifier],
  ["default_character_set_name", sqlIdentifier],
  ["sql_path", characterData],
], (view, model) =>
  model.namespaces.map((n) => ({
    catalog_name: view.database,
    schema_name: n.name,
    schema_owner: model.roles.find((r) => r.oid === n.owner)?.name ?? "",
  })));

infoTable("tables", 13310, [
  ["table_catalog", sqlIdentifier],
  ["table_schema", sqlIdentifier],
  ["table_name", sqlIdentifier],
  ["table_type", characterData],
  ["self_referencing_column_name", sqlIdentifier],
  ["reference_generation", characterData],
  ["user_defined_type_catalog", sqlIdentifier],
  ["user_defined_type_schema", sqlIdentifier],
  ["user_defined_type_name", sqlIdentifier],
  ["is_insertable_into", yesOrNo],
  ["is_typed", yesOrNo],
  ["commit_action", characterData],
], (view, model) =>
  model.relations.filter((r) => r.kind === "r" || r.kind === "v").map((r) => ({
    table_catalog: view.database,
    table_schema: namespaceName(r.namespace) ?? "",
    table_name: r.name,
    table_type: r.kind === "v" ? "VIEW" : "BASE TABLE",
    is_insertable_into: r.systemColumns === undefined ? "YES" : "NO",
    is_typed: "NO",
  })));

/** information_schema's data_type spelling. */
function dataType(oid: number): string {
  const entry = builtinTypeEntries().find((e) => e.oid === oid);
  if (entry?.category === "A") return "ARRAY";
  if (oid === 1042) return "character";
  return formatType(oid, -1);
}

infoTable("columns", 13320, [
  ["table_catalog", sqlIdentifier],
  ["table_schema", sqlIdentifier],
  ["table_name", sqlIdentifier],
  ["column_name", sqlIdentifier],
  ["ordinal_position", cardinal],
  ["column_default", characterData],
  ["is_nullable", yesOrNo],
  ["data_type", characterData],
  ["character_maximum_length", cardinal],
  ["character_octet_length", cardinal],
  ["numeric_precision", cardinal],
  ["numeric_precision_radix", cardinal],
  ["numeric_scale", cardinal],
  ["datetime_precision", cardinal],
  ["interval_type", characterData],
  ["interval_precision", cardinal],
  ["character_set_catalog", sqlIdentifier],
  ["character_set_schema", sqlIdentifier],
  ["character_set_name", sqlIdentifier],
  ["collation_catalog", sqlIdentifier],
  ["collation_schema", sqlIdentifier],
  ["collation_name", sqlIdentifier],
  ["domain_catalog", sqlIdentifier],
  ["domain_schema", sqlIdentifier],
  ["domain_name", sqlIdentifier],
  ["udt_catalog", sqlIdentifier],
  ["udt_schema", sqlIdentifier],
  ["udt_name", sqlIdentifier],
  ["scope_catalog", sqlIdentifier],
  ["scope_schema", sqlIdentifier],
  ["scope_name", sqlIdentifier],
  ["maximum_cardinality", cardinal],
  ["dtd_identifier", sqlIdentifier],
  ["is_self_referencing", yesOrNo],
  ["is_identity", yesOrNo],
  ["identity_generation", characterData],
  ["identity_start", characterData],
  ["identity_increment", characterData],
  ["identity_maximum", characterData],
  ["identity_minimum", characterData],
  ["identity_cycle", yesOrNo],
  ["is_generated", characterData],
  ["generation_expression", characterData],
  ["is_updatable", yesOrNo],
], (view, model) => {
  const out: SystemRow[] = [];
  for (const r of model.relations) {
    if (r.kind !== "r" && r.kind !== "v") continue;
    for (const a of attributes(r)) {
      if (a.dropped) continue;
      const column = r.table?.columns[a.attnum - 1];
      const type = column?.type;
      const typmod = a.typmod;
      const numeric = (id: number) => type?.id === id;
      const entry = builtinTypeEntries().find((e) => e.oid === a.typeOid);
      out.push({
        table_catalog: view.database,
        table_schema: namespaceName(r.namespace) ?? "",
        table_name: r.name,
        column_name: a.name,
        ordinal_position: a.attnum,
        column_default: r.table === undefined ? null : defaultExpression(r.table, a.attnum - 1),
        is_nullable: a.notNull ? "NO" : "YES",
        data_type: dataType(a.typeOid),
        character_maximum_length: (numeric(TypeId.varchar) || numeric(TypeId.char)) && typmod >= 4
          ? typmod - 4
          : null,
        character_octet_length: collatable.has(a.typeOid)
          ? (typmod >= 4 ? (typmod - 4) * 4 : 1073741824)
          : null,
        numeric_precision: numeric(TypeId.smallint)
          ? 16
          : numeric(TypeId.integer)
          ? 32
          : numeric(TypeId.bigint)
          ? 64
          : numeric(TypeId.real)
          ? 24
          : numeric(TypeId.double)
          ? 53
          : numeric(TypeId.numeric) && typmod >= 4
          ? ((typmod - 4) >> 16) & 0xffff
          : null,
        numeric_precision_radix: type === undefined
          ? null
          : [TypeId.smallint, TypeId.integer, TypeId.bigint, TypeId.real, TypeId.double].includes(
              type.id as never,
            )
          ? 2
          : numeric(TypeId.numeric)
          ? 10
          : null,
        numeric_scale: numeric(TypeId.smallint) || numeric(TypeId.integer) ||
            numeric(TypeId.bigint)
          ? 0
          : numeric(TypeId.numeric) && typmod >= 4
          ? (typmod - 4) & 0xffff
          : null,
        datetime_precision: [TypeId.date, TypeId.timestamp, TypeId.timestamptz, TypeId.interval]
            .includes(type?.id as never)
          ? (numeric(TypeId.date) ? 0 : 6)
          : null,
        udt_catalog: view.database,
        udt_schema: "pg_catalog",
        udt_name: entry?.name ?? null,
        dtd_identifier: String(a.attnum),
        is_self_referencing: "NO",
        is_identity: a.identity === "" ? "NO" : "YES",
        identity_generation: a.identity === "a"
          ? "ALWAYS"
          : a.identity === "d"
          ? "BY DEFAULT"
          : null,
        identity_cycle: "NO",
        is_generated: "NEVER",
        is_updatable: r.systemColumns === undefined ? "YES" : "NO",
      });
    }
  }
  return out;
});
