import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactDeep, redactLines, redactSecrets } from "../../../lib/alerts/redact.ts";

// Documented example credentials (AWS, GitHub and Slack docs formats): never real ones.
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GITHUB_TOKEN = `ghp_${"A1b2C3d4E5".repeat(3)}A1b2C3`;
const PRIVATE_KEY = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2d4bZxYzQ9Fj8zKsl2fG5hV7e",
  "p0Zw8tT4yv2u9Hx3Q1jk2lmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZaB",
  "-----END RSA PRIVATE KEY-----",
];

describe("redacting secrets from what leaves the account", () => {
  it("aws_secret=… in a failure reason", () => {
    assert.equal(
      redactSecrets("Step failed: aws_secret=abc123XYZ exit 1"),
      "Step failed: aws_secret=**** exit 1",
    );
  });

  it("password=hunter2", () => {
    assert.equal(
      redactSecrets("mysql -u root password=hunter2 db"),
      "mysql -u root password=**** db",
    );
    assert.equal(redactSecrets('db_password: "hunter2" ok'), 'db_password: "****" ok');
  });

  it('{"password": "…"} in JSON', () => {
    assert.equal(
      redactSecrets('{"user": "admin", "password": "hunter2", "port": 5432}'),
      '{"user": "admin", "password": "****", "port": 5432}',
    );
    assert.equal(
      redactSecrets(`{"SecretAccessKey":"${SECRET_KEY}","Expiration":"2026-01-01"}`),
      '{"SecretAccessKey":"****","Expiration":"2026-01-01"}',
    );
  });

  it("a bare 40-character AWS secret access key, but not a 40-hex commit id", () => {
    assert.equal(redactSecrets(`creds ${SECRET_KEY} loaded`), "creds **** loaded");
    assert.equal(redactSecrets(`SK=${SECRET_KEY}`), "SK=****");
    const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
    assert.equal(redactSecrets(`checked out ${commit}`), `checked out ${commit}`);
  });

  it("AKIA and ASIA access key ids", () => {
    assert.equal(redactSecrets("found AKIAIOSFODNN7EXAMPLE in env"), "found AKIA**** in env");
    assert.equal(redactSecrets("session ASIAIOSFODNN7EXAMPLE"), "session ASIA****");
    assert.equal(
      redactSecrets("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
      "export AWS_ACCESS_KEY_ID=****",
    );
  });

  it("a private key's body across lines, not just its BEGIN line", () => {
    const redacted = redactLines(["loading key", ...PRIVATE_KEY, "done"]);
    assert.deepEqual(redacted, ["loading key", "[private key redacted]", "done"]);
    assert.doesNotMatch(redacted.join("\n"), /MIIE|p0Zw8/);
  });

  it("a private key cut off by the log excerpt, at either end", () => {
    assert.equal(redactLines(PRIVATE_KEY.slice(0, 2)).join("\n"), "[private key redacted]");
    assert.deepEqual(redactLines([...PRIVATE_KEY.slice(1), "done"]), [
      "[private key redacted]",
      "done",
    ]);
    assert.equal(
      redactSecrets(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----",
      ),
      "[private key redacted]",
    );
  });

  it("GitHub tokens (ghp_… and fine-grained github_pat_…)", () => {
    assert.equal(redactSecrets(`git clone with ${GITHUB_TOKEN}`), "git clone with gh_****");
    assert.equal(
      redactSecrets(`GH=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv`),
      "GH=github_pat_****",
    );
  });

  it("Slack xoxb-/xoxp- tokens", () => {
    assert.equal(redactSecrets("bot xoxb-123456789012-1234567890123-AbCdEfGh"), "bot xox-****");
    assert.equal(redactSecrets("user xoxp-123456789012-123456789012-abc"), "user xox-****");
  });

  it("a Slack webhook URL", () => {
    assert.equal(
      redactSecrets("posting to https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX now"),
      "posting to https://hooks.slack.com/services/**** now",
    );
  });

  it("X-Amz-Signature, X-Amz-Credential and X-Amz-Security-Token in presigned URLs", () => {
    const url =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAIOSFODNN7EXAMPLE%2F20260101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2B&X-Amz-Signature=abcdef0123456789&X-Amz-SignedHeaders=host";
    assert.equal(
      redactSecrets(`curl ${url} failed`),
      "curl https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=****&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=****&X-Amz-Signature=****&X-Amz-SignedHeaders=host failed",
    );
  });

  it("Authorization headers, bearer tokens and credentials in URLs", () => {
    assert.equal(redactSecrets("Authorization: Bearer abc.def"), "Authorization: ****");
    assert.equal(redactSecrets("sent bearer abc.def"), "sent Bearer ****");
    assert.equal(
      redactSecrets("git clone https://bob:s3cr3t@git.example.com/x"),
      "git clone https://****:****@git.example.com/x",
    );
  });

  it("leaves ordinary build output alone", () => {
    for (const line of [
      "yum install -y nginx",
      "arn:aws:imagebuilder:eu-west-1:999999999999:image/web-ubuntu2404/2.0.3/12",
      "Step 'ValidateBuild' failed with exception: Component 'hardening-cis' exited with code 1",
      "ami-0123456789abcdef0 in eu-west-1",
    ]) {
      assert.equal(redactSecrets(line), line);
    }
  });

  it("redacts every string of a structured log entry", () => {
    assert.deepEqual(redactDeep({ error: { message: "password=hunter2" }, n: 1, list: ["ok"] }), {
      error: { message: "password=****" },
      n: 1,
      list: ["ok"],
    });
  });
});
