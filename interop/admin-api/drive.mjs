// Administers a Portcullis server through a client generated, at run time, from the OpenAPI
// document the server serves: openapi-client-axios turns each operationId into a method. The
// document is first validated (swagger-parser), and every answer is checked against the schema
// the document declares for it, so the document cannot drift from what the server does.
//
// Usage: node drive.mjs ISSUER CLIENT_ID CLIENT_SECRET   (a client marked admin_api)
// Prints one JSON line; exits non-zero on the first failure.
import SwaggerParser from "@apidevtools/swagger-parser";
import { OpenAPIClientAxios } from "openapi-client-axios";

const [base, clientId, clientSecret] = process.argv.slice(2);
const fail = (why) => {
  console.log(JSON.stringify({ ok: false, error: why }));
  process.exit(1);
};

const doc = await (await fetch(`${base}/admin/api/openapi.json`)).json();
if (!String(doc.openapi).startsWith("3.1")) fail(`not OpenAPI 3.1: ${doc.openapi}`);
try {
  await SwaggerParser.validate(structuredClone(doc));
} catch (e) {
  fail(`the served document is not valid OpenAPI: ${e.message}`);
}

// The declared schema of an answer, with $refs followed, checked field by field.
const resolve = (s) => (s && s.$ref ? resolve(doc.components.schemas[s.$ref.split("/").pop()]) : s);
function check(schema, value, where) {
  schema = resolve(schema);
  if (!schema) return;
  if (schema.oneOf || schema.anyOf) {
    const options = schema.oneOf || schema.anyOf;
    const errors = [];
    for (const o of options) {
      try {
        check(o, value, where);
        return;
      } catch (e) {
        errors.push(e.message);
      }
    }
    throw new Error(`${where}: matches none of ${errors.join(" | ")}`);
  }
  const types = [].concat(schema.type || []);
  const actual = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length && !types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
    throw new Error(`${where}: ${actual}, the document says ${types.join("|")}`);
  }
  if (actual === "object") {
    for (const r of schema.required || []) {
      if (!(r in value)) throw new Error(`${where}: missing required ${r}`);
    }
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties && schema.properties[k]) check(schema.properties[k], v, `${where}.${k}`);
    }
  }
  if (actual === "array" && schema.items) value.forEach((v, i) => check(schema.items, v, `${where}[${i}]`));
  if (schema.enum && !schema.enum.includes(value)) throw new Error(`${where}: ${value} not in ${schema.enum}`);
}

const tokenRes = await fetch(`${base}/token`, {
  method: "POST",
  headers: {
    authorization: "Basic " + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64"),
    "content-type": "application/x-www-form-urlencoded",
  },
  body: new URLSearchParams({ grant_type: "client_credentials", scope: "portcullis:admin" }),
});
if (!tokenRes.ok) fail(`token: ${tokenRes.status} ${await tokenRes.text()}`);
const { access_token } = await tokenRes.json();

const api = new OpenAPIClientAxios({
  definition: doc,
  axiosConfigDefaults: { baseURL: base, headers: { Authorization: `Bearer ${access_token}` }, validateStatus: () => true },
});
const client = await api.init();

// Every documented operation became a method.
const operationIds = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
for (const id of operationIds) if (typeof client[id] !== "function") fail(`no method for ${id}`);

let calls = 0;
async function call(operationId, params, body, wantStatus) {
  const res = await client[operationId](params, body);
  calls++;
  if (res.status !== wantStatus) fail(`${operationId}: ${res.status} ${JSON.stringify(res.data)} (wanted ${wantStatus})`);
  const op = api.getOperation(operationId);
  const declared = op.responses[String(res.status)];
  if (!declared) fail(`${operationId}: status ${res.status} is not in the document`);
  const schema = declared.content && declared.content["application/json"] && declared.content["application/json"].schema;
  try {
    if (schema) check(schema, res.data, operationId);
  } catch (e) {
    fail(`answer does not match the document: ${e.message}`);
  }
  return res.data;
}

const page = await call("listUsers", { q: "bob" }, undefined, 200);
if (page.items.length !== 1) fail(`listUsers q=bob: ${page.items.length} users`);
const bob = page.items[0];
const disabled = await call("disableUser", { id: bob.id }, { reason: "generated client" }, 200);
if (!disabled.disabled_at) fail("disableUser: not disabled");
const again = await call("getUser", { id: bob.id }, undefined, 200);
if (again.sessions.length !== 0) fail("disableUser: sessions left");
await call("getUser", { id: "usr_00000000000000000000000000000000" }, undefined, 404);
const created = await call("createClient", null, { name: "From the generated client", redirect_uris: ["https://gen.example/cb"] }, 201);
if (!created.client_secret) fail("createClient: no secret");
await call("getClient", { id: created.client_id }, undefined, 200);
await call("updateClient", { id: created.client_id }, { name: "Renamed", redirect_uris: ["https://gen.example/cb"] }, 200);
await call("rotateClientSecret", { id: created.client_id }, undefined, 200);
await call("listClients", null, undefined, 200);
const events = await call("listAuditEvents", { kind: "user.disabled", user: bob.id }, undefined, 200);
if (events.items.length !== 1 || events.items[0].actor !== `client:${clientId}`) fail(`audit: ${JSON.stringify(events.items)}`);
await call("listKeys", null, undefined, 200);
await call("rotateKeys", null, { immediately: false }, 200);
await call("listProviders", null, undefined, 200);
const queued = await call("sendTestMail", null, { to: "ops@example.com" }, 202);
if (!queued.id) fail("sendTestMail: no id");
await call("listMail", null, undefined, 200);
// Every failed message (none here): deterministic, unlike one message the worker may be sending.
await call("retryMail", null, {}, 200);
await call("deleteClient", { id: created.client_id }, undefined, 204);

console.log(JSON.stringify({ ok: true, operations: operationIds.length, calls }));
