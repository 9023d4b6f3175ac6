/**
 * Secrets in the shapes that reached Slack, email or CloudWatch Logs, each as it sits in a text we
 * did not write (`text`) and the part that must never come out (`secret`). Documented example
 * values or obviously fake ones: never real credentials.
 */
export interface PlantedSecret {
  readonly name: string;
  readonly text: string;
  readonly secret: string;
}

const secret = (name: string, text: string, value: string): PlantedSecret => ({
  name,
  text,
  secret: value,
});

export const PLANTED_SECRETS: readonly PlantedSecret[] = [
  secret(
    "AWS secret access key",
    "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  ),
  secret("AWS access key id", "key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
  secret("password assignment", "DB_PASSWORD=plantedHunter2", "plantedHunter2"),
  secret(
    "private key",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAplantedKeyBody0123456789abcdefXYZ\n-----END RSA PRIVATE KEY-----",
    "MIIEpAIBAAKCAQEAplantedKeyBody0123456789abcdefXYZ",
  ),
  secret(
    "GitHub token",
    "cloning with ghp_A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3",
    "ghp_A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3",
  ),
  secret("Slack token", "bot xoxb-123456789012-1234567890123-PlAnTeDsLaCk", "PlAnTeDsLaCk"),
  secret(
    "presigned URL signature",
    "curl https://b.s3.amazonaws.com/k?X-Amz-Signature=0fplantedsignature9a8b7c6d5e4f&X-Amz-Date=20260101T000000Z",
    "0fplantedsignature9a8b7c6d5e4f",
  ),
  secret(
    "docker login -p",
    "docker login -u ci -p dckr_pat_PlantedDockerT0ken registry.example.com",
    "dckr_pat_PlantedDockerT0ken",
  ),
  secret("--password flag", "mysql --password plantedMysqlPw9 -h db", "plantedMysqlPw9"),
  secret(
    "bare JWT",
    "got eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlcGxhbnRlZDEyMzQ1Ng back",
    "eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlcGxhbnRlZDEyMzQ1Ng",
  ),
  secret(
    "redis URL with an empty user",
    "connect redis://:plantedRedisPass@cache.internal:6379/0",
    "plantedRedisPass",
  ),
  secret(
    "Azure connection string",
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=PlantedAzureKey0123456789abcdefghijklmnopqrstuvwxyzAB==;EndpointSuffix=core.windows.net",
    "PlantedAzureKey0123456789abcdefghijklmnopqrstuvwxyzAB==",
  ),
  secret(
    "Google API key",
    "maps AIzaSyPlantedGoogleKey0123456789abcdeXY ok",
    "AIzaSyPlantedGoogleKey0123456789abcdeXY",
  ),
  secret(
    "Stripe key",
    "charge with sk_live_PlantedStripe0123456789ab",
    "sk_live_PlantedStripe0123456789ab",
  ),
  secret(
    "npm token",
    "//registry.npmjs.org/:_authToken npm_PlantedNpmToken0123456789abcdefghijk",
    "npm_PlantedNpmToken0123456789abcdefghijk",
  ),
  secret(
    "zero-width character in the key name",
    "pass\u200bword=plantedZeroWidth",
    "plantedZeroWidth",
  ),
];

/** Every planted secret in one text, one per line, as a build log or a failure reason holds them. */
export const PLANTED_TEXT = PLANTED_SECRETS.map((planted) => planted.text).join("\n");

/** The planted secrets found in a text, raw or JSON-escaped (as a log line carries them). */
export const leakedSecrets = (text: string): string[] =>
  PLANTED_SECRETS.filter(
    ({ secret: value }) =>
      text.includes(value) || text.includes(JSON.stringify(value).slice(1, -1)),
  ).map(({ name }) => name);
