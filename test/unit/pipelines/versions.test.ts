import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  componentVersionProblem,
  MAX_VERSION_NODE,
  recipeVersionProblem,
} from "../../../lib/pipelines/versions.ts";

describe("Image Builder versions", () => {
  it("takes component versions of three numbers up to 2^30-1 each", () => {
    for (const version of ["0.0.0", "1.2.3", "2021.1.1", `${MAX_VERSION_NODE}.0.0`]) {
      assert.equal(componentVersionProblem(version), undefined, version);
    }
    for (const version of [
      "1.0",
      "1.0.0.0",
      "1.0.x",
      "v1.0.0",
      "1.0.0/1",
      `1.${MAX_VERSION_NODE + 1}.0`,
    ]) {
      assert.ok(componentVersionProblem(version), version);
    }
  });

  it("takes recipe versions that end in x, with only x after the first x", () => {
    for (const version of ["1.0.x", "1.x.x", "x.x.x", `${MAX_VERSION_NODE}.0.x`]) {
      assert.equal(recipeVersionProblem(version), undefined, version);
    }
    assert.match(recipeVersionProblem("x.2.x") ?? "", /after an x every node must be x/);
    assert.match(recipeVersionProblem("1.x.8") ?? "", /after an x every node must be x/);
    assert.match(recipeVersionProblem("1.0.0") ?? "", /end it in x \(e\.g\. 1\.0\.x\)/);
    assert.match(recipeVersionProblem("1.0") ?? "", /not a recipe version/);
  });

  it("agrees with the API model's patterns on any three nodes", () => {
    const node = fc.oneof(fc.constant("x"), fc.nat({ max: MAX_VERSION_NODE }).map(String));
    fc.assert(
      fc.property(node, node, node, (a, b, c) => {
        const version = `${a}.${b}.${c}`;
        const modelComponent = /^[0-9]+\.[0-9]+\.[0-9]+$/.test(version);
        assert.equal(componentVersionProblem(version) === undefined, modelComponent);
        // The model's WildcardVersionNumber, plus: wildcards only at the end, and at least one.
        const nodes = [a, b, c];
        const first = nodes.indexOf("x");
        const ours = first >= 0 && nodes.slice(first).every((item) => item === "x");
        assert.equal(recipeVersionProblem(version) === undefined, ours, version);
      }),
    );
  });
});
