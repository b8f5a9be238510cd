// Validates Kubernetes objects (a JSON array, from `kubectl kustomize`) against the JSON schemas of the
// npm packages kubernetes-models (the Kubernetes API) and @kubernetes-models/prometheus-operator.
// An apiVersion/kind neither package models is an error, never skipped.
//   node validate.mjs objects.json
import { readFileSync } from "node:fs";

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failures = 0;
for (const object of objects) {
  const name = `${object.kind}/${object.metadata?.name}`;
  let Model;
  try {
    Model = (await import(modulePath(object.apiVersion, object.kind)))[object.kind];
  } catch (error) {
    console.log(`${name}: no model for ${object.apiVersion} ${object.kind} (${error.message})`);
    failures++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`${name}: valid ${object.apiVersion}`);
  } catch (error) {
    console.log(`${name}: ${error.message}`);
    failures++;
  }
}
process.exit(failures === 0 && objects.length > 0 ? 0 : 1);
