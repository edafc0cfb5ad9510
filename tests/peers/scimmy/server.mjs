// Second, independent SCIM 2.0 peer for scimsync's tests: SCIMMY (protocol and schema engine)
// and scimmy-routers (Express routes) over a tiny in-memory store. Loopback only.
//   SCIM_PEER_TOKEN=... node server.mjs PORT URLFILE     (PORT 0 picks a free port)
// The token comes from the environment (never argv); without it any request is accepted.
// Every request is logged to stdout as `"METHOD PATH HTTP/1.1" STATUS`, the format the test
// harness counts writes with.
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";
import {writeFileSync} from "node:fs";

const port = Number(process.argv[2] ?? 0);
const urlFile = process.argv[3];
const token = process.env.SCIM_PEER_TOKEN || null;
const HOST = "127.0.0.1";
const {Attribute, SchemaDefinition, Error: ScimError} = SCIMMY.Types;

SCIMMY.Config.set({patch: true, filter: 1000, sort: true, bulk: false, etag: false, changePassword: false});

// SCIMMY 1.3.5 refuses schema ids outside "urn:ietf:params:scim:schemas:"; build the Base44
// extension with a compliant id, then give it its real id (POST/GET/PUT/PATCH round-trip).
const base44 = new SchemaDefinition("Base44User", "urn:ietf:params:scim:schemas:extension:base44:2.0:User",
    "Base44 workspace member", [
        new Attribute("string", "role", {canonicalValues: ["admin", "editor", "viewer"]}),
        new Attribute("integer", "creditLimit"),
    ]);
base44.id = "urn:base44:params:scim:schemas:extension:user:2.0";
SCIMMY.Resources.User.extend(base44, false);
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);

function store(kind, uniqueAttr) {
    const items = new Map();          // id -> resource
    const byKey = new Map();          // lower-cased unique attribute -> id
    const now = () => new Date().toISOString();
    const keyOf = (v) => String(v?.[uniqueAttr] ?? "").toLowerCase();
    return {
        ingress: (resource, instance) => {
            const key = keyOf(instance), owner = byKey.get(key);
            if (owner !== undefined && owner !== resource.id)
                throw new ScimError(409, "uniqueness", `${uniqueAttr} already in use`);
            let v;
            if (resource.id) {
                const old = items.get(resource.id);
                if (!old) throw new ScimError(404, null, `${kind} ${resource.id} not found`);
                byKey.delete(keyOf(old));
                v = {...instance, id: resource.id, meta: {...old.meta, lastModified: now()}};
            } else {
                const t = now();
                v = {...instance, id: randomUUID(), meta: {created: t, lastModified: t}};
            }
            items.set(v.id, v);
            byKey.set(key, v.id);
            return v;
        },
        egress: (resource) => {
            if (resource.id) {
                const v = items.get(resource.id);
                if (!v) throw new ScimError(404, null, `${kind} ${resource.id} not found`);
                return v;
            }
            const all = [...items.values()];
            return resource.filter ? resource.filter.match(all) : all;
        },
        degress: (resource) => {
            const old = items.get(resource.id);
            if (!old) throw new ScimError(404, null, `${kind} ${resource.id} not found`);
            items.delete(resource.id);
            byKey.delete(keyOf(old));
        },
    };
}

const users = store("User", "userName"), groups = store("Group", "displayName");
SCIMMY.Resources.declare(SCIMMY.Resources.User).ingress(users.ingress).egress(users.egress).degress(users.degress);
SCIMMY.Resources.declare(SCIMMY.Resources.Group).ingress(groups.ingress).egress(groups.egress).degress(groups.degress);

const app = express();
app.use((req, res, next) => {
    res.on("finish", () => console.log(`"${req.method} ${req.originalUrl} HTTP/1.1" ${res.statusCode}`));
    next();
});
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
    handler: (req) => {
        if (token && req.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failure");
        return "client";
    },
    baseUri: () => null,
}));
const server = app.listen(port, HOST, () => {
    const url = `http://${HOST}:${server.address().port}/scim/v2`;
    if (urlFile) writeFileSync(urlFile, url + "\n");
    console.log(`Serving SCIM on ${url}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
