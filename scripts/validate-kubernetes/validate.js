// Validates every object of a rendered manifest stream (kubectl kustomize's output, on stdin or in the file named)
// against the Kubernetes OpenAPI schemas, offline: kubernetes-models ships them compiled (ajv) for each apiVersion and
// kind. An object of a kind it has no schema for fails too, so a typo in apiVersion or kind cannot pass unchecked.
// Usage: kubectl kustomize deploy/kubernetes | node scripts/validate-kubernetes/validate.js
"use strict";
const fs = require("fs");
const YAML = require("yaml");

const text = fs.readFileSync(process.argv[2] ?? 0, "utf8");
const documents = YAML.parseAllDocuments(text);
let failures = 0;
let checked = 0;
for (const document of documents) {
  if (document.errors.length > 0) {
    console.error(`not YAML: ${document.errors.map((e) => e.message).join("; ")}`);
    failures++;
    continue;
  }

  const object = document.toJS();
  if (object === null) {
    continue;
  }

  const { apiVersion, kind } = object;
  const name = `${kind ?? "?"}/${object.metadata?.name ?? "?"}`;
  let model;
  try {
    // "v1" is the core group; "apps/v1" → kubernetes-models/apps/v1.
    model = require(`kubernetes-models/${apiVersion}`)[kind];
  } catch {
    model = undefined;
  }

  if (typeof model !== "function") {
    console.error(`${name}: no schema for apiVersion '${apiVersion}' kind '${kind}'`);
    failures++;
    continue;
  }

  try {
    new model(object).validate();
    checked++;
  } catch (error) {
    console.error(`${name}: ${error.message}`);
    failures++;
  }
}

if (checked + failures === 0) {
  console.error("no Kubernetes objects in the input");
  process.exit(1);
}

console.log(`${checked} objects valid, ${failures} invalid (Kubernetes OpenAPI schemas of kubernetes-models ${require("kubernetes-models/package.json").version})`);
process.exit(failures === 0 ? 0 : 1);
