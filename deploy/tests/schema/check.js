#!/usr/bin/env node
// deploy/tests/schema/check.js - offline validators for deploy/ (run by the
// deploy/tests/*.sh scripts after `npm ci` of this directory's lockfile).
//
//   node check.js k8s FILE...     every YAML document of the files (rendered
//                                 by kubectl kustomize) against the Kubernetes
//                                 OpenAPI schema (kubernetes-models)
//   node check.js k8s-self-test   a broken CronJob must be rejected
//   node check.js promql FILE     every `expr` of a Prometheus rules file
//                                 parses (the Prometheus UI's PromQL grammar)
//
// Besides what the compiled validators check (types, enums, formats,
// required fields), k8s mode reports fields the schema does not name.
// Exit 0 when everything is valid, 1 with one line per problem otherwise.
'use strict';
const fs = require('fs');
const YAML = require('yaml');

function readDocs(file) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    const out = [];
    for (const d of docs) {
        if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
        const js = d.toJS();
        if (js !== null && js !== undefined) out.push(js);
    }
    return out;
}

function modelFor(apiVersion, kind) {
    // kubernetes-models/<group>/<version>; the core group is kubernetes-models/v1
    const mod = `kubernetes-models/${apiVersion}`;
    let m;
    try {
        m = require(mod);
    } catch (e) {
        return null;
    }
    return m[kind] || null;
}

// Unknown fields.  The compiled validators accept fields the schema does
// not name (as the API server does without strict field validation), so a
// misspelt key would pass: walk the object along the type declarations
// (.d.ts) that kubernetes-models generates from the same OpenAPI schema,
// and report every key no declaration names.
const path = require('path');
const NODE_MODULES = path.join(__dirname, 'node_modules');
const dtsCache = new Map();

function parseDts(file) {
    if (dtsCache.has(file)) return dtsCache.get(file);
    let info = null;
    if (fs.existsSync(file)) {
        const text = fs.readFileSync(file, 'utf8');
        const imports = {};
        for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
            for (const name of m[1].split(',').map((x) => x.trim())) {
                const spec = m[2];
                imports[name] = spec.startsWith('.') ? path.resolve(path.dirname(file), spec + '.d.ts')
                    : path.join(NODE_MODULES, spec + '.d.ts');
            }
        }
        const im = /^export interface (\w+)[^{]*\{\n([\s\S]*?)^\}/m.exec(text);
        if (im) {
            const props = {};
            for (const m of im[2].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
                let t = m[2].replace(/;$/, '').trim(), kind = 'leaf', ref = null;
                let a;
                if (t.endsWith('{')) kind = 'map';
                else if ((a = /^Array<(\w+)>$/.exec(t)) && imports[a[1]]) { kind = 'array'; ref = imports[a[1]]; }
                else if (imports[t]) { kind = 'object'; ref = imports[t]; }
                props[m[1]] = { kind, ref };
            }
            info = { props };
        }
    }
    dtsCache.set(file, info);
    return info;
}

function unknownFields(value, file, where, out) {
    const info = parseDts(file);
    if (!info || value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
        const p = info.props[k];
        if (!p) {
            out.push(`${where}.${k}: unknown field (${path.basename(file, '.d.ts')} has no such field)`);
            continue;
        }
        if (p.kind === 'object') unknownFields(v, p.ref, `${where}.${k}`, out);
        else if (p.kind === 'array' && Array.isArray(v)) {
            v.forEach((x, i) => unknownFields(x, p.ref, `${where}.${k}[${i}]`, out));
        }
    }
}

function validateObject(obj) {
    if (!obj.apiVersion || !obj.kind) return 'no apiVersion or kind';
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) return `no schema for ${obj.apiVersion} ${obj.kind}`;
    try {
        new Model(obj).validate();
    } catch (e) {
        return e.message;
    }
    const root = path.join(NODE_MODULES, 'kubernetes-models', obj.apiVersion, obj.kind + '.d.ts');
    if (!parseDts(root)) return `no type declarations for ${obj.apiVersion} ${obj.kind} (${root})`;
    const unknown = [];
    unknownFields(obj, root, obj.kind, unknown);
    return unknown.length ? unknown.join('; ') : null;
}

function k8s(files) {
    let bad = 0, n = 0;
    for (const f of files) {
        for (const obj of readDocs(f)) {
            n++;
            const name = `${obj.kind || '?'}/${(obj.metadata && obj.metadata.name) || '?'}`;
            const err = validateObject(obj);
            if (err) {
                console.log(`${f}: ${name}: ${err}`);
                bad++;
            }
        }
    }
    if (n === 0) {
        console.log('no objects to validate');
        return 1;
    }
    console.log(`${n} objects checked, ${bad} invalid`);
    return bad ? 1 : 0;
}

// The validator must not be a no-op: mistakes it has to catch.
function k8sSelfTest() {
    const good = {
        apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 't' },
        spec: {
            schedule: '0 1 * * *', concurrencyPolicy: 'Forbid',
            jobTemplate: { spec: {
                backoffLimit: 1,
                podFailurePolicy: { rules: [{ action: 'FailJob',
                    onExitCodes: { operator: 'In', values: [3] } }] },
                template: { spec: { restartPolicy: 'Never',
                    containers: [{ name: 'envsync', image: 'envsync' }] } } } },
        },
    };
    const cases = [
        ['valid CronJob', (o) => o, true],
        ['concurrencyPolicy not an enum value', (o) => { o.spec.concurrencyPolicy = 'Never'; return o; }, false],
        ['podFailurePolicy action not an enum value', (o) => { o.spec.jobTemplate.spec.podFailurePolicy.rules[0].action = 'Retry'; return o; }, false],
        ['exit code values as strings', (o) => { o.spec.jobTemplate.spec.podFailurePolicy.rules[0].onExitCodes.values = ['3']; return o; }, false],
        ['container without image name', (o) => { delete o.spec.jobTemplate.spec.template.spec.containers[0].name; return o; }, false],
        ['backoffLimit a string', (o) => { o.spec.jobTemplate.spec.backoffLimit = 'one'; return o; }, false],
        ['missing schedule', (o) => { delete o.spec.schedule; return o; }, false],
        ['misspelt field in the Job spec', (o) => { o.spec.jobTemplate.spec.activeDeadlineSecond = 60; return o; }, false],
        ['unknown container field', (o) => { o.spec.jobTemplate.spec.template.spec.containers[0].arg = ['x']; return o; }, false],
        ['unknown metadata field', (o) => { o.metadata.label = { a: 'b' }; return o; }, false],
        ['labels are free-form', (o) => { o.metadata.labels = { 'envsync.io/job': 'x' }; return o; }, true],
    ];
    let bad = 0;
    for (const [what, mutate, ok] of cases) {
        const err = validateObject(mutate(JSON.parse(JSON.stringify(good))));
        if ((err === null) !== ok) {
            console.log(`self-test: ${what}: ${ok ? 'rejected: ' + err : 'accepted'}`);
            bad++;
        }
    }
    console.log(`${cases.length} self-test cases, ${bad} wrong`);
    return bad ? 1 : 0;
}

function promql(file) {
    const { parser } = require('@prometheus-io/lezer-promql');
    const doc = readDocs(file)[0];
    let bad = 0, n = 0;
    for (const g of (doc && doc.groups) || []) {
        for (const r of g.rules || []) {
            n++;
            const expr = String(r.expr || '');
            const tree = parser.parse(expr);
            let where = -1;
            tree.iterate({ enter: (node) => {
                if (where < 0 && node.type.isError) where = node.from;
            } });
            if (!expr.trim() || where >= 0) {
                console.log(`${file}: group ${g.name}: ${r.alert || r.record}: PromQL syntax error at ` +
                            `offset ${where}: ${expr.slice(Math.max(0, where - 20), where + 20)}`);
                bad++;
            }
        }
    }
    // and the parser must reject nonsense
    const probe = parser.parse('sum(rate(x[5m]) by');
    let rejects = false;
    probe.iterate({ enter: (node) => { if (node.type.isError) rejects = true; } });
    if (!rejects) {
        console.log('self-test: the PromQL parser accepted a broken expression');
        bad++;
    }
    if (n === 0) {
        console.log(`${file}: no rules`);
        return 1;
    }
    console.log(`${n} rule expressions parsed, ${bad} bad`);
    return bad ? 1 : 0;
}

const [mode, ...args] = process.argv.slice(2);
let rc;
if (mode === 'k8s') rc = k8s(args);
else if (mode === 'k8s-self-test') rc = k8sSelfTest();
else if (mode === 'promql') rc = promql(args[0]);
else {
    console.error('usage: check.js k8s FILE... | k8s-self-test | promql FILE');
    rc = 2;
}
process.exit(rc);
