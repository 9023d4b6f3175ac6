/** Keeps the layering honest: lib never reaches into handlers, the sandbox or tests, and nothing is circular. */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    {
      name: "lib-is-independent",
      comment: "Domain code must not depend on handlers, the sandbox, scripts or tests.",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(functions|sandbox|scripts|test|bench)/" },
    },
    {
      name: "functions-do-not-use-sandbox",
      comment: "Production code has no sandbox switch.",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^(sandbox|test)/" },
    },
    {
      name: "no-agpl-in-deployed-code",
      comment:
        "@cloud-copilot/iam-simulate and iam-data are AGPL-3.0: a devDependency for the sandbox's IAM checks only, never in a Lambda bundle.",
      severity: "error",
      from: { path: "^(lib|functions)/" },
      to: { path: "(^|node_modules/)@cloud-copilot/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
