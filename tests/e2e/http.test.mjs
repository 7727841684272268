// The GraphQL-over-HTTP conformance audit (graphql-http's serverAudits, the one the spec's
// authors publish) against the real Rapport server `make e2e` starts: every audit is a test,
// and a warning (a SHOULD not met) fails like an error (a MUST not met).

import assert from "node:assert/strict";
import { test } from "node:test";

import { serverAudits } from "graphql-http";

const BASE_URL = process.env.RAPPORT_E2E_URL;
if (!BASE_URL) throw new Error("Run the e2e suites with `make e2e`: it starts the server.");
const ENDPOINT = new URL("/graphql", BASE_URL).href;

/** The status, content type and body of an audited response, for the failure message. */
async function describe(response) {
  let body;
  try {
    body = await response.clone().text();
  } catch {
    body = "(body already read)";
  }
  const type = response.headers.get("content-type");
  return `HTTP ${response.status} (${type}): ${body.slice(0, 500)}`;
}

for (const audit of serverAudits({ url: ENDPOINT })) {
  test(`graphql-http audit ${audit.id}: ${audit.name}`, async () => {
    const result = await audit.fn();
    if (result.status !== "ok") {
      const seen = result.response ? await describe(result.response) : "(no response)";
      assert.fail(`${result.status}: ${result.reason}\n  ${seen}`);
    }
  });
}
