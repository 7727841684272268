// Apollo Client's own persisted-query link against a real Rapport server (docs/api.md,
// "Persisted queries"): the hash alone first, over GET; the text once, when the server does
// not know it; the hash alone again from a client that never sent the text.

import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const BASE_URL = process.env.RAPPORT_E2E_URL;
if (!BASE_URL) throw new Error("Run the e2e suites with `make e2e`: it starts the server.");

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** An Apollo Client with APQ over GET that records each request it sends. */
function persistingClient(token, sent) {
  const recordingFetch = async (url, init) => {
    const target = new URL(url);
    const body = init.body ? JSON.parse(init.body) : null;
    sent.push({
      method: init.method,
      withQuery: init.method === "GET" ? target.searchParams.has("query") : "query" in body,
    });
    return fetch(url, init);
  };
  const http = new HttpLink({
    uri: `${BASE_URL}/graphql`,
    headers: { authorization: `Bearer ${token}` },
    fetch: recordingFetch,
  });
  const apq = new PersistedQueryLink({ sha256, useGETForHashedQueries: true });
  return new ApolloClient({ link: ApolloLink.from([apq, http]), cache: new InMemoryCache() });
}

async function signUp() {
  const response = await fetch(`${BASE_URL}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `mutation($input: SignUpInput!) { signUp(input: $input) {
        ... on AuthPayload { accessToken user { id } } } }`,
      variables: {
        input: { email: `apq-${randomUUID()}@example.com`, password: "correct horse battery staple" },
      },
    }),
  });
  return (await response.json()).data.signUp;
}

test("Apollo Client's persisted-query link: not found, sent once, then the hash alone", async () => {
  const { accessToken, user } = await signUp();
  // A field alias no other run used, so the hash is new to the server.
  const alias = `me_${randomUUID().replaceAll("-", "")}`;
  const ME = gql`query PersistedMe { ${alias}: me { id } }`;

  const first = [];
  const one = persistingClient(accessToken, first);
  const { data } = await one.query({ query: ME });
  assert.equal(data[alias].id, user.id);
  assert.deepEqual(first, [
    { method: "GET", withQuery: false }, // PersistedQueryNotFound
    { method: "POST", withQuery: true }, // the retry carries the text
  ]);

  const second = [];
  const other = persistingClient(accessToken, second);
  const again = await other.query({ query: ME });
  assert.equal(again.data[alias].id, user.id);
  assert.deepEqual(second, [{ method: "GET", withQuery: false }]);
});
