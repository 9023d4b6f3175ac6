// Bridges serverless.yml to the TypeScript config code: `${file(./serverless/derived.cjs):<key>}`.
// The config is validated here too, so `serverless package` fails on a bad config before
// anything is built or deployed.
const fs = require("node:fs");
const path = require("node:path");
const { require: tsxRequire } = require("tsx/cjs/api");

const { loadConfig, configPath, formatProblem } = tsxRequire("../lib/config/load.ts", __filename);
const { deriveSettings } = tsxRequire("../lib/deployment/index.ts", __filename);

module.exports = async ({ resolveVariable }) => {
  const file = configPath();
  let config;
  try {
    config = loadConfig(file);
  } catch (error) {
    const problems = error.problems
      ? error.problems.map(formatProblem).join("\n  ")
      : error.message;
    throw new Error(`${path.relative(process.cwd(), file)} is invalid:\n  ${problems}`);
  }
  // What the functions read: the validated config, defaults applied, as JSON.
  const runtimeConfigFile = ".packaged/orchestrator.json";
  fs.mkdirSync(path.dirname(runtimeConfigFile), { recursive: true });
  fs.writeFileSync(runtimeConfigFile, `${JSON.stringify(config, null, 2)}\n`);
  const settings = deriveSettings(config, {
    service: await resolveVariable("self:service"),
    stage: await resolveVariable("sls:stage"),
    schedulerRoleArn: { "Fn::GetAtt": ["SchedulerInvokeRole", "Arn"] },
    alertsTopic: { Ref: "AlertsTopic" },
  });
  return { ...settings, runtimeConfigFile };
};
